"""The state machine's rules, one scenario each (docs/strategy.md)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import (
    ArbitrageContext,
    ArbitrageParams,
    ArbitrageState,
    LegRules,
    Liveness,
    new_context,
)
from actors.arbitrage.machine import FUNDING_IDS_KEPT, orders_left, step
from protocols.messages import (
    Alert,
    AmendOrder,
    CancelOrder,
    FeedHealth,
    FundingPayment,
    FundingRateUpdate,
    OperatorAction,
    OperatorCommand,
    OrderAccepted,
    PlaceOrder,
    StoreHealth,
    TradeAmended,
    TradeClosed,
    TradeRecord,
)
from protocols.model import Leg, OrderStatus, OrderType, Side, TimeInForce, VenueRules
from tests.unit.arbitrage.harness import BTC, ENTRY, FLAT, PROFIT, Driver, Market, placed

S = ArbitrageState


def open_position(driver: Driver, now: float = 1.0) -> None:
    driver.fill_all(driver.quotes(now, ENTRY), now=now)
    assert driver.ctx.state is S.POSITION_OPEN


# ---------------------------------------------------------------------------- entry


def test_enters_both_legs_together_at_an_entry_cost_equal_to_the_limit():
    driver = Driver()
    orders = placed(driver.quotes(1.0, ENTRY))
    assert driver.ctx.state is S.ENTERING
    assert [(o.leg, o.side, o.qty, o.price) for o in orders] == [
        (Leg.SPOT, Side.BUY, 1.0, 50_000.0),
        (Leg.FUTURES, Side.SELL, 1.0, 49_750.0),
    ]
    assert all(o.tif.value == "ioc" and o.status is OrderStatus.PENDING for o in orders)
    assert driver.ctx.deadline == 1.0 + driver.ctx.params.leg_timeout_s
    assert driver.ctx.current_opportunity.entry_cost_pct == pytest.approx(0.5)


def test_does_not_enter_above_the_limit_and_keeps_the_same_context_object():
    driver = Driver()
    driver.quotes(1.0, FLAT)  # leaves IDLE
    before = driver.ctx
    assert driver.quotes(2.0, (49_990.0, 50_000.0, 49_740.0, 49_750.0)) == []
    assert driver.ctx is before  # a quote that changes nothing allocates nothing


@pytest.mark.parametrize("stale", ["spot_age", "futures_age"])
def test_no_entry_on_a_quote_older_than_max_quote_age(stale):
    driver = Driver(max_quote_age_s=10.0)
    assert driver.quotes(100.0, ENTRY, **{stale: 10.5}) == []
    assert driver.quotes(100.0, ENTRY, **{stale: 10.0}) != []  # exactly the limit is fine


@pytest.mark.parametrize("live", [Liveness(None, 50.0), Liveness(50.0, None), Liveness(None, None)])
def test_no_entry_while_a_legs_connection_is_not_live(live):
    driver = Driver()
    driver.quotes(99.0, FLAT, live=live)  # leaves IDLE
    before = driver.ctx
    assert driver.quotes(100.0, ENTRY, live=live) == []
    assert driver.ctx is before
    assert placed(driver.quotes(100.5, ENTRY, live=Liveness(50.0, 50.0)))


def test_no_entry_on_a_quote_received_before_its_connection_last_became_live():
    # The case: a spot quote 9.49 s old, inside max_quote_age_s, from before
    # a silence of its connection: the venue may have moved it unseen meanwhile.
    driver = Driver(max_quote_age_s=10.0)
    live = Liveness(spot_since=95.0, futures_since=50.0)
    assert driver.quotes(100.0, ENTRY, spot_age=9.49, live=live) == []
    assert driver.ctx.state is S.MONITORING
    assert placed(driver.quotes(100.0, ENTRY, spot_age=5.0, live=live))  # received at 95


def test_an_old_quote_of_a_live_quiet_connection_is_still_the_latest():
    # A venue pushing only on change says nothing on a quiet symbol: the age of its
    # quote alone does not make it stale while the connection is live.
    driver = Driver(max_quote_age_s=10.0)
    live = Liveness(spot_since=10.0, futures_since=10.0)
    assert placed(driver.quotes(100.0, ENTRY, spot_age=9.0, futures_age=8.0, live=live))


def test_an_entrys_legs_must_leave_soon_and_other_orders_need_not():
    driver = Driver(entry_send_within_s=0.75)
    commands = driver.quotes(1.0, ENTRY)
    assert [c.send_by for c in commands if isinstance(c, PlaceOrder)] == [1.75, 1.75]
    driver.fill_all(commands, now=1.0)
    exits = [c for c in driver.quotes(2.0, PROFIT) if isinstance(c, PlaceOrder)]
    assert len(exits) == 2 and all(c.send_by is None for c in exits)


def test_a_stale_feed_pauses_entries_until_it_is_fresh_again():
    driver = Driver()
    driver.send(FeedHealth(1.0, Leg.FUTURES, fresh=False, detail="no data for 5 s"))
    driver.quotes(2.0, ENTRY)
    assert driver.ctx.state is S.PAUSED and driver.commands == []
    driver.send(FeedHealth(3.0, Leg.FUTURES, fresh=True))
    assert driver.ctx.state is S.MONITORING
    assert placed(driver.quotes(4.0, ENTRY))


def test_a_store_refusing_intents_pauses_entries_but_not_exits():
    driver = Driver()
    driver.send(StoreHealth(1.0, "disk full: /data/basis.db: free space on its filesystem"))
    assert driver.quotes(2.0, ENTRY) == []
    assert driver.ctx.state is S.PAUSED and driver.ctx.paused_reason is None
    driver.send(StoreHealth(3.0, None))
    assert driver.ctx.state is S.MONITORING
    open_position(driver, now=4.0)
    # An exit is still decided: its orders leave once their intents are stored.
    driver.send(StoreHealth(5.0, "disk full: /data/basis.db: free space on its filesystem"))
    assert len(placed(driver.quotes(6.0, PROFIT))) == 2
    assert driver.ctx.state is S.EXITING


def test_orders_that_waited_for_the_store_time_out_from_when_they_left():
    driver = Driver(leg_timeout_s=5.0)
    placed(driver.quotes(1.0, ENTRY))
    driver.ctx = orders_left(driver.ctx, waited_s=30.0)  # they left at 31
    assert driver.ctx.deadline == 36.0
    assert driver.send(Market(35.9)) == []
    assert len(driver.send(Market(36.0))) == 2  # both cancelled, only now


def test_cooldown_between_cycles():
    driver = Driver(cooldown_s=60.0)
    open_position(driver)
    driver.fill_all(driver.quotes(2.0, PROFIT), now=2.0)
    assert driver.ctx.state is S.MONITORING and driver.ctx.arbitrage_cycles == 1
    assert driver.quotes(61.9, ENTRY) == []
    assert placed(driver.quotes(62.0, ENTRY))


def test_funding_requirement_blocks_entries_until_the_rate_is_known_and_non_negative():
    driver = Driver(require_non_negative_funding=True)
    assert driver.quotes(1.0, ENTRY) == []
    assert driver.ctx.last_skip_reason == "the funding rate is not known yet"
    driver.send(FundingRateUpdate(2.0, rate=-0.0001, interval_s=28_800))
    assert driver.quotes(3.0, ENTRY) == []
    assert "would make the short leg pay" in driver.ctx.last_skip_reason
    driver.send(FundingRateUpdate(4.0, rate=0.0001, interval_s=28_800))
    assert placed(driver.quotes(5.0, ENTRY))


def test_a_funding_rate_is_unknown_again_once_its_settlement_has_passed():
    driver = Driver(require_non_negative_funding=True)
    driver.send(FundingRateUpdate(1.0, rate=0.0001, interval_s=3600, next_ts=10.0))
    assert driver.quotes(10.0, ENTRY) == []
    assert driver.ctx.last_skip_reason == "the funding rate is not known since the last settlement"
    driver.send(FundingRateUpdate(11.0, rate=0.0001, interval_s=3600, next_ts=3610.0))
    assert placed(driver.quotes(12.0, ENTRY))
    assert (driver.ctx.funding_interval_s, driver.ctx.funding_next_ts) == (3600, 3610.0)


def test_an_opportunity_too_small_for_the_venues_is_skipped_with_the_reason():
    driver = Driver()
    driver.ctx = driver.ctx.evolve(base_position_size_usdt=4.0)
    assert driver.quotes(1.0, ENTRY) == []
    assert driver.ctx.last_skip_reason == "budget is below one increment"
    recorded = driver.ctx
    driver.quotes(2.0, ENTRY)
    assert driver.ctx is recorded  # the same reason is recorded once


# ----------------------------------------------------------------- fills and legs


def test_position_is_what_was_filled_including_partial_fills():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.send(OrderAccepted(1.1, buy.client_id, "V1"))
    driver.fill(buy, 0.4, price=49_999.0)
    driver.fill(buy, 0.6, price=50_000.0)
    driver.fill(sell, 1.0)
    assert driver.ctx.positions.spot.qty == pytest.approx(1.0)
    assert driver.ctx.positions.spot.avg_price == pytest.approx(49_999.6)
    order = driver.ctx.active_orders["spot"][buy.client_id]
    assert (order.status, order.venue_order_id, len(order.trade_ids)) == (
        OrderStatus.FILLED, "V1", 2)  # fmt: skip


def test_a_fill_delivered_twice_counts_once():
    driver = Driver()
    buy, _ = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.5)
    fill = driver.ctx.active_orders["spot"][buy.client_id].trade_ids[0]
    from protocols.model import Fill

    driver.send(Fill(buy.client_id, fill, 0.5, buy.price, 1.0, 1.0))
    assert driver.ctx.positions.spot.qty == 0.5


def test_a_final_state_reporting_more_than_the_fills_adopts_the_venues_figure():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.5)
    commands = driver.final(buy, filled=1.0)
    assert driver.ctx.positions.spot.qty == pytest.approx(1.0)
    assert any(isinstance(c, Alert) and "adopted the venue's figure" in c.message for c in commands)
    driver.fill(sell)
    driver.final(sell, 1.0)
    assert driver.ctx.state is S.POSITION_OPEN


def test_a_half_filled_entry_is_corrected_by_finishing_the_lagging_leg():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.6)
    driver.final(buy, 0.6)
    driver.fill(sell)
    commands = driver.final(sell, 1.0)
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.imbalance_goal == "open"
    assert any(isinstance(c, Alert) and "correcting" in c.message for c in commands)
    (fix,) = placed(driver.quotes(2.0, ENTRY))
    assert (fix.leg, fix.side, fix.qty) == (Leg.SPOT, Side.BUY, pytest.approx(0.4))
    driver.fill_all([PlaceOrder(fix)])
    assert driver.ctx.state is S.POSITION_OPEN
    assert driver.ctx.positions.delta_qty == pytest.approx(0.0)


# One contract is 1 unit: an exit that sells part of the spot leg leaves a short larger
# than the spot by less than a contract.
WHOLE_CONTRACTS = LegRules(
    VenueRules(qty_step=0.01, min_notional=5.0),
    VenueRules(contract_size=1.0, min_contracts=1),
)


def half_filled_exit(**params) -> Driver:
    """A position of 1 whose exit sold 0.6 of the spot leg and bought no futures."""
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        params=ArbitrageParams(**params),
        rules=WHOLE_CONTRACTS,
    )
    driver = Driver(ctx)
    open_position(driver)
    sell, buy = placed(driver.quotes(2.0, PROFIT))
    driver.fill(sell, 0.6, now=2.0)
    driver.final(sell, 0.6, now=2.0)
    driver.final(buy, 0.0, now=2.0)
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.imbalance_goal == "flat"
    return driver


def test_an_exit_half_filled_by_less_than_a_contract_buys_back_the_whole_contract():
    # Buying 0.6 contracts cannot be, and buying the spot back would add to a position
    # being closed: the short is closed by the whole contract (never more than it holds),
    # and the spot left over is then sold.
    driver = half_filled_exit()
    (correction,) = placed(driver.quotes(3.0, PROFIT))
    assert (correction.leg, correction.side, correction.qty) == (Leg.FUTURES, Side.BUY, 1.0)
    assert correction.reduce_only
    driver.fill_all([PlaceOrder(correction)], now=3.0)
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.positions.futures.qty == 0.0
    (rest,) = placed(driver.quotes(4.0, PROFIT))
    assert (rest.leg, rest.side, rest.qty) == (Leg.SPOT, Side.SELL, pytest.approx(0.4))
    commands = driver.fill_all([PlaceOrder(rest)], now=4.0)
    assert driver.ctx.state is S.MONITORING
    assert any(isinstance(c, TradeClosed) for c in commands)
    assert driver.ctx.positions.spot.qty == pytest.approx(0.0)


def test_an_exits_corrections_that_keep_failing_flatten_both_legs_and_pause():
    driver = half_filled_exit(max_correction_attempts=2)
    for now in (3.0, 4.0):
        (correction,) = placed(driver.quotes(now, PROFIT))
        assert (correction.leg, correction.side) == (Leg.FUTURES, Side.BUY)
        driver.reject(correction, now=now)
        assert driver.ctx.positions.spot.qty == pytest.approx(0.4)
    assert driver.ctx.imbalance_goal == "flatten"
    flatten = placed(driver.quotes(5.0, PROFIT))
    assert {(o.leg, o.side, o.qty) for o in flatten} == {
        (Leg.SPOT, Side.SELL, 0.4), (Leg.FUTURES, Side.BUY, 1.0)}  # fmt: skip
    driver.fill_all([PlaceOrder(o) for o in flatten], now=5.0)
    assert driver.ctx.state is S.PAUSED
    assert "not corrected after 2 attempts" in driver.ctx.paused_reason


@settings(max_examples=60, deadline=None)
@given(
    contract=st.sampled_from([0.0001, 0.01, 0.3, 1.0]),
    attempts=st.integers(1, 3),
    data=st.data(),
)
def test_an_exit_and_its_corrections_never_add_to_either_leg(contract, attempts, data):
    rules = LegRules(
        VenueRules(qty_step=0.0001, min_notional=5.0),
        VenueRules(contract_size=contract, min_contracts=1),
    )
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        params=ArbitrageParams(max_correction_attempts=attempts),
        rules=rules,
    )
    driver = Driver(ctx)
    open_position(driver)
    held = driver.ctx.positions
    # Orders fill in part at random at first, then in full: the exit must end flat.
    for now in range(2, 30):
        for order in placed(driver.quotes(float(now), PROFIT)):
            assert (order.leg, order.side) in {(Leg.SPOT, Side.SELL), (Leg.FUTURES, Side.BUY)}
            assert order.reduce_only or order.leg is Leg.SPOT
            step_size = 0.0001 if order.leg is Leg.SPOT else contract
            steps = round(order.qty / step_size)
            filled = steps if now > 12 else data.draw(st.integers(-1, steps))
            if filled < 0:
                driver.reject(order, now=now)
                continue
            if filled:
                driver.fill(order, filled * step_size, now=now)
            driver.final(order, filled * step_size, now=now)
            positions = driver.ctx.positions
            assert positions.spot.qty <= held.spot.qty + 1e-9
            assert positions.futures.qty <= held.futures.qty + 1e-9
            assert positions.spot.qty >= -1e-9 and positions.futures.qty >= -1e-9
            held = positions
        if driver.ctx.state in (S.MONITORING, S.PAUSED):
            break
    assert driver.ctx.state in (S.MONITORING, S.PAUSED)
    assert held.spot.qty == pytest.approx(0.0, abs=1e-9)
    assert held.futures.qty == pytest.approx(0.0, abs=1e-9)


def test_failed_corrections_flatten_both_legs_and_pause_with_the_reason():
    driver = Driver(max_correction_attempts=2)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill_all([PlaceOrder(buy)])
    driver.reject(sell)
    assert driver.ctx.state is S.IMBALANCED
    first = placed(driver.quotes(2.0, ENTRY))[0]
    assert (first.leg, first.side) == (Leg.FUTURES, Side.SELL)  # finish the lagging leg
    driver.reject(first)
    second = placed(driver.quotes(3.0, ENTRY))[0]
    assert (second.leg, second.side) == (Leg.SPOT, Side.SELL)  # then try trimming
    driver.reject(second)
    assert driver.ctx.imbalance_goal == "flatten"
    (flatten,) = placed(driver.quotes(4.0, ENTRY))
    assert (flatten.leg, flatten.side, flatten.qty) == (Leg.SPOT, Side.SELL, 1.0)
    driver.fill_all([PlaceOrder(flatten)])
    assert driver.ctx.state is S.PAUSED
    assert "not corrected after 2 attempts" in driver.ctx.paused_reason
    assert driver.ctx.positions.spot.qty == pytest.approx(0.0)
    assert driver.quotes(5.0, ENTRY) == []  # paused: no new entry


# Spot 0.0001 BTC bought at 50 100 is worth 5.01 USDT, what the spot venue takes (5.0):
# at these quotes it is worth 4.90, and the venue would refuse to sell it.
DIP = (49_000.0, 49_010.0, 48_750.0, 48_760.0)


def test_a_flattening_that_only_these_prices_make_too_small_waits_instead_of_resting():
    # The futures leg expired unfilled, the spot leg filled 0.0001; its correction
    # expired too, so both legs are flattened. The operator resumes meanwhile.
    driver = Driver(max_correction_attempts=1)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.final(sell, 0.0)
    driver.fill(buy, 0.0001, price=50_100.0)
    driver.final(buy, 0.0001)
    (correction,) = placed(driver.quotes(2.0, ENTRY))
    driver.final(correction, 0.0, now=2.0)
    assert driver.ctx.imbalance_goal == "flatten"
    driver.send(OperatorCommand(3.0, OperatorAction.RESUME))
    # The spot venue takes no sale of 4.90 USDT: the legs still differ, so the strategy
    # stays IMBALANCED (never at rest holding a spot leg with no short) ...
    assert driver.quotes(4.0, DIP) == []
    assert driver.ctx.state is S.IMBALANCED
    # ... and sells it once a venue takes it.
    (flatten,) = placed(driver.quotes(5.0, PROFIT))
    assert (flatten.leg, flatten.side, flatten.qty) == (Leg.SPOT, Side.SELL, 0.0001)
    commands = driver.fill_all([PlaceOrder(flatten)], now=5.0)
    assert any(isinstance(c, TradeClosed) for c in commands)
    assert driver.ctx.state is S.MONITORING
    assert driver.ctx.positions.spot.qty == pytest.approx(0.0, abs=1e-12)


def test_an_exits_remainder_that_only_these_prices_make_too_small_waits_instead_of_resting():
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        params=ArbitrageParams(min_profit_pct=0.2),  # PROFIT makes 0.48% on spot at 50 100
        rules=LegRules(
            VenueRules(qty_step=0.00001, min_notional=5.0),
            VenueRules(contract_size=0.0001, min_contracts=1),
        ),
    )
    driver = Driver(ctx)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, price=50_100.0)
    driver.final(buy, 1.0)
    driver.fill_all([PlaceOrder(sell)])
    assert driver.ctx.state is S.POSITION_OPEN
    spot_sell, futures_buy = placed(driver.quotes(2.0, PROFIT))
    driver.fill(spot_sell, 0.9999, now=2.0)
    driver.final(spot_sell, 0.9999, now=2.0)
    driver.fill_all([PlaceOrder(futures_buy)], now=2.0)
    assert driver.ctx.imbalance_goal == "flat"
    assert driver.quotes(3.0, DIP) == []
    assert driver.ctx.state is S.IMBALANCED
    (rest,) = placed(driver.quotes(4.0, PROFIT))
    assert (rest.leg, rest.side, rest.qty) == (Leg.SPOT, Side.SELL, pytest.approx(0.0001))
    driver.fill_all([PlaceOrder(rest)], now=4.0)
    assert driver.ctx.state is S.MONITORING
    assert driver.ctx.positions.spot.qty == pytest.approx(0.0, abs=1e-12)


def test_a_leg_worth_the_smallest_order_but_for_float_noise_is_an_imbalance_not_a_position():
    # The exit sold 0.9999 of 1 BTC: 1 - 0.9999 is 0.0001 less a few ulps, worth 5 USDT
    # less float noise, the smallest order of either venue. The spot venue takes it, so
    # it is an imbalance to close, not a position held open without its short.
    driver = Driver()
    open_position(driver)
    spot_sell, futures_buy = placed(driver.quotes(2.0, PROFIT))
    driver.fill(spot_sell, 0.9999, now=2.0)
    driver.final(spot_sell, 0.9999, now=2.0)
    driver.fill_all([PlaceOrder(futures_buy)], now=2.0)
    assert driver.ctx.positions.futures.qty == 0.0
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.imbalance_goal == "flat"
    assert driver.ctx.cycle.unhedged_since == 2.0
    (rest,) = placed(driver.quotes(3.0, PROFIT))
    assert (rest.leg, rest.side, rest.qty) == (Leg.SPOT, Side.SELL, 0.0001)
    driver.fill_all([PlaceOrder(rest)], now=3.0)
    assert driver.ctx.state is S.MONITORING


def test_orders_past_their_deadline_are_cancelled_and_chased_until_they_end():
    driver = Driver(leg_timeout_s=5.0)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    assert driver.send(Market(5.9)) == []
    first = driver.send(Market(6.0))
    assert {(c.leg, c.client_id) for c in first} == {
        (Leg.SPOT, buy.client_id), (Leg.FUTURES, sell.client_id)}  # fmt: skip
    again = driver.send(Market(11.0))
    assert sum(isinstance(c, CancelOrder) for c in again) == 2
    assert any(isinstance(c, Alert) and "2 timeouts" in c.message for c in again)
    driver.final(buy, 0.0, status=OrderStatus.CANCELLED)
    driver.final(sell, 0.0, status=OrderStatus.CANCELLED)
    assert driver.ctx.state is S.MONITORING and driver.ctx.deadline is None


# ----------------------------------------------------------------------------- exit


def test_exits_on_profit_and_records_the_trade():
    driver = Driver()
    open_position(driver)
    before = driver.ctx
    assert driver.quotes(2.0, FLAT) == [] and driver.ctx is before
    exit_orders = placed(driver.quotes(3.0, PROFIT))
    assert [(o.leg, o.side, o.reduce_only) for o in exit_orders] == [
        (Leg.SPOT, Side.SELL, False), (Leg.FUTURES, Side.BUY, True)]  # fmt: skip
    (closed,) = [c for c in driver.fill_all([PlaceOrder(o) for o in exit_orders], 3.0)
                 if isinstance(c, TradeClosed)]  # fmt: skip
    trade = closed.trade
    assert (trade.exit_reason, trade.entry_ts, trade.exit_ts) == ("profit", 1.0, 3.0)
    assert trade.pnl_usdt == pytest.approx(339.97)
    assert trade.pnl_pct == pytest.approx(0.67994)
    assert driver.ctx.realized_pnl_usdt == pytest.approx(339.97)
    assert driver.ctx.total_volume_usdt == pytest.approx(50_000 + 49_750 + 50_500 + 49_810)


def test_exits_at_max_hours_at_the_latest_quotes_even_if_they_are_old():
    driver = Driver(max_hours=1.0)
    open_position(driver, now=0.0)
    assert driver.quotes(3599.0, FLAT) == []
    orders = placed(driver.quotes(3600.0, FLAT, spot_age=500.0))
    assert len(orders) == 2 and driver.ctx.exit_reason == "timeout"


def test_no_profit_exit_on_stale_quotes():
    driver = Driver(max_quote_age_s=5.0)
    open_position(driver)
    assert driver.quotes(100.0, PROFIT, futures_age=6.0) == []


def test_operator_close_exits_at_the_next_quotes():
    driver = Driver()
    open_position(driver)
    driver.send(OperatorCommand(2.0, OperatorAction.CLOSE_POSITION))
    orders = placed(driver.quotes(3.0, FLAT))
    assert len(orders) == 2 and driver.ctx.exit_reason == "operator"


def test_kill_switch_exits_and_pauses_when_the_loss_reaches_the_limit():
    driver = Driver(max_loss_usdt=200.0)
    open_position(driver)
    crash = (49_700.0, 49_710.0, 49_800.0, 49_810.0)  # spot down 300: the loss passes 200
    orders = placed(driver.quotes(2.0, crash))
    assert driver.ctx.exit_reason == "kill_switch" and len(orders) == 2
    driver.fill_all([PlaceOrder(o) for o in orders])
    assert driver.ctx.state is S.PAUSED and "kill switch" in driver.ctx.paused_reason
    driver.send(OperatorCommand(3.0, OperatorAction.RESUME))
    assert driver.ctx.state is S.MONITORING
    assert placed(driver.quotes(4.0, ENTRY))  # the operator accepted the loss so far


def test_funding_goes_into_pnl_and_the_trade_record():
    driver = Driver()
    open_position(driver)
    driver.send(FundingPayment(2.0, 12.5))
    driver.send(FundingPayment(3.0, -2.5))
    closed = [
        c for c in driver.fill_all(driver.quotes(4.0, PROFIT), 4.0) if isinstance(c, TradeClosed)
    ]
    assert closed[0].trade.funding_usdt == 10.0
    assert closed[0].trade.pnl_usdt == pytest.approx(339.97 + 10.0)
    assert driver.ctx.funding_usdt == 10.0


def test_a_settlement_counts_once_by_its_ledger_id():
    driver = Driver()
    open_position(driver)
    driver.send(FundingPayment(2.0, 12.5, ledger_id="7"))
    counted = driver.ctx
    driver.send(FundingPayment(2.0, 12.5, ledger_id="7"))  # reported again
    assert driver.ctx is counted
    assert (counted.funding_usdt, counted.cycle.funding_usdt) == (12.5, 12.5)
    assert counted.funding_ledger_ids == ("7",)


def test_settlements_while_the_strategy_held_no_position_are_not_its_own():
    driver = Driver()
    driver.ctx = driver.ctx.evolve(created_at=1.0)
    driver.send(FundingPayment(0.5, 3.0, ledger_id="1"))  # before the task existed
    assert driver.ctx.funding_usdt == 0.0
    out = driver.send(FundingPayment(1.5, 2.0, ledger_id="2"))  # no position held
    assert driver.ctx.funding_usdt == 0.0 and driver.ctx.realized_pnl_usdt == 0.0
    assert [c.level for c in out if isinstance(c, Alert)] == ["warning"]
    open_position(driver, now=2.0)
    fees_only = driver.ctx.realized_pnl_usdt
    driver.send(FundingPayment(3.0, 1.0, ledger_id="3"))
    assert driver.ctx.cycle.funding_usdt == 1.0
    assert driver.ctx.funding_usdt == 1.0
    assert driver.ctx.realized_pnl_usdt == pytest.approx(fees_only + 1.0)


def test_a_settlement_of_the_last_cycle_reported_after_its_exit_amends_its_record():
    driver = Driver()
    open_position(driver)
    exit_orders = driver.quotes(3.0, PROFIT)
    (closed,) = [c for c in driver.fill_all(exit_orders, 3.0) if isinstance(c, TradeClosed)]
    out = driver.send(FundingPayment(2.0, 5.0, ledger_id="9"))  # settled at 2, reported at 4
    (amended,) = [c.trade for c in out if isinstance(c, TradeAmended)]
    assert (amended.entry_ts, amended.exit_ts) == (closed.trade.entry_ts, closed.trade.exit_ts)
    assert amended.funding_usdt == 5.0
    assert amended.pnl_usdt == pytest.approx(closed.trade.pnl_usdt + 5.0)
    assert amended.pnl_pct > closed.trade.pnl_pct
    assert driver.ctx.last_trade == amended
    assert driver.ctx.realized_pnl_usdt == pytest.approx(closed.trade.pnl_usdt + 5.0)
    assert driver.ctx.cycle.funding_usdt == 0.0  # not the next cycle's


def test_settlements_older_than_the_newest_applied_are_not_counted_again():
    driver = Driver()
    open_position(driver, now=0.0)
    for n in range(FUNDING_IDS_KEPT + 10):  # more than the ids a context keeps
        driver.send(FundingPayment(1.0 + n, 1.0, ledger_id=str(n)))
    counted = driver.ctx
    assert counted.funding_applied_until == FUNDING_IDS_KEPT + 10.0
    for n in range(FUNDING_IDS_KEPT + 10):  # a restart reads the last day again
        driver.send(FundingPayment(1.0 + n, 1.0, ledger_id=str(n)))
    assert driver.ctx is counted
    assert counted.funding_usdt == FUNDING_IDS_KEPT + 10.0


def test_settlements_at_the_same_time_are_told_apart_by_their_ids():
    driver = Driver()
    open_position(driver)
    driver.send(FundingPayment(2.0, 1.0, ledger_id="a"))
    driver.send(FundingPayment(2.0, 2.0, ledger_id="b"))
    driver.send(FundingPayment(2.0, 1.0, ledger_id="a"))
    assert driver.ctx.funding_usdt == 3.0
    assert driver.ctx.funding_ledger_ids == ("a", "b")


def test_a_snapshot_without_the_funding_watermark_loads():
    stored = msgspec.json.decode(msgspec.json.encode(Driver().ctx))
    del stored["funding_applied_until"], stored["last_trade"]
    ctx = msgspec.json.decode(msgspec.json.encode(stored), type=ArbitrageContext)
    assert (ctx.funding_applied_until, ctx.last_trade) == (None, None)


# ------------------------------------------------------------------------ operator


def test_pause_blocks_entries_and_resume_allows_them_again():
    driver = Driver()
    driver.send(OperatorCommand(1.0, OperatorAction.PAUSE))
    driver.quotes(2.0, ENTRY)
    assert driver.ctx.state is S.PAUSED and placed(driver.commands) == []
    driver.send(OperatorCommand(3.0, OperatorAction.RESUME))
    assert placed(driver.quotes(4.0, ENTRY))


def test_stop_when_flat_stops_at_once_and_with_a_position_closes_it_first():
    flat = Driver()
    flat.quotes(1.0, FLAT)
    flat.send(OperatorCommand(2.0, OperatorAction.STOP))
    assert flat.ctx.state is S.STOPPED
    assert flat.quotes(3.0, ENTRY) == []

    holding = Driver()
    open_position(holding)
    holding.send(OperatorCommand(2.0, OperatorAction.STOP))
    orders = placed(holding.quotes(3.0, FLAT))
    holding.fill_all([PlaceOrder(o) for o in orders])
    assert holding.ctx.state is S.STOPPED and holding.ctx.arbitrage_cycles == 1


def test_client_order_ids_are_unique_deterministic_and_fit_both_venues():
    driver = Driver()
    open_position(driver)
    driver.fill_all(driver.quotes(2.0, PROFIT), 2.0)
    ids = [o.client_id for o in placed(driver.commands)]
    assert ids == ["t1-1s", "t1-2f", "t1-3s", "t1-4f"]


def test_an_unknown_event_is_a_clear_error():
    with pytest.raises(TypeError, match="no rule for str events"):
        step(Driver().ctx, "hello")


def test_orders_name_the_instance_that_sends_them():
    driver = Driver(msgspec.structs.replace(Driver().ctx, instance="k3x9"))
    orders = placed(driver.quotes(1.0, ENTRY))
    assert [o.client_id for o in orders] == ["t1-1s-k3x9", "t1-2f-k3x9"]


# --------------------------------------------------------- resizing while working


def accepted(driver: Driver, *orders) -> None:
    for order in orders:
        driver.send(OrderAccepted(1.0, order.client_id, f"V{order.client_id}"))


def test_a_spot_leg_that_ends_part_filled_brings_the_working_short_down_to_it():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    accepted(driver, buy, sell)
    driver.fill(buy, 0.6, now=1.1)
    commands = driver.final(buy, 0.6, now=1.2)
    (amend,) = [c for c in commands if isinstance(c, AmendOrder)]
    assert (amend.leg, amend.client_id, amend.new_qty) == (Leg.FUTURES, sell.client_id, 0.6)
    assert driver.ctx.active_orders["futures"][sell.client_id].qty == 0.6
    assert driver.ctx.state is S.ENTERING
    # The venue took it: the short fills to the new size and the legs match.
    driver.fill(sell, 0.6, now=1.3)
    driver.final(driver.ctx.active_orders["futures"][sell.client_id], 0.6, now=1.3)
    assert driver.ctx.state is S.POSITION_OPEN
    assert driver.ctx.positions.delta_qty == pytest.approx(0.0)


def test_a_short_that_ends_part_filled_cancels_the_working_spot_buy_mexc_cannot_amend():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    accepted(driver, buy, sell)
    driver.fill(sell, 0.3, now=1.1)
    commands = driver.final(sell, 0.3, now=1.2)
    assert not any(isinstance(c, AmendOrder) for c in commands)
    assert CancelOrder(Leg.SPOT, buy.client_id, BTC) in commands
    # The buy ends having filled 0.5 before the cancel: the correction trims the rest.
    driver.fill(buy, 0.5, now=1.3)
    driver.final(buy, 0.5, now=1.3, status=OrderStatus.CANCELLED)
    assert driver.ctx.state is S.IMBALANCED


def test_a_working_order_already_filled_past_the_other_leg_is_cancelled_not_amended():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    accepted(driver, buy, sell)
    driver.fill(sell, 0.7, now=1.1)
    driver.fill(buy, 0.4, now=1.1)
    commands = driver.final(buy, 0.4, now=1.2)
    assert CancelOrder(Leg.FUTURES, sell.client_id, BTC) in commands
    assert not any(isinstance(c, AmendOrder) for c in commands)


def test_an_order_not_yet_accepted_is_left_to_its_deadline():
    driver = Driver()
    buy, _sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.6, now=1.1)
    commands = driver.final(buy, 0.6, now=1.2)
    assert not any(isinstance(c, (AmendOrder, CancelOrder)) for c in commands)


def test_a_part_filled_exit_leg_brings_the_other_exit_leg_down_so_neither_closes_more():
    driver = Driver()
    open_position(driver)
    sell, buy = placed(driver.quotes(2.0, PROFIT))
    accepted(driver, sell, buy)
    driver.fill(sell, 0.25, now=2.1)
    commands = driver.final(sell, 0.25, now=2.2)
    (amend,) = [c for c in commands if isinstance(c, AmendOrder)]
    assert (amend.leg, amend.new_qty) == (Leg.FUTURES, pytest.approx(0.25))


# ------------------------------------------------------------ corrections' prices


def test_corrections_are_limit_iocs_within_the_slippage_bound_on_both_sides():
    driver = Driver(correction_slippage_pct=0.2, order_type=OrderType.MARKET)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill_all([PlaceOrder(buy)])
    driver.reject(sell)
    # Finishing the short sells futures: at most 0.2 % under the futures bid.
    (finish,) = placed(driver.quotes(2.0, ENTRY))
    assert (finish.leg, finish.side) == (Leg.FUTURES, Side.SELL)
    assert (finish.type, finish.tif) == (OrderType.LIMIT, TimeInForce.IOC)
    assert finish.price == pytest.approx(ENTRY[2] * (1 - 0.002))
    driver.reject(finish)
    # Trimming the spot sells spot: at most 0.2 % under the spot bid.
    (trim,) = placed(driver.quotes(3.0, ENTRY))
    assert (trim.leg, trim.side) == (Leg.SPOT, Side.SELL)
    assert trim.price == pytest.approx(ENTRY[0] * (1 - 0.002))
    assert trim.type is OrderType.LIMIT


def test_a_buying_correction_pays_at_most_the_bound_above_the_ask_on_the_price_grid():
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        params=ArbitrageParams(correction_slippage_pct=0.5),
        rules=LegRules(
            VenueRules(qty_step=0.0001, min_notional=5.0, price_tick=7.0),
            VenueRules(contract_size=0.0001, min_contracts=1, price_tick=7.0),
        ),
    )
    driver = Driver(ctx)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.reject(buy)
    driver.fill_all([PlaceOrder(sell)])
    (finish,) = placed(driver.quotes(2.0, ENTRY))
    assert (finish.leg, finish.side) == (Leg.SPOT, Side.BUY)
    bound = ENTRY[1] * 1.005
    assert finish.price <= bound and bound - finish.price < 7.0
    assert finish.price / 7.0 == pytest.approx(round(finish.price / 7.0))


def test_flattening_prices_both_legs_within_the_slippage_bound():
    driver = half_filled_exit(max_correction_attempts=1, correction_slippage_pct=1.0)
    (correction,) = placed(driver.quotes(3.0, PROFIT))
    driver.reject(correction, now=3.0)
    assert driver.ctx.imbalance_goal == "flatten"
    flatten = {o.leg: o for o in placed(driver.quotes(4.0, PROFIT))}
    assert flatten[Leg.SPOT].price == pytest.approx(PROFIT[0] * 0.99)
    assert flatten[Leg.FUTURES].price == pytest.approx(PROFIT[3] * 1.01)
    assert all(o.type is OrderType.LIMIT for o in flatten.values())


def test_a_regular_exit_keeps_the_configured_order_type_and_the_best_prices():
    driver = Driver(order_type=OrderType.MARKET)
    open_position(driver)
    sell, buy = placed(driver.quotes(2.0, PROFIT))
    assert (sell.type, sell.price, buy.price) == (OrderType.MARKET, PROFIT[0], PROFIT[3])


# ------------------------------------------------------ unhedged notional-seconds


def test_unhedged_exposure_grows_with_time_while_the_legs_differ_and_resets_per_cycle():
    driver = Driver()
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 1.0, now=1.0)
    driver.final(buy, 1.0, now=1.0)
    assert driver.ctx.cycle.unhedged_since == 1.0
    driver.fill(sell, 0.5, now=3.0)  # 1 BTC unhedged for 2 s
    driver.fill(sell, 0.5, now=4.0)  # then 0.5 BTC for 1 s
    driver.final(sell, 1.0, now=4.0)
    cycle = driver.ctx.cycle
    price = 50_000.0
    assert cycle.unhedged_usdt_s == pytest.approx(2.0 * price + 0.5 * price, rel=1e-3)
    assert cycle.longest_unhedged_s == pytest.approx(3.0)
    assert cycle.unhedged_since is None
    # Hedged: holding changes nothing.
    driver.quotes(100.0, FLAT)
    sell2, buy2 = placed(driver.quotes(200.0, PROFIT))
    commands = driver.fill_all([PlaceOrder(sell2), PlaceOrder(buy2)], now=200.0)
    (closed,) = [c for c in commands if isinstance(c, TradeClosed)]
    assert closed.trade.unhedged_usdt_s == pytest.approx(2.5 * price, rel=1e-3)
    assert closed.trade.longest_unhedged_s == pytest.approx(3.0)
    assert driver.ctx.cycle.unhedged_usdt_s == 0.0  # the next cycle starts from nothing
    assert driver.ctx.unhedged_usdt_s == pytest.approx(2.5 * price, rel=1e-3)
    # A second cycle whose legs fill together adds nothing.
    open_position(driver, now=300.0)
    assert driver.ctx.cycle.unhedged_usdt_s == 0.0


def test_old_trade_records_decode_without_the_unhedged_fields():
    old = b'{"symbol":"BTC/USDT","entry_ts":1,"exit_ts":2,"qty":1,"entry_spot_price":1,'
    old += b'"entry_futures_price":1,"exit_spot_price":1,"exit_futures_price":1,"pnl_usdt":0,'
    old += b'"pnl_pct":0,"exit_reason":"profit","fees_usdt":0,"funding_usdt":0}'
    record = msgspec.json.decode(old, type=TradeRecord)
    assert (record.unhedged_usdt_s, record.longest_unhedged_s) == (0.0, 0.0)


@settings(max_examples=200, deadline=None)
@given(
    spot_filled=st.integers(0, 100),
    futures_filled=st.integers(0, 100),
    contract=st.sampled_from([0.01, 0.05, 0.3]),
)
def test_a_working_short_is_never_left_asking_more_than_the_spot_leg_filled(
    spot_filled, futures_filled, contract
):
    """Whatever the spot leg filled when it ended, the short still working is brought to
    it: amended down to the spot fill in whole contracts when it has filled less,
    cancelled when it has filled as much or more; and once it ends as amended the legs
    differ by less than one contract (or by what it filled past the spot leg)."""
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=50_000.0,
        rules=LegRules(
            VenueRules(qty_step=0.01, min_notional=5.0),
            VenueRules(contract_size=contract, min_contracts=1),
        ),
    )
    driver = Driver(ctx)
    buy, sell = placed(driver.quotes(1.0, ENTRY))
    accepted(driver, buy, sell)
    spot_qty = spot_filled / 100.0
    futures_qty = min(round(futures_filled / 100.0 // contract * contract, 8), sell.qty)
    if futures_qty:
        driver.fill(sell, futures_qty, now=1.1)
    if spot_qty:
        driver.fill(buy, spot_qty, now=1.1)
    commands = driver.final(buy, spot_qty, now=1.2)
    resized = [c for c in commands if isinstance(c, (AmendOrder, CancelOrder))]
    if spot_qty >= buy.qty or futures_qty >= sell.qty - 1e-9:
        assert resized == []  # the spot leg filled all it asked, or the short has ended
        return
    (command,) = resized
    target = round(spot_qty // contract * contract, 8)
    if spot_qty - target > contract - 1e-9:
        target += contract
    if isinstance(command, AmendOrder):
        assert futures_qty < command.new_qty - 1e-9
        assert command.new_qty == pytest.approx(target)
        assert command.new_qty <= spot_qty + 1e-9
        left = command.new_qty - futures_qty
        driver.fill(sell, left, now=1.3)
        driver.final(sell, command.new_qty, now=1.3)
        assert -1e-9 <= driver.ctx.positions.delta_qty < contract + 1e-9
    else:
        assert futures_qty >= target - 1e-9
