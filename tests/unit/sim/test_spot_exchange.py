"""The spot venue: matching, fees, balances, rules, client ids, cancel, queries, events."""

from __future__ import annotations

import random
from decimal import Decimal

import msgspec
import pytest

from actors.sim import (
    BalanceChanged,
    FillExecuted,
    FinishReason,
    OrderAccepted,
    OrderFinished,
    OrderUpdated,
    PriceProcessParams,
    SimMarket,
    SpotExchange,
    SpotVenueConfig,
    TradeExecuted,
)
from protocols.model import Leg, OrderStatus, OrderType, Side, Symbol, TimeInForce
from protocols.venue import (
    Balance,
    BelowMinimum,
    DuplicateClientId,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    OrderAlreadyFinal,
    RateLimited,
    UnknownOrder,
    VenueUnavailable,
)

from .helpers import (
    COIN,
    T0,
    Recorder,
    asks,
    bids,
    coin,
    config,
    fills_of,
    net_qty,
    refusals,
    sent_client_ids,
    venues,
)

LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
BUY, SELL = Side.BUY, Side.SELL
IOC = TimeInForce.IOC
TAKER, MAKER = 0.0005, 0.0002


def test_an_ioc_against_a_thin_touch_fills_the_touch_and_expires_the_rest():
    v = venues()
    touch = asks(v, Leg.SPOT)[0]
    order = v.spot.place_order(
        COIN, BUY, LIMIT, 15.0, price=touch.price, tif=IOC, client_id="a", now=T0
    )
    assert order.filled_qty == touch.qty == 10.0
    assert order.avg_price == touch.price
    assert order.status is OrderStatus.EXPIRED
    assert order.finish_reason is FinishReason.IOC
    assert order.fees == pytest.approx(10.0 * touch.price * TAKER, rel=1e-12)
    assert v.spot.open_orders() == []
    # The touch is gone until the market redraws the book.
    assert asks(v, Leg.SPOT)[0].price > touch.price


def test_an_order_filled_at_one_price_reports_that_price_exactly():
    v = venues()
    touch = asks(v, Leg.SPOT)[0]
    # A quantity (worth the minimum notional) whose value divided back by it is not the
    # price in float arithmetic.
    qty = next(q for q in (n / 100 for n in range(10, 1001)) if q * touch.price / q != touch.price)
    assert qty <= touch.qty
    order = v.spot.place_order(
        COIN, BUY, LIMIT, qty, price=touch.price, tif=IOC, client_id="one-price", now=T0
    )
    assert (order.filled_qty, order.avg_price) == (qty, touch.price)


def test_a_fee_is_the_exact_decimal_the_rate_makes():
    v = venues()
    touch = asks(v, Leg.SPOT)[0]

    def exact_fee(qty: float) -> float:
        return float(Decimal(repr(qty)) * Decimal(repr(touch.price)) * Decimal(repr(TAKER)))

    # A quantity whose fee at the rate comes out with float noise when multiplied out.
    qty = next(
        q for q in (n / 100 for n in range(10, 1001)) if q * touch.price * TAKER != exact_fee(q)
    )
    assert qty <= touch.qty
    order = v.spot.place_order(
        COIN, BUY, LIMIT, qty, price=touch.price, tif=IOC, client_id="exact-fee", now=T0
    )
    assert order.fees == exact_fee(qty)


def test_a_market_order_walks_the_book_best_price_first():
    v = venues()
    levels = asks(v, Leg.SPOT)
    qty = round(levels[0].qty + levels[1].qty + 5.0, 2)
    order = v.spot.place_order(COIN, BUY, MARKET, qty, client_id="m", now=T0)
    fills = fills_of(v.spot.ledger, order)
    assert [(f.price, f.qty) for f in fills] == [
        (levels[0].price, levels[0].qty),
        (levels[1].price, levels[1].qty),
        (levels[2].price, 5.0),
    ]
    assert all(not f.is_maker and f.fee == pytest.approx(f.qty * f.price * TAKER) for f in fills)
    assert order.status is OrderStatus.FILLED and order.filled_qty == qty
    assert order.price is None and order.tif is IOC
    value = sum(f.qty * f.price for f in fills)
    assert order.avg_price == pytest.approx(value / qty, rel=1e-12)
    assert levels[0].price < order.avg_price < levels[2].price


def test_a_market_buy_by_quote_amount_buys_the_whole_steps_it_pays_for_across_levels():
    v = venues()
    levels = asks(v, Leg.SPOT)
    # All of the touch and 3.456 COIN of the next level: 3.45 of them, in whole steps.
    spend = levels[0].qty * levels[0].price + 3.456 * levels[1].price
    order = v.spot.buy_for_quote(COIN, spend, client_id="q", now=T0)
    assert [(f.price, f.qty) for f in fills_of(v.spot.ledger, order)] == [
        (levels[0].price, levels[0].qty),
        (levels[1].price, 3.45),
    ]
    assert order.type is MARKET and order.status is OrderStatus.FILLED
    spent = order.filled_qty * order.avg_price
    assert spent <= spend < spent + 0.01 * levels[1].price


def test_a_market_buy_by_quote_amount_too_small_for_one_step_is_refused():
    v = venues()
    ask = asks(v, Leg.SPOT)[0].price
    with pytest.raises(BelowMinimum, match="does not buy one quantity step"):
        v.spot.buy_for_quote(COIN, 0.009 * ask, client_id="tiny", now=T0)
    assert len(refusals(v.spot.ledger)) == 1
    assert v.spot.orders(COIN) == []


def test_a_market_order_larger_than_the_book_takes_it_all_and_expires():
    v = venues(config(spot=msgspec.structs.replace(config().spot, balances={"COIN": 1_000.0})))
    visible = round(sum(level.qty for level in bids(v, Leg.SPOT)), 2)
    order = v.spot.place_order(COIN, SELL, MARKET, 400.0, now=T0)
    assert order.filled_qty == visible < 400.0
    assert order.status is OrderStatus.EXPIRED
    assert v.market.quote(COIN, Leg.SPOT).bid == 0.0
    assert v.spot.balance("COIN").free == round(1_000.0 - visible, 2)


def test_a_marketable_gtc_takes_what_it_can_and_rests_the_rest():
    v = venues()
    touch = asks(v, Leg.SPOT)[0]
    usdt = v.spot.balance("USDT").free
    order = v.spot.place_order(COIN, BUY, LIMIT, 12.0, price=touch.price, client_id="g", now=T0)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty == 10.0
    assert v.spot.open_orders(COIN) == [order]
    # The rest is locked at its limit price with the higher fee; the fill is paid.
    locked = 2.0 * touch.price * (1 + TAKER)
    assert v.spot.balance("USDT").locked == pytest.approx(locked, rel=1e-12)
    paid = 10.0 * touch.price * (1 + TAKER)
    assert v.spot.balance("USDT").free == pytest.approx(usdt - paid - locked, rel=1e-12)
    assert v.spot.balance("COIN").free == 110.0


def test_a_resting_order_fills_as_maker_at_its_price_once_the_book_crosses_it():
    cfg = config(coin(PriceProcessParams(volatility_annual=3.0, dislocations_per_hour=0.0)))
    m = SimMarket(cfg, random.Random(5), T0)
    spot = SpotExchange(cfg.spot, cfg.symbols, m, random.Random(6))
    limit = round(m.quote(COIN, Leg.SPOT).bid - 0.30, 2)
    resting = spot.place_order(COIN, BUY, LIMIT, 3.0, price=limit, client_id="r", now=T0)
    assert resting.status is OrderStatus.NEW and resting.filled_qty == 0.0
    # A 300%-a-year coin moves 0.3% in about a minute on average: this seed crosses the
    # limit within the first thousand seconds, and the loop checks every step on the way.
    for second in range(1, 1_001):
        now = T0 + second
        m.advance(now)
        crossed = m.quote(COIN, Leg.SPOT).ask <= limit
        spot.match_resting(now)
        order = spot.order(client_id="r", now=now)
        if not crossed:
            assert order.filled_qty == 0.0
            continue
        assert order.filled_qty > 0.0
        fills = fills_of(spot.ledger, order)
        assert all(f.is_maker and f.price == limit for f in fills)
        assert all(f.fee == pytest.approx(f.qty * limit * MAKER, rel=1e-12) for f in fills)
        break
    else:
        pytest.fail("the price never crossed the resting order")


def test_fees_are_charged_in_the_quote_asset_on_both_sides():
    v = venues()
    before = {b.asset: b.free for b in v.spot.balances()}
    bid = bids(v, Leg.SPOT)[0]
    v.spot.place_order(COIN, SELL, LIMIT, 4.0, price=bid.price, tif=IOC, now=T0)
    assert v.spot.balance("COIN").free == before["COIN"] - 4.0
    received = 4.0 * bid.price * (1 - TAKER)
    assert v.spot.balance("USDT").free == pytest.approx(before["USDT"] + received, rel=1e-12)


def test_balances_must_cover_the_order():
    v = venues()
    ask = asks(v, Leg.SPOT)[0].price
    with pytest.raises(InsufficientBalance, match="COIN"):
        v.spot.place_order(COIN, SELL, LIMIT, 100.01, price=ask, now=T0)
    with pytest.raises(InsufficientBalance, match="USDT"):
        v.spot.place_order(COIN, BUY, LIMIT, 1_000.0, price=ask, now=T0)  # 100,010 USDT
    # Just enough: an order locking all but cents of the free balance, fee included.
    cheap = round(bids(v, Leg.SPOT)[-1].price, 2)
    qty = int(100_000.0 / (cheap * (1 + TAKER)) * 100) / 100
    v.spot.place_order(COIN, BUY, LIMIT, qty, price=cheap, now=T0)
    assert v.spot.balance("USDT").free == pytest.approx(100_000.0 - qty * cheap * (1 + TAKER))
    assert len(v.spot.ledger.accepted_orders()) == 1
    assert [r.error for r in refusals(v.spot.ledger)] == ["InsufficientBalance"] * 2


def test_a_market_buy_is_priced_against_the_book_it_will_walk():
    v = venues(config(spot=msgspec.structs.replace(config().spot, balances={"USDT": 1_490.0})))
    levels = asks(v, Leg.SPOT)
    # 14.9 COIN: 10 at the touch and 4.9 on the next level, 1,491.38 USDT
    # with the fee; 14.8 comes to 1,481.37.
    for qty in (14.8, 14.9):
        cost = 10.0 * levels[0].price + (qty - 10.0) * levels[1].price
        assert (cost * (1 + TAKER) <= 1_490.0) == (qty == 14.8)
    with pytest.raises(InsufficientBalance, match="1490 USDT is free"):
        v.spot.place_order(COIN, BUY, MARKET, 14.9, now=T0)
    order = v.spot.place_order(COIN, BUY, MARKET, 14.8, now=T0)
    assert order.filled_qty == 14.8


def test_a_refused_order_leaves_no_trace_but_its_line_in_the_ledger():
    v = venues()
    recorder = Recorder()
    v.spot.add_listener(recorder)
    before = (v.spot.balances(), v.market.book(COIN, Leg.SPOT).snapshot())
    for attempt in (
        lambda: v.spot.place_order(COIN, SELL, MARKET, 500.0, now=T0),
        lambda: v.spot.place_order(COIN, BUY, LIMIT, 0.04, price=100.0, now=T0),
        lambda: v.spot.place_order(Symbol("DOGE", "USDT"), BUY, MARKET, 1.0, now=T0),
    ):
        with pytest.raises(Exception, match="mexc"):
            attempt()
    assert (v.spot.balances(), v.market.book(COIN, Leg.SPOT).snapshot()) == before
    assert recorder.events == [] and v.spot.open_orders() == []
    refused = refusals(v.spot.ledger)
    assert [r.error for r in refused] == ["InsufficientBalance", "BelowMinimum", "InvalidSymbol"]
    assert refused[0].qty == 500.0 and refused[0].price is None and refused[0].ts == T0
    assert len(v.spot.ledger) == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"qty": 1.234}, InvalidPrecision, "step 0.01"),
        ({"price": 100.005}, InvalidPrecision, "tick 0.01"),
        ({"qty": 0.04}, BelowMinimum, "minimum 5"),  # 4 USDT < 5 USDT
        ({"qty": 0.0}, InvalidParameter, "> 0"),
        ({"price": None}, InvalidParameter, "needs a price"),
        ({"tif": TimeInForce.FOK}, InvalidParameter, "gtc or ioc"),
        ({"client_id": "has space"}, InvalidParameter, "does not match"),
        ({"client_id": "x" * 33}, InvalidParameter, "does not match"),
        ({"symbol": Symbol("DOGE", "USDT")}, InvalidSymbol, "not listed"),
    ],
)
def test_venue_rules_are_checked_on_placement(kwargs, error, says):
    v = venues()
    order = {"symbol": COIN, "qty": 1.0, "price": 99.0, "tif": None, "client_id": None} | kwargs
    with pytest.raises(error, match=says) as raised:
        v.spot.place_order(order.pop("symbol"), BUY, LIMIT, order.pop("qty"), now=T0, **order)
    assert raised.value.exchange == "mexc"


def test_a_below_minimum_market_order_is_judged_at_the_mid():
    v = venues()
    with pytest.raises(BelowMinimum):
        v.spot.place_order(COIN, BUY, MARKET, 0.04, now=T0)
    with pytest.raises(InvalidParameter, match="no price"):
        v.spot.place_order(COIN, BUY, MARKET, 1.0, price=100.0, now=T0)
    with pytest.raises(InvalidParameter, match="is IOC"):
        v.spot.place_order(COIN, BUY, MARKET, 1.0, tif=TimeInForce.GTC, now=T0)


def test_quantities_that_are_multiples_in_decimal_are_multiples():
    v = venues()
    for qty in (0.07, 0.29, 0.3, 1.1, 12.34):  # none is exact in binary floating point
        order = v.spot.place_order(COIN, BUY, LIMIT, 0.05 + qty, price=99.0, now=T0)
        assert order.qty == round(0.05 + qty, 2)


def test_a_client_id_can_be_used_once():
    v = venues()
    first = v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, client_id="once", now=T0)
    v.spot.cancel_order(client_id="once", now=T0 + 1)
    with pytest.raises(DuplicateClientId, match=f"order {first.venue_order_id}"):
        v.spot.place_order(COIN, SELL, LIMIT, 1.0, price=101.0, client_id="once", now=T0 + 2)
    assert v.spot.ledger.client_ids() == ["once"]
    assert sent_client_ids(v.spot.ledger) == ["once", "once"]  # the resend shows
    assert refusals(v.spot.ledger)[0].error == "DuplicateClientId"
    assert v.spot.order(client_id="once", now=T0 + 3).status is OrderStatus.CANCELLED


def test_cancel_releases_the_lock_and_cannot_be_repeated():
    v = venues()
    order = v.spot.place_order(COIN, BUY, LIMIT, 2.0, price=99.0, client_id="c", now=T0)
    assert v.spot.balance("USDT").locked == pytest.approx(2.0 * 99.0 * (1 + TAKER))
    cancelled = v.spot.cancel_order(venue_order_id=order.venue_order_id, now=T0 + 1)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.finish_reason is FinishReason.CANCELLED
    assert cancelled.updated_ts == T0 + 1
    assert v.spot.balance("USDT") == Balance("USDT", 100_000.0, 0.0)
    with pytest.raises(OrderAlreadyFinal):
        v.spot.cancel_order(client_id="c", now=T0 + 2)
    assert v.spot.open_orders() == []


def test_cancel_of_a_filled_order_is_already_final_and_of_a_stranger_unknown():
    v = venues()
    filled = v.spot.place_order(COIN, BUY, MARKET, 1.0, client_id="f", now=T0)
    with pytest.raises(OrderAlreadyFinal, match="filled"):
        v.spot.cancel_order(venue_order_id=filled.venue_order_id, now=T0)
    with pytest.raises(UnknownOrder):
        v.spot.cancel_order(venue_order_id="999", now=T0)
    with pytest.raises(UnknownOrder):
        v.spot.cancel_order(client_id="nobody", now=T0)
    with pytest.raises(UnknownOrder):  # right id, wrong symbol
        v.spot.cancel_order(client_id="f", symbol=Symbol("ETH", "USDT"), now=T0)
    with pytest.raises(InvalidParameter, match="exactly one"):
        v.spot.cancel_order(venue_order_id=filled.venue_order_id, client_id="f", now=T0)


def test_orders_are_found_by_either_id_with_their_fills():
    v = venues()
    order = v.spot.place_order(COIN, BUY, MARKET, 15.0, client_id="q", now=T0)
    by_id = v.spot.order(venue_order_id=order.venue_order_id, now=T0)
    by_client_id = v.spot.order(client_id="q", symbol=COIN, now=T0 + 86_400.0)
    assert by_id == by_client_id == order  # MEXC finds finished orders by client id
    fills = fills_of(v.spot.ledger, order)
    assert order.trade_ids == tuple(f.trade_id for f in fills)
    assert len(set(order.trade_ids)) == 2
    assert sum(f.qty for f in fills) == pytest.approx(order.filled_qty)


def test_listeners_hear_trades_before_the_order_update_and_balances_last():
    v = venues()
    recorder = Recorder()
    v.spot.add_listener(recorder)
    v.spot.place_order(COIN, BUY, MARKET, 15.0, client_id="e", now=T0)
    kinds = [type(e) for e in recorder.events]
    assert kinds == [TradeExecuted, TradeExecuted, OrderUpdated, BalanceChanged, BalanceChanged]
    assert recorder.of(OrderUpdated)[0].order.status is OrderStatus.FILLED
    assert {e.balance.asset for e in recorder.of(BalanceChanged)} == {"COIN", "USDT"}


def test_a_resting_order_is_announced_new_then_updated_when_it_fills():
    v = venues()
    recorder = Recorder()
    v.spot.add_listener(recorder)
    v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, client_id="n", now=T0)
    (update,) = recorder.of(OrderUpdated)
    assert update.order.status is OrderStatus.NEW
    recorder.events.clear()
    v.spot.cancel_order(client_id="n", now=T0 + 1)
    assert [type(e) for e in recorder.events] == [OrderUpdated, BalanceChanged]


def test_the_ledger_records_acceptance_fills_and_ends_in_order():
    v = venues()
    v.spot.place_order(COIN, BUY, MARKET, 15.0, client_id="l", now=T0)
    entries = v.spot.ledger.entries()
    kinds = [type(e) for e in entries]
    assert kinds == [OrderAccepted, FillExecuted, FillExecuted, OrderFinished]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].order.status is OrderStatus.NEW and entries[0].order.filled_qty == 0.0
    assert entries[-1].order.status is OrderStatus.FILLED
    assert v.spot.ledger.entries(after_seq=3) == entries[3:]
    assert net_qty(v.spot.ledger, COIN) == 15.0


def test_injected_rejections_refuse_the_next_orders_only():
    v = venues()
    v.spot.faults.reject_next(2, RateLimited, "slow down")
    for _ in range(2):
        with pytest.raises(RateLimited, match="slow down"):
            v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, client_id="r1", now=T0)
    assert v.spot.faults.rejections_left == 0
    v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, client_id="r1", now=T0)
    assert v.spot.ledger.client_ids() == ["r1"]
    assert [r.error for r in refusals(v.spot.ledger)] == ["RateLimited"] * 2
    v.spot.faults.reject_next(5)
    with pytest.raises(VenueUnavailable):
        v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, now=T0)
    v.spot.faults.clear()
    v.spot.place_order(COIN, BUY, LIMIT, 1.0, price=99.0, now=T0)


def test_injected_partial_fills_leave_an_ioc_part_filled():
    v = venues()
    v.spot.faults.fill_partially(0.3)
    order = v.spot.place_order(COIN, BUY, MARKET, 5.0, now=T0)
    assert order.filled_qty == 1.5 and order.status is OrderStatus.EXPIRED
    v.spot.faults.fill_fully()
    order = v.spot.place_order(COIN, BUY, MARKET, 5.0, now=T0)
    assert order.filled_qty == 5.0


def test_a_fault_aimed_at_one_order_refuses_or_caps_that_order_alone():
    v = venues()
    v.spot.faults.reject_order("aimed", InsufficientBalance("mexc", None, "injected"))
    v.spot.place_order(COIN, BUY, MARKET, 1.0, client_id="other", now=T0)
    with pytest.raises(InsufficientBalance):
        v.spot.place_order(COIN, BUY, MARKET, 1.0, client_id="aimed", now=T0)
    assert [r.client_id for r in refusals(v.spot.ledger)] == ["aimed"]
    assert not v.spot.faults.withdraw_rejection("aimed")  # served, nothing left to withdraw
    v.spot.faults.cap_order("capped", 0.3)
    assert v.spot.place_order(COIN, BUY, MARKET, 5.0, client_id="capped", now=T0).filled_qty == 1.5
    assert v.spot.place_order(COIN, BUY, MARKET, 5.0, client_id="next", now=T0).filled_qty == 5.0


def test_base_balances_stay_on_the_quantity_grid():
    v = venues(config(spot=msgspec.structs.replace(config().spot, balances={"USDT": 1e5})))
    for qty in (0.7, 0.1):
        v.spot.place_order(COIN, BUY, MARKET, qty, now=T0)
    assert v.spot.balance("COIN").free == 0.8
    v.spot.place_order(COIN, SELL, MARKET, 0.8, now=T0)
    assert v.spot.balance("COIN").free == 0.0


def spot_charging(fee_asset: str, mx: float = 0.0) -> SpotExchange:
    spot = SpotVenueConfig(
        maker_fee=MAKER,
        taker_fee=TAKER,
        fee_asset=fee_asset,
        mx_price_usdt=2.0,
        mx_discount=0.2,
        balances={"USDT": 100_000.0, "COIN": 100.0, "MX": mx},
    )
    return venues(config(spot=spot)).spot


def test_fees_are_charged_in_the_market_currency_by_default_as_mexc_documents():
    v = venues()
    bought = v.spot.place_order(COIN, BUY, MARKET, 1.0, now=T0)
    sold = v.spot.place_order(COIN, SELL, MARKET, 1.0, now=T0)
    fills = fills_of(v.spot.ledger, bought) + fills_of(v.spot.ledger, sold)
    assert {f.fee_asset for f in fills} == {"USDT"}
    assert all(f.fee == f.fee_usdt == pytest.approx(f.qty * f.price * TAKER) for f in fills)
    assert v.spot.balance("COIN").free == 100.0


def test_in_base_mode_a_buy_pays_its_fee_in_the_coin_and_a_sale_in_usdt():
    spot = spot_charging("base")
    bought = spot.place_order(COIN, BUY, MARKET, 1.0, now=T0)
    [buy] = fills_of(spot.ledger, bought)
    assert (buy.fee_asset, buy.fee) == ("COIN", pytest.approx(1.0 * TAKER))
    assert buy.fee_usdt == pytest.approx(buy.price * TAKER)
    assert spot.balance("COIN").free == pytest.approx(101.0 - TAKER, abs=1e-12)
    assert spot.balance("USDT").free == pytest.approx(100_000.0 - buy.price, rel=1e-12)
    sold = spot.place_order(COIN, SELL, MARKET, 1.0, now=T0)
    [sale] = fills_of(spot.ledger, sold)
    assert (sale.fee_asset, sale.fee) == ("USDT", pytest.approx(sale.price * TAKER))


def test_in_mx_mode_fees_are_paid_in_mx_at_a_discount_until_the_mx_runs_out():
    spot = spot_charging("mx", mx=0.03)
    first = spot.place_order(COIN, BUY, MARKET, 1.0, now=T0)
    [paid] = fills_of(spot.ledger, first)
    worth = paid.qty * paid.price * TAKER * 0.8
    assert (paid.fee_asset, paid.fee, paid.fee_usdt) == (
        "MX",
        pytest.approx(worth / 2.0),
        pytest.approx(worth),
    )
    assert spot.balance("MX").free == pytest.approx(0.03 - worth / 2.0)
    assert spot.balance("USDT").free == pytest.approx(100_000.0 - paid.price, rel=1e-12)
    # What MX is left does not cover the next fee: the default rate, in USDT.
    second = spot.place_order(COIN, BUY, MARKET, 1.0, now=T0)
    [fallback] = fills_of(spot.ledger, second)
    assert (fallback.fee_asset, fallback.fee) == ("USDT", pytest.approx(fallback.price * TAKER))


def test_an_unknown_fee_asset_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="fee_asset 'bnb' must be one of quote, base, mx"):
        SpotVenueConfig(fee_asset="bnb")
