"""The funding-aware decisions (docs/strategy.md, "Funding-aware entry", "Exits around
settlements", "Funding carry"): entries weighed on their terms, exits timed around the
settlements, and the carry task's entries and exits."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import (
    FUNDING_CARRY,
    ArbitrageContext,
    ArbitrageParams,
    ArbitrageState,
    CarryParams,
    FundingHistory,
    LegRules,
    new_context,
)
from actors.arbitrage.funding_forecast import fold
from actors.arbitrage.machine import (
    BASIS_STOP,
    FUNDING_TURNED,
    HORIZON,
    NOT_COVERED,
    pnl_if_closed,
)
from protocols.messages import (
    FundingPayment,
    FundingRateUpdate,
    ReduceExposure,
    RiskModeChange,
    TradeClosed,
)
from protocols.model import RiskMode, VenueRules
from tests.unit.arbitrage.harness import BTC, ENTRY, FLAT, PROFIT, Driver, placed

S = ArbitrageState
H = 3600.0
EIGHT_H = 8 * H
RULES = LegRules(
    VenueRules(qty_step=0.0001, min_notional=5.0),
    VenueRules(contract_size=0.0001, min_contracts=1),
)
PREMIUM = (50_040.0, 50_050.0, 50_250.0, 50_260.0)  # the perpetual 0.4 % above spot


def carry_driver(**carry) -> Driver:
    params = ArbitrageParams(carry=CarryParams(**carry))
    ctx = new_context(
        "c1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        params=params,
        rules=RULES,
        task_type=FUNDING_CARRY,
    )
    return Driver(ctx)


def rate(driver: Driver, now: float, value: float, next_ts: float, interval=EIGHT_H) -> None:
    driver.send(FundingRateUpdate(now, value, interval, next_ts))


def exit_reason(commands: list) -> str | None:
    closed = [c.trade for c in commands if isinstance(c, TradeClosed)]
    return closed[-1].exit_reason if closed else None


def close(driver: Driver, now: float, prices=FLAT) -> str | None:
    """Quotes at ``now``; an exit they start filled at once. Returns the cycle's exit
    reason (``None`` when nothing was placed)."""
    commands = driver.quotes(now, prices)
    if not placed(commands):
        return None
    return exit_reason(driver.fill_all(commands, now=now))


# ----------------------------------------------------------- funding-aware entry


def test_a_premium_that_covers_fees_and_spreads_is_entered_with_its_terms():
    driver = Driver(funding_aware_entry=True)
    assert placed(driver.quotes(1.0, PREMIUM))
    terms = driver.ctx.current_opportunity.terms
    assert terms.cost == pytest.approx((50_050 - 50_250) / 50_050 * 100)
    assert terms.fees == pytest.approx(0.2)
    assert terms.convergence == pytest.approx(-(10 + 10) / 2 / 50_050 * 100)
    assert terms.funding == 0.0 and terms.slippage == 0.0
    assert terms.net == pytest.approx(terms.convergence - terms.cost - terms.fees)
    assert terms.passes and terms.hold_h == 6.0


def test_an_entry_its_terms_do_not_cover_is_skipped_once_without_a_new_context_per_quote():
    driver = Driver(funding_aware_entry=True)
    assert driver.quotes(1.0, ENTRY) == []
    assert driver.ctx.last_skip_reason.startswith(NOT_COVERED + ":")
    before = driver.ctx
    assert driver.quotes(2.0, (49_991.0, 50_000.0, 49_752.0, 49_760.0)) == []
    assert driver.ctx is before  # nothing to store on every quote


def test_the_funding_expected_over_the_planned_hold_can_pay_for_an_entry():
    driver = Driver(funding_aware_entry=True, planned_hold_h=48.0)
    rate(driver, 0.5, 0.002, 3600.0)
    assert placed(driver.quotes(1.0, ENTRY))
    terms = driver.ctx.current_opportunity.terms
    assert terms.settlements == 6  # at 1 h, 9 h, ..., 41 h
    assert terms.funding == pytest.approx(6 * 0.002 * 49_750 / 50_000 * 100)
    assert terms.hold_h == 48.0


@given(
    value=st.floats(-0.003, 0.003),
    hold=st.sampled_from([1.0, 6.0, 24.0, 72.0]),
    margin=st.sampled_from([0.0, 0.1]),
    interval=st.sampled_from([H, 4 * H, EIGHT_H]),
)
@settings(max_examples=150, deadline=None)
def test_an_entry_passes_exactly_when_convergence_and_funding_cover_its_terms(
    value, hold, margin, interval
):
    driver = Driver(funding_aware_entry=True, planned_hold_h=hold, entry_margin_pct=margin)
    rate(driver, 0.5, value, 600.0, interval)
    entered = bool(placed(driver.quotes(1.0, ENTRY)))
    count = int((1.0 + hold * H - 600.0) // interval) + 1
    funding = count * value * 49_750 / 50_000 * 100
    net = -(10 + 10) / 2 / 50_000 * 100 + funding - 0.5 - 0.2
    assert entered == (net >= margin)


def test_require_non_negative_funding_still_refuses_a_negative_rate_first():
    driver = Driver(funding_aware_entry=True, require_non_negative_funding=True)
    rate(driver, 0.5, -0.0001, 3600.0)
    assert driver.quotes(1.0, PREMIUM) == []
    assert "would make the short leg pay" in driver.ctx.last_skip_reason


def test_without_the_option_entries_weigh_nothing():
    driver = Driver()
    assert placed(driver.quotes(1.0, ENTRY))
    assert driver.ctx.current_opportunity.terms is None


# ------------------------------------------------------ exits around settlements

WINDOW = 900.0
GRACE = 60.0
OPENED = 1.0
DUE = OPENED + 6 * H


def timed_driver(value: float, settles: float, **params) -> Driver:
    driver = Driver(max_hours=6.0, settlement_window_s=WINDOW, settlement_grace_s=GRACE, **params)
    rate(driver, 0.5, value, settles)
    driver.fill_all(driver.quotes(OPENED, ENTRY), now=OPENED)
    assert driver.ctx.state is S.POSITION_OPEN
    return driver


def first_exit(driver: Driver, start: float, stop: float, step: float = 10.0) -> float | None:
    t = start
    while t <= stop:
        if placed(driver.quotes(t, FLAT)):
            return t
        t += step
    return None


@given(offset=st.integers(-1500, 1500).map(float), value=st.sampled_from([0.0001, -0.0001]))
@settings(max_examples=200, deadline=None)
def test_a_timeout_waits_for_a_settlement_it_receives_and_goes_before_one_it_pays(offset, value):
    settles = DUE + offset
    driver = timed_driver(value, settles)
    start = DUE - 2000.0
    exited = first_exit(driver, start, settles + 3 * GRACE + 2000.0)
    assert exited is not None
    if value > 0.0:
        assert exited >= DUE  # never earlier than the timeout
        assert exited < settles + GRACE + 10.0 or exited < DUE + 10.0  # bounded
        if DUE < settles <= DUE + WINDOW:
            assert exited >= settles + GRACE  # held through it (no payment reported)
        else:
            assert exited < DUE + 10.0
    else:
        if settles <= DUE < settles + WINDOW and settles > start:
            assert exited < settles  # before the settlement it would pay
            assert exited >= settles - WINDOW
        else:
            assert DUE <= exited < DUE + 10.0


def test_a_waiting_exit_goes_once_the_settlement_it_waited_for_is_applied():
    settles = DUE + 300.0
    driver = timed_driver(0.0001, settles)
    assert first_exit(driver, DUE, settles - 10.0) is None
    assert driver.ctx.settlement_wait == settles
    driver.send(FundingPayment(settles, 5.0, "L1"))
    assert placed(driver.quotes(settles + 1.0, FLAT))
    assert driver.ctx.exit_reason == "timeout"


def test_a_profit_exit_waits_for_a_settlement_it_receives():
    driver = timed_driver(0.0001, OPENED + 3600.0)
    assert driver.quotes(OPENED + 3600.0 - 600.0, PROFIT) == []
    assert driver.quotes(OPENED + 3600.0 + GRACE - 1.0, PROFIT) == []
    reason = close(driver, OPENED + 3600.0 + GRACE, PROFIT)
    assert reason == "profit"


def test_a_waiting_profit_exit_goes_once_the_wait_has_cost_more_than_the_settlement_pays():
    # 1 BTC short at 0.01 %: the settlement would pay about 4.98 USDT.
    settles = OPENED + 3600.0
    driver = timed_driver(0.0001, settles)
    assert driver.quotes(settles - 600.0, PROFIT) == []
    ctx = driver.ctx
    expected = pnl_if_closed(ctx, 50_500.0, 49_810.0) - 0.0001 * 49_810.0
    assert ctx.settlement_wait_floor_usdt == pytest.approx(expected)
    # 2 USDT given back: less than the settlement pays, so it waits on.
    assert driver.quotes(settles - 500.0, (50_498.0, 50_510.0, 49_800.0, 49_810.0)) == []
    # 10 USDT given back, still a profit above min_profit_pct: it waits no longer.
    reason = close(driver, settles - 400.0, (50_490.0, 50_510.0, 49_800.0, 49_810.0))
    assert reason == "profit"


def test_a_waiting_profit_exit_stays_decided_when_the_profit_is_gone():
    settles = OPENED + 3600.0
    driver = timed_driver(0.0001, settles)
    assert driver.quotes(settles - 600.0, PROFIT) == []
    assert close(driver, settles - 590.0, FLAT) == "profit"  # not held on to the timeout


def test_a_timeout_that_waits_keeps_no_floor():
    driver = timed_driver(0.0001, DUE + 300.0)
    assert driver.quotes(DUE, PROFIT) == []  # a profit and the timeout: the timeout waits
    assert driver.ctx.settlement_wait == DUE + 300.0
    assert driver.ctx.settlement_wait_floor_usdt is None
    assert driver.quotes(DUE + 10.0, FLAT) == []


@pytest.mark.parametrize(
    "demand",
    [
        RiskModeChange(DUE - 1.0, RiskMode.REDUCING, "drawdown"),
        ReduceExposure(DUE - 1.0, 0.5, "the operator"),
    ],
)
def test_an_exit_something_else_demands_never_waits(demand):
    driver = timed_driver(0.0001, DUE + 300.0)
    driver.send(demand)
    assert first_exit(driver, DUE - 0.5, DUE + 10.0) is not None


def test_a_stop_never_waits():
    driver = timed_driver(0.0001, DUE + 300.0, cycle_stop_loss_pct=0.1)
    assert first_exit(driver, DUE, DUE) == DUE


def test_off_by_default_a_timeout_goes_whatever_the_settlements():
    driver = Driver(max_hours=6.0)
    rate(driver, 0.5, 0.01, DUE + 60.0)
    driver.fill_all(driver.quotes(OPENED, ENTRY), now=OPENED)
    assert first_exit(driver, DUE - 10.0, DUE + 10.0) == DUE - 10.0 + 10.0


# ------------------------------------------------------------------ funding carry


def test_a_carry_enters_when_the_funding_over_its_horizon_beats_cost_fees_and_margin():
    driver = carry_driver()
    rate(driver, 0.5, 0.0, 3600.0)
    assert driver.quotes(1.0, ENTRY) == []
    assert driver.ctx.last_skip_reason.startswith(NOT_COVERED)
    rate(driver, 2.0, 0.001, 3600.0)
    assert placed(driver.quotes(3.0, ENTRY))
    terms = driver.ctx.current_opportunity.terms
    assert terms.hold_h == 168.0 and terms.margin == 0.05
    assert terms.settlements == 21


def open_carry(driver: Driver, value: float = 0.01) -> None:
    rate(driver, 0.5, value, 3600.0)
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    assert driver.ctx.state is S.POSITION_OPEN


def test_a_carry_holds_through_settlements_and_a_profit_and_exits_at_its_horizon():
    driver = carry_driver(horizon_h=24.0, exit_window_s=0.0)
    open_carry(driver)
    for n in range(3):
        settles = 3600.0 + n * EIGHT_H
        driver.send(FundingPayment(settles, 10.0, f"L{n}"))
        rate(driver, settles + 1.0, 0.001, settles + EIGHT_H)
        assert driver.quotes(settles + 2.0, PROFIT) == []
    assert driver.ctx.cycle.funding_usdt == pytest.approx(30.0)
    assert driver.quotes(1.0 + 24 * H - 1.0, PROFIT) == []
    reason = close(driver, 1.0 + 24 * H, PROFIT)
    assert reason == HORIZON
    assert driver.ctx.last_trade.funding_usdt == pytest.approx(30.0)


def test_a_carry_exits_once_the_rate_has_made_it_pay_for_long_enough():
    driver = carry_driver(adverse_hours=2.0)
    open_carry(driver)
    rate(driver, 1000.0, -0.0001, 3600.0 + EIGHT_H)
    rate(driver, 1000.0 + H, 0.0001, 3600.0 + EIGHT_H)  # back in its favour: start again
    rate(driver, 1000.0 + 2 * H, -0.0001, 3600.0 + EIGHT_H)
    assert driver.quotes(1000.0 + 4 * H - 1.0, FLAT) == []
    assert driver.ctx.funding_adverse_since == 1000.0 + 2 * H
    reason = close(driver, 1000.0 + 4 * H)
    assert reason == FUNDING_TURNED


def test_a_carry_exits_when_the_basis_has_lost_its_stop_whatever_the_funding():
    driver = carry_driver(basis_stop_pct=1.0)
    open_carry(driver)
    driver.send(FundingPayment(3600.0, 2_000.0, "L1"))  # funding does not hide the loss
    # The perpetual 0.8 % dearer than at the entry against spot: about 0.8 % plus fees.
    assert driver.quotes(4000.0, (49_890.0, 49_900.0, 49_990.0, 50_000.0)) == []
    reason = close(driver, 4001.0, (49_690.0, 49_700.0, 49_990.0, 50_000.0))
    assert reason == BASIS_STOP


def test_a_carrys_horizon_waits_for_a_settlement_it_receives():
    driver = carry_driver(horizon_h=8.0, exit_window_s=900.0)
    open_carry(driver)
    due = 1.0 + EIGHT_H
    rate(driver, 3601.0, 0.001, due + 300.0)
    assert driver.quotes(due, FLAT) == []
    assert driver.ctx.settlement_wait == due + 300.0
    reason = close(driver, due + 300.0 + 60.0)
    assert reason == HORIZON


def test_the_settled_rate_is_folded_once_when_the_next_one_comes():
    driver = Driver()
    rate(driver, 0.0, 0.0003, EIGHT_H)
    rate(driver, 100.0, 0.0002, EIGHT_H)
    assert driver.ctx.funding_history == FundingHistory()
    rate(driver, EIGHT_H + 1.0, 0.0001, 2 * EIGHT_H)
    expected = fold(FundingHistory(), 0.0002, EIGHT_H, EIGHT_H, 24.0)
    assert driver.ctx.funding_history == expected
    # A restart from the snapshot, and the rates reported again on reconnecting:
    driver.ctx = msgspec.json.decode(msgspec.json.encode(driver.ctx), type=ArbitrageContext)
    rate(driver, EIGHT_H + 2.0, 0.0002, EIGHT_H)
    rate(driver, EIGHT_H + 3.0, 0.0001, 2 * EIGHT_H)
    assert driver.ctx.funding_history == expected


def test_a_carry_never_enters_on_a_premium_alone():
    driver = carry_driver()
    assert driver.quotes(1.0, PREMIUM) == []  # no rate known
    assert driver.ctx.last_skip_reason == f"{NOT_COVERED}: no funding expected over 168 h"
    rate(driver, 2.0, -0.00001, 3600.0)
    assert driver.quotes(3.0, PREMIUM) == []
    rate(driver, 4.0, 0.00001, 3600.0)
    assert placed(driver.quotes(5.0, PREMIUM))
