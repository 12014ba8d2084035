"""The perpetual venue: contracts, positions and P&L, reduce-only, margin, funding,
Gate.io's client id rules."""

from __future__ import annotations

import msgspec
import pytest

from actors.sim import (
    FinishReason,
    FundingApplied,
    OrderUpdated,
    PositionChanged,
    SimVenues,
    TradeExecuted,
)
from protocols.model import Leg, OrderStatus, OrderType, Side, TimeInForce
from protocols.venue import (
    BelowMinimum,
    DuplicateClientId,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    ReduceOnlyViolated,
    UnknownOrder,
)

from .helpers import COIN, T0, Recorder, asks, bids, coin, config, fills_of, venues

LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
BUY, SELL = Side.BUY, Side.SELL
IOC = TimeInForce.IOC
TAKER, MAKER = 0.0005, 0.0002  # the Gate.io defaults
SIZE = 0.1  # COIN per contract


def short(v: SimVenues, contracts: int, client_id: str | None = None):
    return v.futures.place_order(COIN, SELL, MARKET, contracts, client_id=client_id, now=T0)


def test_a_market_sell_opens_a_short_in_contracts():
    v = venues()
    bid = bids(v, Leg.FUTURES)[0]
    order = short(v, 30, "t-open")
    assert (order.contracts, order.filled_contracts, order.qty) == (30, 30, 3.0)
    position = v.futures.position(COIN)
    assert (position.contracts, position.qty) == (-30, -3.0)
    assert position.entry_price == bid.price
    assert position.margin == pytest.approx(3.0 * v.market.mark_price(COIN))
    fee = 3.0 * bid.price * TAKER
    assert position.fees == pytest.approx(fee)
    assert v.futures.account().total == pytest.approx(100_000.0 - fee)
    assert v.futures.ledger.fills(COIN)[0].contracts == 30


def test_the_entry_price_averages_the_levels_a_position_was_opened_on():
    v = venues()
    top, second = bids(v, Leg.FUTURES)[:2]
    short(v, 150)
    expected = (100 * top.price + 50 * second.price) / 150
    assert v.futures.position(COIN).entry_price == pytest.approx(expected, rel=1e-12)


def test_closing_realises_the_price_difference_and_flipping_restarts_the_entry():
    v = venues()
    sold_at = bids(v, Leg.FUTURES)[0].price
    bought_at = asks(v, Leg.FUTURES)[0].price
    short(v, 30)
    v.futures.place_order(COIN, BUY, MARKET, 50, now=T0)
    position = v.futures.position(COIN)
    assert position.realised_pnl == pytest.approx(30 * SIZE * (sold_at - bought_at))
    assert position.contracts == 20 and position.entry_price == bought_at
    fees = 3.0 * sold_at * TAKER + 5.0 * bought_at * TAKER
    assert v.futures.account().total == pytest.approx(100_000.0 + position.realised_pnl - fees)


def test_reduce_only_needs_a_position_to_reduce():
    v = venues()
    with pytest.raises(ReduceOnlyViolated, match="position of 0"):
        v.futures.place_order(COIN, BUY, MARKET, 10, reduce_only=True, now=T0)
    short(v, 30)
    with pytest.raises(ReduceOnlyViolated, match="position of -30"):
        v.futures.place_order(COIN, SELL, MARKET, 10, reduce_only=True, now=T0)
    assert len(v.futures.ledger.accepted_orders()) == 1


def test_a_reduce_only_order_larger_than_the_position_is_trimmed_to_it():
    v = venues()
    short(v, 30)
    order = v.futures.place_order(COIN, BUY, MARKET, 50, reduce_only=True, client_id="t-x", now=T0)
    assert order.filled_contracts == 30
    assert order.status is OrderStatus.CANCELLED
    assert order.finish_reason is FinishReason.REDUCE_ONLY
    assert order.reduce_only
    assert v.futures.position(COIN).contracts == 0


def test_a_resting_reduce_only_order_is_cancelled_once_its_position_is_gone():
    v = venues()
    recorder = Recorder()
    v.futures.add_listener(recorder)
    short(v, 30)
    resting = v.futures.place_order(COIN, BUY, LIMIT, 30, price=99.0, reduce_only=True, now=T0)
    assert resting.status is OrderStatus.NEW
    assert v.futures.account().order_margin == 0.0  # reducing needs no margin
    recorder.events.clear()
    v.futures.place_order(COIN, BUY, MARKET, 30, now=T0 + 1)
    order = v.futures.order(venue_order_id=resting.venue_order_id, now=T0 + 1)
    assert order.status is OrderStatus.CANCELLED
    assert order.finish_reason is FinishReason.REDUCE_ONLY
    assert v.futures.open_orders() == []
    updates = [e.order.venue_order_id for e in recorder.of(OrderUpdated)]
    assert resting.venue_order_id in updates


def test_a_resting_order_fills_as_maker_when_a_dislocation_crosses_it():
    v = venues()
    recorder = Recorder()
    v.futures.add_listener(recorder)
    order = v.futures.place_order(COIN, SELL, LIMIT, 40, price=100.5, client_id="t-r", now=T0)
    assert order.status is OrderStatus.NEW
    margin = 4.0 * 100.5 * (1 + TAKER)
    assert v.futures.account().order_margin == pytest.approx(margin)
    recorder.events.clear()
    v.dislocate(COIN, 0.01)  # the perpetual jumps to 101: its bids cross 100.5
    order = v.futures.order(client_id="t-r", now=T0)
    assert order.status is OrderStatus.FILLED
    (fill,) = fills_of(v.futures.ledger, order)
    assert fill.is_maker and fill.price == 100.5
    assert fill.fee == pytest.approx(4.0 * 100.5 * MAKER)
    assert v.futures.position(COIN).contracts == -40
    assert v.futures.account().order_margin == 0.0
    assert [type(e) for e in recorder.events] == [TradeExecuted, OrderUpdated, PositionChanged]


def futures_with(**fields):
    return config(futures=msgspec.structs.replace(config().futures, **fields))


def test_margin_must_cover_what_an_order_opens():
    v = venues(futures_with(balance_usdt=1_000.0))
    # 100 contracts = 10 COIN = 1,000 USDT at leverage 1, plus the fee: more than 1,000.
    with pytest.raises(InsufficientBalance, match="leverage 1"):
        v.futures.place_order(COIN, SELL, LIMIT, 100, price=100.0, now=T0)
    v = venues(futures_with(balance_usdt=1_000.0, leverage=5.0))
    v.futures.place_order(COIN, SELL, LIMIT, 100, price=100.0, now=T0)
    position = v.futures.position(COIN)
    assert position.leverage == 5.0
    assert position.margin == pytest.approx(10.0 * v.market.mark_price(COIN) / 5.0)
    # Closing needs no margin, even with the account's margin all used.
    v.futures.place_order(COIN, BUY, MARKET, 100, now=T0)
    assert v.futures.position(COIN).contracts == 0


def test_margin_held_by_resting_orders_counts_against_new_ones():
    v = venues(config(futures=msgspec.structs.replace(config().futures, balance_usdt=1_000.0)))
    v.futures.place_order(COIN, SELL, LIMIT, 60, price=101.0, now=T0)  # 606.3 USDT held
    with pytest.raises(InsufficientBalance):
        v.futures.place_order(COIN, SELL, LIMIT, 60, price=101.0, now=T0)
    account = v.futures.account()
    assert account.available == pytest.approx(1_000.0 - 6.0 * 101.0 * (1 + TAKER))


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"contracts": 1.5}, InvalidPrecision, "whole number"),
        ({"contracts": 0}, InvalidParameter, "> 0"),
        ({"price": 100.001}, InvalidPrecision, "tick"),
        ({"client_id": "no-prefix"}, InvalidParameter, "does not match"),
        ({"client_id": "t-" + "x" * 29}, InvalidParameter, "does not match"),
    ],
)
def test_venue_rules_are_checked_on_placement(kwargs, error, says):
    v = venues()
    order = {"contracts": 1, "price": 99.0, "client_id": None} | kwargs
    with pytest.raises(error, match=says) as raised:
        v.futures.place_order(COIN, BUY, LIMIT, order.pop("contracts"), now=T0, **order)
    assert raised.value.exchange == "gateio"


def test_orders_below_the_minimum_contracts_are_refused():
    rules = msgspec.structs.replace(coin().futures_rules, min_contracts=5)
    v = venues(config(coin(futures_rules=rules)))
    with pytest.raises(BelowMinimum, match="minimum of 5 contracts"):
        v.futures.place_order(COIN, BUY, LIMIT, 4, price=99.0, now=T0)
    v.futures.place_order(COIN, BUY, LIMIT, 5, price=99.0, now=T0)


def test_a_finished_order_is_found_by_client_id_for_60_seconds_only():
    v = venues()
    order = short(v, 10, "t-window")
    assert v.futures.order(client_id="t-window", now=T0 + 60.0) == order
    with pytest.raises(UnknownOrder):
        v.futures.order(client_id="t-window", now=T0 + 60.5)
    assert v.futures.order(venue_order_id=order.venue_order_id, now=T0 + 86_400.0) == order
    with pytest.raises(DuplicateClientId):  # forgotten for queries, not for reuse
        short(v, 10, "t-window")


def test_an_open_order_is_found_by_client_id_however_old():
    v = venues()
    v.futures.place_order(COIN, BUY, LIMIT, 10, price=99.0, client_id="t-open", now=T0)
    later = T0 + 86_400.0
    assert v.futures.order(client_id="t-open", now=later).status is OrderStatus.NEW
    assert v.futures.cancel_order(client_id="t-open", now=later).status is OrderStatus.CANCELLED


def test_funding_is_paid_on_the_position_held_at_each_settlement():
    v = venues()
    recorder = Recorder()
    v.futures.add_listener(recorder)
    short(v, 30)
    total = v.futures.account().total
    settlement_ts = 1_700_006_400.0
    v.advance(settlement_ts + 1.0)
    (event,) = recorder.of(FundingApplied)
    payment = event.payment
    assert payment.ts == settlement_ts and payment.contracts == -30
    (settlement,) = v.market.funding_history(COIN)
    assert payment.rate == settlement.rate == pytest.approx(0.0001)  # the interest rate
    # A short receives a positive rate on its notional at the mark price.
    assert payment.amount == pytest.approx(30 * SIZE * settlement.mark_price * settlement.rate)
    assert payment.amount > 0.0
    assert v.futures.account().total == pytest.approx(total + payment.amount)
    assert v.futures.position(COIN).funding_pnl == payment.amount
    assert v.futures.ledger.funding() == [payment]


def test_no_funding_without_a_position():
    v = venues()
    v.advance(1_700_006_400.0 + 3 * 8 * 3600.0)
    assert len(v.market.funding_history(COIN)) == 4
    assert v.futures.ledger.funding() == []
    assert v.futures.account().total == 100_000.0


def test_leverage_must_be_within_the_venues_range():
    for bad in (0.5, 101.0):
        with pytest.raises(ValueError, match=r"leverage must be within 1\.\.max_leverage"):
            futures_with(leverage=bad)


def test_leverage_is_set_per_contract_within_its_maximum():
    v = venues(futures_with(contract_max_leverage={"COIN/USDT": 5.0}))
    assert v.futures.set_leverage(COIN, 4.0).leverage == 4.0
    short(v, 30)
    # Opening now ties up a quarter of the notional.
    position = v.futures.position(COIN)
    assert position.margin == pytest.approx(3.0 * v.market.mark_price(COIN) / 4.0)
    for leverage, label in ((6.0, "LEVERAGE_TOO_HIGH"), (0.0, "LEVERAGE_TOO_LOW")):
        with pytest.raises(InvalidParameter) as refused:
            v.futures.set_leverage(COIN, leverage)
        assert refused.value.code == label
    assert v.futures.position(COIN).leverage == 4.0


def test_a_contract_maximum_must_be_a_symbol_within_the_venues_range():
    with pytest.raises(ValueError, match="contract_max_leverage COIN/USDT = 200"):
        futures_with(contract_max_leverage={"COIN/USDT": 200.0})


def test_ioc_limit_orders_take_up_to_their_price():
    v = venues()
    top = bids(v, Leg.FUTURES)[0]
    order = v.futures.place_order(COIN, SELL, LIMIT, 250, price=top.price, tif=IOC, now=T0)
    assert order.filled_contracts == round(top.qty / SIZE)
    assert order.status is OrderStatus.EXPIRED
    assert order.finish_reason is FinishReason.IOC
