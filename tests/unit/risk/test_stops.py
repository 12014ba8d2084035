"""The portfolio's stops trip exactly when their bounds are reached, pause entries
(reducing) rather than kill, and lift as documented."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.risk.config import RiskConfig
from actors.risk.stops import (
    DAILY_LOSS,
    DAY_S,
    DRAWDOWN,
    StopsState,
    evaluate_stops,
    marks_of,
    moved,
    operator_resumed,
    rebased,
)
from protocols.model import RiskMode

DAY0 = 20_000 * DAY_S


@given(
    st.lists(st.floats(-500.0, 500.0), min_size=1, max_size=40),
    st.floats(1.0, 300.0),
    st.floats(1.0, 300.0),
)
def test_a_stop_trips_exactly_when_its_bound_is_reached(pnls, daily, drawdown):
    config = RiskConfig(daily_loss_limit_usdt=daily, max_drawdown_usdt=drawdown)
    state = StopsState()
    high = -float("inf")
    start = None
    for n, pnl in enumerate(pnls):
        now = DAY0 + n  # one UTC day
        before = state
        state, change = evaluate_stops(state, now, pnl, config)
        high = max(high, pnl)
        start = pnl if start is None else start
        if before.tripped is not None:
            assert change is None and state.tripped == before.tripped
            continue
        if high - pnl >= drawdown:
            assert state.tripped == DRAWDOWN
            assert change is not None and change.mode is RiskMode.REDUCING
        elif start - pnl >= daily:
            assert state.tripped == DAILY_LOSS
            assert change is not None and change.mode is RiskMode.REDUCING
        else:
            assert state.tripped is None and change is None
        assert state.high_water_usdt == high


def test_the_daily_stop_lifts_at_the_next_utc_day_and_the_drawdown_one_only_by_the_operator():
    config = RiskConfig(daily_loss_limit_usdt=50.0, max_drawdown_usdt=80.0)
    state, _ = evaluate_stops(StopsState(), DAY0, 0.0, config)
    state, change = evaluate_stops(state, DAY0 + 10.0, -50.0, config)
    assert state.tripped == DAILY_LOSS and change.mode is RiskMode.REDUCING
    state, change = evaluate_stops(state, DAY0 + DAY_S, -50.0, config)
    assert state.tripped is None and change.mode is RiskMode.ACTIVE
    state, change = evaluate_stops(state, DAY0 + DAY_S + 1.0, -80.0, config)
    assert state.tripped == DRAWDOWN and change.mode is RiskMode.REDUCING
    state, change = evaluate_stops(state, DAY0 + 2 * DAY_S, -80.0, config)
    assert state.tripped == DRAWDOWN and change is None  # a new day does not lift it
    state = operator_resumed(state, -80.0)
    state, change = evaluate_stops(state, DAY0 + 2 * DAY_S + 1.0, -100.0, config)
    assert state.tripped is None and change is None  # 20 lost since the operator resumed


def test_stops_set_to_none_never_trip():
    config = RiskConfig(daily_loss_limit_usdt=None, max_drawdown_usdt=None)
    state, _ = evaluate_stops(StopsState(), DAY0, 1000.0, config)
    state, change = evaluate_stops(state, DAY0 + 1.0, -10_000.0, config)
    assert state.tripped is None and change is None


@given(
    st.floats(-1000.0, 1000.0),
    st.floats(-1000.0, 1000.0),
    st.floats(-1000.0, 1000.0),
)
def test_marks_stored_and_rebased_on_another_pnl_keep_the_days_loss_and_the_drawdown(
    first, second, this_run
):
    """A restart's P&L sums other figures: rebased, the stops judge the loss since the
    day began and since the high-water mark exactly as if the run had gone on."""
    config = RiskConfig(daily_loss_limit_usdt=None, max_drawdown_usdt=None)
    state, _ = evaluate_stops(StopsState(), DAY0, first, config)
    state, _ = evaluate_stops(state, DAY0 + 1.0, second, config)
    marks = marks_of(state, second)
    restored = rebased(marks, this_run)
    assert restored.day == state.day and restored.tripped == state.tripped
    assert restored.day_start_pnl_usdt - this_run == pytest.approx(
        state.day_start_pnl_usdt - second, abs=1e-6
    )
    assert restored.high_water_usdt - this_run == pytest.approx(
        state.high_water_usdt - second, abs=1e-6
    )
    assert not moved(marks, marks_of(restored, this_run))
