"""The portfolio the risk actor holds: the room its caps and the venues' balances leave
for an entry, orders in flight counted, and what entries placed since the last balance
read will spend."""

from __future__ import annotations

import pytest

from actors.arbitrage.context import ArbitrageParams, ArbitrageState, Positions, new_context
from actors.arbitrage.exposure import exposure_of
from actors.risk.caps import Balances
from actors.risk.config import RiskConfig
from actors.runtime.risk.portfolio import Portfolio
from protocols.model import Leg, LegPosition, Order, OrderType, Side, Symbol

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
CONFIG = RiskConfig(
    max_symbol_notional_usdt=1000.0,
    max_venue_notional_usdt=1500.0,
    max_total_notional_usdt=4000.0,
)
PARAMS = ArbitrageParams(spot_fee=0.001, fut_fee=0.0005)


def strategy(task_id: str, symbol: Symbol = BTC, held_usdt: float = 0.0, leverage: float = 1.0):
    price = 100.0
    ctx = new_context(task_id, symbol, now=1.0, params=PARAMS, futures_leverage=leverage)
    if held_usdt:
        qty = held_usdt / price
        ctx = ctx.evolve(
            state=ArbitrageState.POSITION_OPEN,
            positions=Positions(LegPosition(qty, price), LegPosition(qty, price)),
        )
    return ctx


def entering(ctx, usdt: float):
    """``ctx`` with an entry's two orders in flight, nothing filled yet."""
    qty = usdt / 100.0
    buy = Order(f"{ctx.task_id}b", Leg.SPOT, ctx.symbol, Side.BUY, qty, 100.0, OrderType.LIMIT)
    sell = Order(f"{ctx.task_id}s", Leg.FUTURES, ctx.symbol, Side.SELL, qty, 100.0, OrderType.LIMIT)
    return ctx.evolve(
        state=ArbitrageState.ENTERING,
        active_orders={"spot": {buy.client_id: buy}, "futures": {sell.client_id: sell}},
    )


def test_the_room_is_the_tightest_cap_left_per_leg():
    portfolio = Portfolio(CONFIG)
    portfolio.publish(strategy("a", BTC, held_usdt=300.0))  # 600 of BTC's 1000, both legs
    fresh = strategy("b", BTC)
    portfolio.publish(fresh)
    limits = portfolio.limits_for(fresh)
    assert limits.room_usdt == pytest.approx(200.0)  # (1000 - 600) / 2 per leg
    assert "max_symbol_notional_usdt 1000 for BTC/USDT" in limits.reason
    # With room on the symbols, a venue's cap binds: 1500 less what both symbols hold there.
    wide = Portfolio(RiskConfig(max_symbol_notional_usdt=5000.0, max_venue_notional_usdt=1500.0))
    wide.publish(strategy("a", BTC, held_usdt=300.0))
    wide.publish(strategy("c", ETH, held_usdt=900.0))
    eth = strategy("d", ETH)
    wide.publish(eth)
    limits = wide.limits_for(eth)
    assert limits.room_usdt == pytest.approx(1500.0 - 1200.0)
    assert "max_venue_notional_usdt 1500 on mexc" in limits.reason


def test_orders_in_flight_count_as_exposure_until_they_end():
    portfolio = Portfolio(CONFIG)
    other = strategy("b", BTC)
    portfolio.publish(other)
    a = strategy("a", BTC)
    portfolio.publish(entering(a, 400.0))  # journaled, nothing filled
    assert portfolio.totals.per_symbol["BTC/USDT"] == pytest.approx(800.0)
    assert portfolio.limits_for(other).room_usdt == pytest.approx(100.0)
    portfolio.publish(a)  # the orders ended unfilled: the room is back
    assert portfolio.limits_for(other).room_usdt == pytest.approx(500.0)


def test_a_balance_shortfall_on_one_venue_leaves_no_room():
    portfolio = Portfolio(CONFIG)
    ctx = strategy("a")
    portfolio.publish(ctx)
    portfolio.balances_read(Balances({"mexc": 5000.0}, {"gateio_futures": 0.0}), now=1.0)
    limits = portfolio.limits_for(ctx)
    assert limits.room_usdt == 0.0
    assert "available margin on gateio_futures" in limits.reason
    # Spot pays the notional and its fee, futures the margin at the leverage and its fee.
    portfolio.balances_read(Balances({"mexc": 100.1}, {"gateio_futures": 5000.0}), now=2.0)
    assert portfolio.limits_for(ctx).room_usdt == pytest.approx(100.0)
    levered = strategy("b", leverage=5.0)
    portfolio.publish(levered)
    portfolio.balances_read(Balances({"mexc": 5000.0}, {"gateio_futures": 41.0}), now=3.0)
    assert portfolio.limits_for(levered).room_usdt == pytest.approx(41.0 / (0.2 + 0.0005))


def test_entries_placed_between_two_reads_cannot_spend_the_same_balance():
    portfolio = Portfolio(RiskConfig())
    a, b = strategy("a", BTC), strategy("b", ETH)
    portfolio.publish(a)
    portfolio.publish(b)
    portfolio.balances_read(Balances({"mexc": 150.0}, {"gateio_futures": 5000.0}), now=1.0)
    assert portfolio.limits_for(b).room_usdt == pytest.approx(150.0 / 1.001)
    placed = entering(a, 100.0)  # a will spend 100.1 of the 150 before the next read
    portfolio.publish(placed)
    assert portfolio.limits_for(b).room_usdt == pytest.approx((150.0 - 100.1) / 1.001)
    filled = placed.evolve(
        state=ArbitrageState.POSITION_OPEN,
        active_orders={},
        positions=Positions(LegPosition(1.0, 100.0), LegPosition(1.0, 100.0)),
    )
    portfolio.publish(filled)  # filled before the next read: spent, no longer in flight
    left = portfolio.balances_now()
    assert left.spot_free_usdt["mexc"] == pytest.approx(150.0 - 100.1)
    assert left.futures_available_usdt["gateio_futures"] == pytest.approx(5000.0 - 100.05)
    assert portfolio.limits_for(b).room_usdt == pytest.approx((150.0 - 100.1) / 1.001)
    # The next read shows the spend itself: it is not subtracted twice.
    portfolio.balances_read(Balances({"mexc": 49.9}, {"gateio_futures": 4899.95}), now=6.0)
    assert portfolio.balances_now().spot_free_usdt["mexc"] == pytest.approx(49.9)
    assert portfolio.limits_for(b).room_usdt == pytest.approx(49.9 / 1.001)


def test_a_removed_strategy_frees_its_room_and_keeps_its_realised_pnl():
    portfolio = Portfolio(CONFIG)
    held = strategy("a", BTC, held_usdt=500.0).evolve(realized_pnl_usdt=-3.0)
    assert portfolio.publish(held) is True
    assert portfolio.publish(held) is False  # no cycle closed since
    portfolio.forget("a")
    assert portfolio.totals.total == 0.0
    assert portfolio.realized == {"a": -3.0}


def test_a_quote_that_changes_nothing_reads_the_room_kept_since_anything_changed():
    """The room is read on every quote while a strategy looks for an entry: kept until
    any strategy's exposure or the balances change, however many strategies run."""
    portfolio = Portfolio(CONFIG)
    others = [strategy(f"o{n}", ETH) for n in range(200)]
    for other in others:
        portfolio.publish(other)
    ctx = strategy("a", BTC)
    portfolio.publish(ctx)
    portfolio.balances_read(Balances({"mexc": 500.0}, {"gateio_futures": 5000.0}), now=1.0)
    first = portfolio.limits_for(ctx)
    assert portfolio.limits_for(ctx) is first
    assert portfolio.balances_now() is portfolio.balances_now()
    portfolio.publish(entering(others[0], 100.0))  # another strategy's entry: read afresh
    assert portfolio.limits_for(ctx).room_usdt == pytest.approx((500.0 - 100.1) / 1.001)
    portfolio.balances_read(Balances({"mexc": 300.0}, {"gateio_futures": 5000.0}), now=2.0)
    assert portfolio.limits_for(ctx).room_usdt == pytest.approx((300.0 - 100.1) / 1.001)


def test_the_other_instances_tasks_count_against_the_caps_with_their_orders_in_flight():
    # A cluster: instance B trades ETH and enters on BTC's second task while this one
    # trades BTC's first; the store's view of B's tasks counts with this instance's own.
    portfolio = Portfolio(CONFIG)
    ours = strategy("a", BTC, held_usdt=200.0)
    portfolio.publish(ours)
    theirs = {
        "b": exposure_of(entering(strategy("b", BTC), 200.0)),
        "c": exposure_of(strategy("c", ETH, held_usdt=900.0)),
    }
    portfolio.set_others(theirs)
    assert portfolio.totals.per_symbol["BTC/USDT"] == pytest.approx(800.0)
    assert portfolio.limits_for(ours).room_usdt == pytest.approx(100.0)  # (1000 - 800) / 2
    # B's entry ended unfilled, and B stopped trading ETH (the store shows it closed).
    portfolio.set_others({"b": exposure_of(strategy("b", BTC))})
    assert portfolio.totals.per_symbol == {"BTC/USDT": pytest.approx(400.0)}
    assert set(portfolio.totals.by_task) == {"a", "b"}


def test_a_task_taken_over_is_this_instances_own_from_its_first_decision():
    portfolio = Portfolio(CONFIG)
    portfolio.set_others({"b": exposure_of(strategy("b", BTC, held_usdt=300.0))})
    taken = strategy("b", BTC, held_usdt=100.0)  # its newer state, decided here
    portfolio.publish(taken)
    portfolio.set_others({"b": exposure_of(strategy("b", BTC, held_usdt=300.0))})  # stale
    assert portfolio.totals.per_symbol["BTC/USDT"] == pytest.approx(200.0)
    portfolio.forget("b")  # its lease lost: the store's view is all there is again
    portfolio.set_others({"b": exposure_of(strategy("b", BTC, held_usdt=300.0))})
    assert portfolio.totals.per_symbol["BTC/USDT"] == pytest.approx(600.0)
