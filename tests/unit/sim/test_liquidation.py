"""The perpetual venue closing positions by itself: liquidation once the mark price
crosses the liquidation price, auto-deleveraging on command, and the price run that
takes the mark somewhere."""

from __future__ import annotations

import pytest

from actors.sim import FinishReason, OrderUpdated, PositionChanged, SimVenues
from actors.sim.events import PositionDeleveraged, PositionLiquidated
from actors.sim.ledger import Deleveraged, Liquidated
from protocols.model import Leg, OrderStatus, OrderType, Side
from protocols.venue import InvalidParameter

from .helpers import COIN, T0, Recorder, bids, venues

SIZE = 0.1  # COIN per contract


def short(v: SimVenues, contracts: int, leverage: float = 1.0) -> None:
    v.futures.set_leverage(COIN, leverage)
    v.futures.place_order(COIN, Side.SELL, OrderType.MARKET, contracts, now=T0)


def run_to(v: SimVenues, price: float, seconds: float) -> None:
    """Run the mark to ``price`` over ``seconds``, the market advanced each second."""
    v.run_price(COIN, price, seconds)
    start = v.now
    for second in range(1, round(seconds) + 2):
        v.advance(start + second)


def test_a_price_run_takes_the_mark_there_and_spot_along_with_it():
    v = venues()
    basis = v.market.mark_price(COIN) / v.market.spot_mid(COIN)
    run_to(v, 130.0, 5.0)
    assert v.market.mark_price(COIN) == pytest.approx(130.0)
    assert v.market.mark_price(COIN) / v.market.spot_mid(COIN) == pytest.approx(basis)
    v.advance(T0 + 60.0)  # the run is over: the still coin stays where it got to
    assert v.market.mark_price(COIN) == pytest.approx(130.0)
    with pytest.raises(ValueError, match="price > 0 and seconds > 0"):
        v.run_price(COIN, 130.0, 0.0)


def test_a_mark_crossing_the_liquidation_price_liquidates_the_short_at_its_bankruptcy_price():
    v = venues()
    short(v, 100, leverage=20.0)
    below = bids(v, Leg.FUTURES)[-1].price
    stop = v.futures.place_order(
        COIN, Side.BUY, OrderType.LIMIT, 100, price=below, reduce_only=True, now=T0
    )
    held = v.futures.position(COIN)
    wallet = v.futures.account().total
    events = Recorder()
    v.futures.add_listener(events)
    run_to(v, held.liq_price * 0.995, 3.0)
    assert v.futures.ledger.liquidations() == []  # short of it: nothing happens
    run_to(v, held.liq_price * 1.01, 3.0)

    [liquidation] = v.futures.ledger.liquidations(COIN)
    assert (liquidation.contracts, liquidation.qty) == (-100, pytest.approx(-10.0))
    assert liquidation.mark_price >= liquidation.liq_price == pytest.approx(held.liq_price)
    assert liquidation.margin == pytest.approx(held.margin)
    # Closed at the bankruptcy price: the whole margin is lost, nothing more.
    assert liquidation.price == pytest.approx(held.entry_price + held.margin / 10.0)
    assert v.futures.account().total == pytest.approx(wallet - held.margin)
    assert v.futures.position(COIN).contracts == 0
    assert v.futures.ledger.fills(COIN)[-1].side is Side.SELL  # no order of the account's
    ended = v.futures.order(venue_order_id=stop.venue_order_id, now=T0 + 10.0)
    assert (ended.status, ended.finish_reason) == (OrderStatus.CANCELLED, FinishReason.LIQUIDATED)
    # The order's end, the liquidation, then the position, as the venue pushes them.
    kinds = [type(e) for e in events.events if not isinstance(e, PositionChanged)]
    assert kinds == [OrderUpdated, PositionLiquidated]
    assert events.of(PositionChanged)[-1].position.contracts == 0
    entries = [e for e in v.futures.ledger.entries() if isinstance(e, Liquidated)]
    assert [e.liquidation for e in entries] == [liquidation]


def test_a_short_at_leverage_one_outlives_a_fifty_percent_run():
    v = venues()
    short(v, 100)
    assert v.futures.position(COIN).liq_price > 1.98 * v.futures.position(COIN).entry_price
    run_to(v, 150.0, 3.0)
    assert v.futures.ledger.liquidations() == []
    assert v.futures.position(COIN).contracts == -100


def test_auto_deleveraging_takes_contracts_off_at_the_mark_without_an_order():
    v = venues()
    short(v, 30)
    entry = v.futures.position(COIN).entry_price
    wallet = v.futures.account().total
    events = Recorder()
    v.futures.add_listener(events)
    mark = v.market.mark_price(COIN)
    deleverage = v.auto_deleverage(COIN, 10)
    assert (deleverage.trade_contracts, deleverage.position_contracts) == (10, -20)
    assert (deleverage.price, deleverage.trade_qty, deleverage.signed_qty) == (
        mark,
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert v.futures.position(COIN).contracts == -20
    assert v.futures.account().total == pytest.approx(wallet + 1.0 * (entry - mark))
    assert [e.deleverage for e in events.of(PositionDeleveraged)] == [deleverage]
    assert events.of(PositionChanged)[-1].position.contracts == -20
    assert [e.deleverage for e in v.futures.ledger.entries() if isinstance(e, Deleveraged)] == [
        deleverage
    ]
    assert len(v.futures.ledger.fills(COIN)) == 1  # the opening sell only


def test_deleveraging_all_of_it_ends_the_reduce_only_orders_left_with_nothing_to_reduce():
    v = venues()
    short(v, 30)
    below = bids(v, Leg.FUTURES)[-1].price
    stop = v.futures.place_order(
        COIN, Side.BUY, OrderType.LIMIT, 30, price=below, reduce_only=True, now=T0
    )
    assert v.auto_deleverage(COIN).position_contracts == 0
    ended = v.futures.order(venue_order_id=stop.venue_order_id, now=T0)
    assert ended.finish_reason is FinishReason.REDUCE_ONLY


@pytest.mark.parametrize(
    ("held", "contracts", "says"),
    [
        (0, None, "no position to deleverage"),
        (30, 0, "deleverage 1..30 contracts"),
        (30, 31, "deleverage 1..30 contracts"),
    ],
)
def test_a_deleveraging_that_cannot_be_is_refused(held, contracts, says):
    v = venues()
    if held:
        short(v, held)
    with pytest.raises(InvalidParameter, match=says):
        v.auto_deleverage(COIN, contracts)
