"""The machine under the portfolio's risk: modes, partial reductions, the cycle's
stop-loss, and entries sized from the books and the caps' room."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageState, LegRules
from actors.arbitrage.machine import GOAL_OPEN, on_market
from actors.risk.limits import EntryLimits
from actors.risk.sizing import depth_weighted_price
from protocols.messages import (
    Alert,
    CancelOrder,
    OperatorAction,
    OperatorCommand,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    ReduceExposure,
    RiskModeChange,
    TradeClosed,
)
from protocols.model import (
    BookDepth,
    Fill,
    Leg,
    OrderStatus,
    Quote,
    RiskMode,
    Side,
    VenueRules,
)
from tests.unit.arbitrage.harness import BTC, ENTRY, FLAT, PROFIT, Driver, Market, placed

S = ArbitrageState


def open_position(driver: Driver, now: float = 1.0) -> None:
    driver.fill_all(driver.quotes(now, ENTRY), now=now)
    assert driver.ctx.state is S.POSITION_OPEN


def grows(order) -> bool:
    return (order.leg is Leg.SPOT and order.side is Side.BUY) or (
        order.leg is Leg.FUTURES and order.side is Side.SELL
    )


# ------------------------------------------------------------------------- modes


def test_reducing_stops_entries_but_not_exits():
    driver = Driver()
    driver.quotes(0.1, FLAT)  # started: monitoring
    driver.send(RiskModeChange(0.5, RiskMode.REDUCING, "drawdown"))
    before = driver.ctx
    assert driver.quotes(1.0, ENTRY) == [] and driver.ctx is before
    driver.send(RiskModeChange(1.5, RiskMode.ACTIVE, "resumed"))
    assert driver.ctx.risk_reason is None
    open_position(driver, now=2.0)
    driver.send(RiskModeChange(2.5, RiskMode.REDUCING, "daily loss"))
    assert len(placed(driver.quotes(3.0, PROFIT))) == 2


def test_halted_cancels_what_is_in_flight_keeps_cancelling_and_places_nothing():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    commands = driver.send(RiskModeChange(2.0, RiskMode.HALTED, "operator"))
    assert {(c.leg, c.client_id) for c in commands if isinstance(c, CancelOrder)} == {
        (Leg.SPOT, buy.client_id),
        (Leg.FUTURES, sell.client_id),
    }
    deadline = driver.ctx.deadline
    assert deadline == 2.0 + driver.ctx.params.leg_timeout_s
    chased = driver.quotes(deadline, PROFIT)
    assert len([c for c in chased if isinstance(c, CancelOrder)]) == 2 and not placed(chased)
    driver.fill(buy, now=deadline)
    driver.final(buy, 1.0, now=deadline)
    driver.fill(sell, now=deadline)
    driver.final(sell, 1.0, now=deadline)
    assert driver.ctx.state is S.POSITION_OPEN
    assert driver.quotes(deadline + 1.0, PROFIT) == []  # no exit while halted
    driver.send(RiskModeChange(deadline + 2.0, RiskMode.ACTIVE, "resumed"))
    assert len(placed(driver.quotes(deadline + 3.0, PROFIT))) == 2


def test_a_half_filled_entry_while_reducing_is_corrected_only_by_trimming():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.send(RiskModeChange(1.5, RiskMode.REDUCING, "drawdown"))
    driver.fill(buy, 0.6)
    driver.final(buy, 0.6)
    driver.fill(sell)
    driver.final(sell, 1.0)
    assert driver.ctx.state is S.IMBALANCED
    for attempt in range(2):
        (fix,) = placed(driver.quotes(2.0 + attempt, ENTRY))
        assert (fix.leg, fix.side, fix.qty) == (Leg.FUTURES, Side.BUY, pytest.approx(0.4))
        driver.final(fix, 0.0, now=2.0 + attempt)


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from([RiskMode.ACTIVE, RiskMode.REDUCING]),
    spot_step=st.sampled_from([0.0001, 0.001, 0.01]),
    spot_min_usdt=st.floats(1.0, 300.0),
    contract=st.sampled_from([0.0001, 0.001, 0.01]),
    min_contracts=st.integers(1, 5),
    futures_qty=st.floats(0.0, 2.0),
    excess=st.floats(-1.0, 1.0).filter(lambda x: x != 0.0),
    spot_ask=st.floats(40_000.0, 60_000.0),
)
@example(  # spot holds more than the futures venue's smallest order, less than spot's
    mode=RiskMode.REDUCING,
    spot_step=0.0001,
    spot_min_usdt=100.0,
    contract=0.0001,
    min_contracts=1,
    futures_qty=1.0,
    excess=0.001,
    spot_ask=50_000.0,
)
def test_an_imbalanced_strategy_places_an_order_or_settles_within_the_attempt_bound(
    mode, spot_step, spot_min_usdt, contract, min_contracts, futures_qty, excess, spot_ask
):
    """Whatever the venues' steps and smallest orders, on live quotes an IMBALANCED
    strategy never waits for ever: it places a correction, settles or flattens within
    max_correction_attempts + 1 decisions (halted places nothing by definition)."""
    rules = LegRules(
        VenueRules(qty_step=spot_step, min_notional=spot_min_usdt),
        VenueRules(contract_size=contract, min_contracts=min_contracts),
    )
    spot_qty = max(futures_qty + excess, 0.0)
    ctx = Driver().ctx.evolve(
        state=S.IMBALANCED,
        rules=rules,
        risk_mode=mode,
        imbalance_goal=GOAL_OPEN,
        positions__spot__qty=spot_qty,
        positions__spot__avg_price=spot_ask,
        positions__futures__qty=futures_qty,
        positions__futures__avg_price=spot_ask * 0.995,
    )
    driver = Driver(ctx)
    prices = (spot_ask - 10.0, spot_ask, spot_ask * 0.995 - 10.0, spot_ask * 0.995)
    for decision in range(ctx.params.max_correction_attempts + 1):
        if placed(driver.quotes(1.0 + decision, prices)) or driver.ctx.state is not S.IMBALANCED:
            return
    pytest.fail(f"still IMBALANCED after {decision + 1} decisions, nothing placed")


EVENTS = st.one_of(
    st.tuples(st.just("quotes"), st.sampled_from([ENTRY, PROFIT, FLAT])),
    st.tuples(st.just("fill"), st.floats(0.0, 1.0)),
    st.tuples(st.just("final"), st.floats(0.0, 1.0)),
    st.tuples(st.just("reject"), st.floats(0.0, 1.0)),
    st.tuples(st.just("mode"), st.sampled_from(list(RiskMode))),
    st.tuples(st.just("reduce"), st.sampled_from([0.3, 0.5, 1.0])),
    st.tuples(st.just("close"), st.just(None)),
    st.tuples(st.just("wait"), st.floats(1.0, 30.0)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=50))
def test_no_order_grows_a_leg_unless_active_and_none_at_all_while_halted(events):
    driver = Driver(leg_timeout_s=5.0, cycle_stop_loss_pct=2.0)
    now = 0.0
    trade = 0
    for kind, value in events:
        now += 1.0
        orders = [o for leg in driver.ctx.active_orders.values() for o in leg.values()]
        order = None
        if orders and kind in ("fill", "final", "reject"):
            order = orders[int(value * len(orders)) % len(orders)]
        if kind == "quotes":
            commands = driver.quotes(now, value)
        elif kind == "wait":
            now += value
            commands = driver.send(Market(now))  # time passes: deadlines
        elif kind == "mode":
            commands = driver.send(RiskModeChange(now, value, "test"))
        elif kind == "reduce":
            commands = driver.send(ReduceExposure(now, value, "test"))
        elif kind == "close":
            commands = driver.send(OperatorCommand(now, OperatorAction.CLOSE_POSITION))
        elif order is None:
            continue
        elif kind == "fill":
            qty = (order.qty - order.filled_qty) * value
            if qty <= 0.0:
                continue
            trade += 1
            fill = Fill(
                order.client_id, f"f{trade}", qty, order.price, qty * order.price * 5e-4, now
            )
            commands = driver.send(fill)
        elif kind == "final":
            final = OrderFinal(
                now, order.client_id, OrderStatus.CANCELLED, order.filled_qty, order.price
            )
            commands = driver.send(final)
        elif order.filled_qty == 0.0:
            commands = driver.send(OrderRejected(now, order.client_id, "no"))
        else:
            continue
        mode = driver.ctx.risk_mode
        for command in commands:
            if isinstance(command, PlaceOrder):
                assert mode is not RiskMode.HALTED, command
                if mode is RiskMode.REDUCING:
                    assert not grows(command.order), command


# ------------------------------------------------------------------ reductions


def test_a_partial_reduction_closes_that_part_of_both_legs_and_keeps_the_rest_open():
    driver = Driver()
    open_position(driver)
    commands = driver.send(ReduceExposure(2.0, 0.5, "liquidation distance 25%"))
    assert [c.level for c in commands if isinstance(c, Alert)] == ["info"]
    commands = driver.quotes(3.0, FLAT)
    orders = placed(commands)
    assert [(o.leg, o.side, o.qty, o.reduce_only) for o in orders] == [
        (Leg.SPOT, Side.SELL, 0.5, False),
        (Leg.FUTURES, Side.BUY, 0.5, True),
    ]
    assert driver.ctx.state is S.EXITING
    after = driver.fill_all(commands, now=3.0)
    assert not [c for c in after if isinstance(c, TradeClosed)]
    ctx = driver.ctx
    assert ctx.state is S.POSITION_OPEN and ctx.exit_reason is None and ctx.reduction is None
    assert (ctx.positions.spot.qty, ctx.positions.futures.qty) == (0.5, 0.5)
    assert driver.quotes(4.0, FLAT) == []  # the rest waits for its own exit


def test_reducing_by_all_of_it_closes_the_position_with_the_reason():
    driver = Driver()
    open_position(driver)
    driver.send(ReduceExposure(2.0, 1.0, "liquidation"))
    commands = driver.fill_all(driver.quotes(3.0, FLAT), now=3.0)
    (closed,) = [c for c in commands if isinstance(c, TradeClosed)]
    assert closed.trade.exit_reason == "liquidation"
    assert driver.ctx.state is S.MONITORING


def test_a_reduction_too_small_for_the_venues_closes_the_whole_position():
    driver = Driver()
    open_position(driver)
    driver.send(ReduceExposure(2.0, 0.00001, "liquidation"))  # 0.00001 BTC: under 5 USDT
    orders = placed(driver.quotes(3.0, FLAT))
    assert [o.qty for o in orders] == [1.0, 1.0] and driver.ctx.exit_reason == "liquidation"


def test_a_reduction_with_nothing_held_is_ignored_with_an_info_alert():
    driver = Driver()
    before = driver.ctx
    (alert,) = driver.send(ReduceExposure(1.0, 0.5, "liquidation"))
    assert alert.level == "info" and "no position" in alert.message
    assert driver.ctx is before


def test_a_reduction_asked_while_entering_waits_for_the_position():
    driver = Driver()
    commands = driver.quotes(1.0, ENTRY)
    driver.send(ReduceExposure(1.5, 0.5, "liquidation"))
    driver.fill_all(commands, now=2.0)
    assert driver.ctx.state is S.POSITION_OPEN
    assert [o.qty for o in placed(driver.quotes(3.0, FLAT))] == [0.5, 0.5]


# ------------------------------------------------------------------- stop-loss

CRASH = (48_900.0, 48_910.0, 49_750.0, 49_760.0)  # spot down 1 100: -1 209 USDT
DIP = (49_400.0, 49_410.0, 49_750.0, 49_760.0)  # spot down 600: -709 USDT


def test_the_cycle_stop_loss_exits_below_its_share_of_the_entry_notional():
    driver = Driver(cycle_stop_loss_pct=2.0)  # 2 % of 50 000: 1 000 USDT
    open_position(driver)
    assert driver.quotes(2.0, DIP) == []
    commands = driver.quotes(3.0, CRASH)
    assert len(placed(commands)) == 2 and driver.ctx.exit_reason == "stop_loss"
    (closed,) = [c for c in driver.fill_all(commands, 3.0) if isinstance(c, TradeClosed)]
    assert closed.trade.exit_reason == "stop_loss" and closed.trade.pnl_usdt < -1000.0
    assert driver.ctx.state is S.MONITORING  # a stop of the cycle, not a pause


def test_without_a_cycle_stop_loss_a_loss_is_held():
    driver = Driver()
    open_position(driver)
    assert driver.quotes(2.0, CRASH) == []


# ---------------------------------------------------------------------- sizing


def deep(now: float, best: float, qty: float, buying: bool, step: float) -> Quote:
    """A quote whose side an entry takes has five levels of ``qty``, ``step`` apart."""
    levels = tuple((best + (step if buying else -step) * n, qty) for n in range(5))
    if buying:
        return Quote(BTC, best - 10.0, qty, best, qty, now, now, BookDepth(asks=levels))
    return Quote(BTC, best, qty, best + 10.0, qty, now, now, BookDepth(bids=levels))


def test_an_entry_takes_the_depth_within_the_slippage_bound_at_the_last_level_reached():
    driver = Driver(max_slippage_pct=0.1)
    spot = deep(1.0, 50_000.0, 0.2, True, 40.0)  # 0.2 at 50 000, 50 040, 50 080, 50 120...
    futures = deep(1.0, 49_750.0, 0.5, False, 10.0)
    buy, sell = placed(list(on_market(driver.ctx, 1.0, spot, futures)[1]))
    # Spot: 0.6 averages 50 040; of the 50 120 level, the 6/70 that brings it to 50 050.
    # Futures: 2.5 down to 49 710 would average 49 730, within 49 700.25; 0.6857 of it
    # needs the second level only.
    assert buy.qty == sell.qty == 0.6857
    assert (buy.price, sell.price) == (50_120.0, 49_740.0)
    for quote, order, bound in ((spot, buy, 50_050.0), (futures, sell, 49_700.25)):
        levels = quote.depth.asks or quote.depth.bids
        average = depth_weighted_price(levels, order.qty)
        assert (average <= bound) if order.side is Side.BUY else (average >= bound)


def test_too_little_depth_is_a_skip_with_its_reason_and_a_resize_says_from_what():
    driver = Driver(max_slippage_pct=0.1)
    thin = deep(1.0, 50_000.0, 0.00001, True, 100.0)  # 0.5 USDT: under the 5 minimum
    futures = deep(1.0, 49_750.0, 5.0, False, 10.0)
    ctx, commands = on_market(driver.ctx, 1.0, thin, futures)
    assert commands == () and ctx.last_skip_reason.startswith("too little depth: ")
    # 0.2 at 50 000, and of the 50 100 level the 0.2 that brings the average to 50 050.
    some = deep(1.0, 50_000.0, 0.2, True, 100.0)
    ctx, commands = on_market(driver.ctx, 1.0, some, futures)
    opportunity = ctx.current_opportunity
    assert (opportunity.qty, opportunity.wanted_qty, opportunity.limited_by) == (
        0.4,
        1.0,
        "too little depth",
    )


def test_the_room_the_caps_leave_bounds_the_entry_and_none_is_a_skip():
    driver = Driver()
    room = EntryLimits(20_000.0, "max_symbol_notional_usdt 40000 for BTC/USDT")
    ctx, commands = on_market(driver.ctx, *_entry_quotes(1.0), limits=room)
    buy, sell = placed(list(commands))
    assert buy.qty * max(buy.price, sell.price) <= 20_000.0
    assert math.isclose(buy.qty, 0.4)
    assert ctx.current_opportunity.limited_by == "no room: " + room.reason
    none = EntryLimits(0.0, "available margin on gateio_futures")
    ctx, commands = on_market(driver.ctx, *_entry_quotes(1.0), limits=none)
    assert commands == ()
    assert ctx.last_skip_reason == "no room: available margin on gateio_futures"


def _entry_quotes(now: float) -> tuple[float, Quote, Quote]:
    sb, sa, fb, fa = ENTRY
    return now, Quote(BTC, sb, 10.0, sa, 10.0, now, now), Quote(BTC, fb, 10.0, fa, 10.0, now, now)
