"""The venue reduces the futures short by itself (auto-deleveraging, a liquidation, a
trade by hand): the strategy takes the venue's figure and sells the spot leg down to
match, or whole when the short is gone."""

from __future__ import annotations

import pytest

from actors.arbitrage.context import ArbitrageParams, ArbitrageState, LegRules, new_context
from actors.arbitrage.machine import GOAL_MATCH, VENUE_REDUCED
from protocols.history import FillRecord
from protocols.messages import Alert, RiskModeChange, TradeClosed, VenuePositionChanged
from protocols.model import Leg, RiskMode, Side, VenueRules
from tests.unit.arbitrage.harness import BTC, ENTRY, FLAT, Driver, placed

S = ArbitrageState
MARK = 49_900.0


def opened() -> Driver:
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    assert driver.ctx.state is S.POSITION_OPEN
    return driver


def reduced(held: float, venue: float, now: float = 2.0) -> VenuePositionChanged:
    return VenuePositionChanged(now, Leg.FUTURES, BTC, held, venue, MARK, "position push")


def test_a_partly_reduced_short_sells_the_spot_leg_down_to_match_and_keeps_the_position():
    driver = opened()
    short = driver.ctx.positions.futures.qty
    entry = driver.ctx.positions.futures.avg_price
    realized_before = driver.ctx.realized_pnl_usdt
    commands = driver.send(reduced(short, 0.6))
    ctx = driver.ctx
    assert ctx.state is S.IMBALANCED and ctx.imbalance_goal == GOAL_MATCH
    assert ctx.positions.futures.qty == pytest.approx(0.6)
    assert ctx.realized_pnl_usdt - realized_before == pytest.approx((short - 0.6) * (entry - MARK))
    [alert, *_] = [c for c in commands if isinstance(c, Alert)]
    assert alert.level == "error"
    assert f"went from {short:g} to 0.6 without an order of ours" in alert.message
    assert "spot leg is being unwound" in alert.message
    assert ctx.venue_reduction is not None and ctx.venue_reduction.to_qty == pytest.approx(0.6)
    [sell] = placed(driver.quotes(3.0, FLAT))
    assert (sell.leg, sell.side) == (Leg.SPOT, Side.SELL)
    assert sell.qty == pytest.approx(driver.ctx.positions.spot.qty - 0.6)
    driver.fill_all([*driver.commands[-1:]], now=3.0)
    assert driver.ctx.state is S.POSITION_OPEN
    assert driver.ctx.exit_reason is None
    assert driver.ctx.positions.spot.qty == pytest.approx(0.6, abs=1e-4)


def test_while_halted_the_alert_says_the_unwind_waits_and_it_follows_once_orders_are_allowed():
    driver = opened()
    driver.send(RiskModeChange(1.5, RiskMode.HALTED, "a test"))
    short = driver.ctx.positions.futures.qty
    [alert, *_] = [c for c in driver.send(reduced(short, 0.6)) if isinstance(c, Alert)]
    assert "is being unwound" not in alert.message
    assert "once the risk mode allows orders" in alert.message
    assert placed(driver.quotes(3.0, FLAT)) == []  # halted: nothing new at all
    driver.send(RiskModeChange(4.0, RiskMode.REDUCING, "a test"))
    [sell] = placed(driver.quotes(5.0, FLAT))
    assert (sell.leg, sell.side) == (Leg.SPOT, Side.SELL)


def test_the_legs_count_as_unhedged_from_the_venues_move_until_the_spot_matches():
    driver = opened()
    driver.send(reduced(driver.ctx.positions.futures.qty, 0.6, now=2.0))
    [sell] = placed(driver.quotes(5.0, FLAT))  # no quotes for 3 s: nothing sold meanwhile
    driver.fill_all([*driver.commands[-1:]], now=6.0)
    assert driver.ctx.state is S.POSITION_OPEN
    differ = driver.ctx.positions.spot.qty + sell.qty - 0.6
    price = max(driver.ctx.positions.spot.avg_price, driver.ctx.positions.futures.avg_price)
    cycle = driver.ctx.cycle
    assert cycle.unhedged_usdt_s == pytest.approx(differ * price * 4.0, rel=0.01)
    assert cycle.longest_unhedged_s == pytest.approx(4.0)


def test_a_small_reduction_sells_the_spot_step_below_the_difference_and_nothing_more():
    # Spot trades in steps of 0.001, the short in contracts of 0.0001: the venue takes
    # 25 contracts; the spot sells the 0.002 below that, and the 0.0005 left is dust
    # (rounding up would sell 0.003 and buy back a short the venue left alone).
    rules = LegRules(
        VenueRules(qty_step=0.001, min_notional=5.0),
        VenueRules(contract_size=0.0001, min_contracts=1),
    )
    ctx = new_context(
        "t1", BTC, now=0.0, base_position_size_usdt=50_000.0, params=ArbitrageParams(), rules=rules
    )
    driver = Driver(ctx)
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    driver.send(reduced(driver.ctx.positions.futures.qty, 0.9975))
    [sell] = placed(driver.quotes(3.0, FLAT))
    assert (sell.leg, sell.side, sell.qty) == (Leg.SPOT, Side.SELL, pytest.approx(0.002))
    driver.fill_all([*driver.commands[-1:]], now=3.0)
    assert placed(driver.quotes(4.0, FLAT)) == []
    assert driver.ctx.state is S.POSITION_OPEN and driver.ctx.paused_reason is None
    assert driver.ctx.positions.spot.qty == pytest.approx(0.998)
    assert driver.ctx.positions.futures.qty == pytest.approx(0.9975)


def test_a_short_the_venue_closed_whole_sells_the_spot_leg_whole_and_ends_the_cycle():
    driver = opened()
    short = driver.ctx.positions.futures.qty
    driver.send(reduced(short, 0.0))
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.exit_reason == VENUE_REDUCED
    [sell] = placed(driver.quotes(3.0, FLAT))
    assert (sell.leg, sell.side, sell.qty) == (Leg.SPOT, Side.SELL, driver.ctx.positions.spot.qty)
    out = driver.fill_all([*driver.commands[-1:]], now=3.0)
    assert driver.ctx.state is S.MONITORING
    [closed] = [c.trade for c in out if isinstance(c, TradeClosed)]
    assert closed.exit_reason == VENUE_REDUCED
    assert closed.exit_futures_price == MARK


def test_a_report_about_another_holding_than_the_strategys_changes_nothing():
    driver = opened()
    before = driver.ctx
    short = before.positions.futures.qty
    assert driver.send(reduced(short + 0.5, 0.0)) == []
    assert driver.ctx is before
    # Nor does one saying the venue holds as much, or more.
    assert driver.send(reduced(short, short + 1.0)) == []
    assert driver.ctx is before


def test_during_an_entry_the_legs_settle_first_then_only_closing_orders_correct():
    driver = Driver()
    spot_buy, futures_sell = placed(driver.quotes(1.0, ENTRY))
    driver.fill(futures_sell, now=1.0)
    driver.final(futures_sell, futures_sell.qty, now=1.0)
    driver.send(reduced(futures_sell.qty, 0.4))
    assert driver.ctx.state is S.ENTERING
    driver.fill(spot_buy, now=1.5)
    driver.final(spot_buy, spot_buy.qty, now=1.5)
    assert driver.ctx.state is S.IMBALANCED and driver.ctx.imbalance_goal == GOAL_MATCH
    [sell] = placed(driver.quotes(2.0, FLAT))
    assert (sell.leg, sell.side) == (Leg.SPOT, Side.SELL)


def test_at_rest_the_leg_is_corrected_and_told_without_trading():
    driver = Driver()
    ctx = driver.ctx.evolve(positions__futures__qty=0.5, positions__futures__avg_price=100.0)
    driver = Driver(ctx)
    [record, alert] = driver.send(reduced(0.5, 0.0))
    assert isinstance(alert, Alert) and "no position was open" in alert.message
    assert driver.ctx.state is ctx.state and driver.ctx.positions.futures.qty == 0.0
    # Its P&L joins the totals the next cycle starts from, and its record is that cycle's.
    assert isinstance(record, FillRecord) and (record.role, record.cycle) == ("venue", 1)
    assert driver.ctx.cycle.realized_usdt == pytest.approx(0.5 * (100.0 - MARK))
