"""The order tracker's fill accounting under any interleaving of the venue's reports.

A venue is drawn as a sequence of executions of one order. It reports them as cumulative
reports (one after each execution, the last one final) and as trade reports (one per
execution); the tracker gets all of them, shuffled, some more than once.
"""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.orders.tracker import Accepted, Filled, Finished, OrderTracker, Rejected
from protocols.model import Leg, Order, OrderStatus, Side, Symbol
from protocols.rules import more_than_noise
from protocols.venue import OrderUpdate, Trade

BTC = Symbol("BTC", "USDT")
STEP = 0.001
FEE_RATE = 0.001


def no_more_than(qty: float, limit: float, of: float) -> bool:
    """``qty`` exceeds ``limit`` by float noise at most."""
    return not more_than_noise(qty - limit, of=of)


@st.composite
def venues(draw):
    """An order, its executions ``(qty, price)``, and every report the venue makes of
    them: cumulative reports (the last one final) and trade reports."""
    executions = draw(
        st.lists(
            st.tuples(st.integers(1, 500), st.integers(9_000, 11_000)),
            max_size=6,
        )
    )
    executions = [(units * STEP, cents / 100) for units, cents in executions]
    unfilled = draw(st.integers(0 if executions else 1, 500)) * STEP
    filled = sum(qty for qty, _ in executions)
    order = Order("t1-1s", Leg.SPOT, BTC, Side.BUY, filled + unfilled, 100.0)
    cumulative = []
    qty = value = 0.0
    for seq in range(len(executions) + 1):
        if seq:
            qty += executions[seq - 1][0]
            value += executions[seq - 1][0] * executions[seq - 1][1]
        last = seq == len(executions)
        status = (
            (OrderStatus.FILLED if unfilled == 0 else OrderStatus.CANCELLED)
            if last
            else (OrderStatus.PARTIALLY_FILLED if seq else OrderStatus.NEW)
        )
        average = value / qty if qty else None
        cumulative.append(
            OrderUpdate(BTC, order.client_id, "v1", status, filled_qty=qty, avg_price=average)
        )
    trades = [
        Trade(BTC, f"T{seq}", order.client_id, "v1", Side.BUY, q, p, q * p * FEE_RATE, "USDT",
              False, float(seq))
        for seq, (q, p) in enumerate(executions)
    ]  # fmt: skip
    return order, executions, cumulative, trades


@st.composite
def shuffled(draw, reports):
    """Every report at least once, in any order, some of them again anywhere."""
    order = list(draw(st.permutations(reports)))
    if not reports:
        return order
    for again in draw(st.lists(st.sampled_from(reports), max_size=len(reports))):
        order.insert(draw(st.integers(0, len(order))), again)
    return order


@given(st.data())
def test_fills_add_up_to_the_venues_figures_whatever_the_order_of_reports(data):
    order, executions, cumulative, trades = data.draw(venues())
    reports = data.draw(shuffled([*cumulative, *trades]))
    tracker = OrderTracker(order)
    final = cumulative[-1]
    delivered = []
    reported_filled = traded = 0.0
    seen_trades: set[str] = set()
    ended = False
    for report in reports:
        if isinstance(report, Trade):
            out = tracker.on_trade(report)
            if report.trade_id not in seen_trades:
                seen_trades.add(report.trade_id)
                traded += report.qty
        else:
            out = tracker.on_report(report, now=0.0, fee_rate=FEE_RATE)
            reported_filled = max(reported_filled, report.filled_qty)
        if ended:
            assert out == [], "nothing is delivered after the end"
        delivered += out
        ended = ended or report is final
        total = sum(d.message.qty for d in delivered if isinstance(d, Filled))
        # Never more than the venue has reported filled so far, nor than the order.
        assert no_more_than(total, max(reported_filled, traded), of=order.qty)
        assert no_more_than(total, order.qty, of=order.qty)
        assert math.isclose(total, tracker.delivered_qty, rel_tol=1e-9, abs_tol=1e-12)

    fills = [d.message for d in delivered if isinstance(d, Filled)]
    assert len({fill.trade_id for fill in fills}) == len(fills), "a fill delivered twice"
    filled_qty = final.filled_qty
    assert math.isclose(sum(f.qty for f in fills), filled_qty, rel_tol=1e-9, abs_tol=1e-12)
    value = sum(qty * price for qty, price in executions)
    assert math.isclose(sum(f.qty * f.price for f in fills), value, rel_tol=1e-9, abs_tol=1e-9)
    # Accepted once and first; the end once and last; nothing else is said.
    kinds = [type(d) for d in delivered]
    assert kinds[0] is Accepted and kinds.count(Accepted) == 1
    assert kinds[-1] is Finished and kinds.count(Finished) == 1
    assert set(kinds[1:-1]) <= {Filled}
    end = delivered[-1].message
    assert (end.status, end.filled_qty) == (final.status, tracker.delivered_qty)
    if executions:
        assert math.isclose(end.avg_price, value / filled_qty, rel_tol=1e-9)


@given(st.data())
def test_trade_reports_alone_deliver_each_trade_at_its_own_price(data):
    order, _, _, trades = data.draw(venues())
    tracker = OrderTracker(order)
    fills = []
    for trade in data.draw(shuffled(trades)):
        fills += [d.message for d in tracker.on_trade(trade) if isinstance(d, Filled)]
    by_id = {trade.trade_id: trade for trade in trades}
    assert sorted(f.trade_id for f in fills) == sorted(by_id)
    for fill in fills:
        trade = by_id[fill.trade_id]
        assert fill.price == trade.price
        assert math.isclose(fill.qty, trade.qty, rel_tol=1e-9)
        assert math.isclose(fill.fee, trade.fee, rel_tol=1e-9)


def test_a_report_without_a_fee_is_charged_the_fee_rate_and_one_with_a_fee_its_own():
    order = Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 100.0)
    tracker = OrderTracker(order)
    first = OrderUpdate(BTC, "t1-1s", "v1", OrderStatus.PARTIALLY_FILLED, filled_qty=0.5,
                        avg_price=100.0)  # fmt: skip
    [_, filled] = tracker.on_report(first, now=1.0, fee_rate=0.002)
    assert math.isclose(filled.message.fee, 0.5 * 100.0 * 0.002)
    second = OrderUpdate(BTC, "t1-1s", "v1", OrderStatus.FILLED, filled_qty=1.0,
                         avg_price=101.0, fee=0.3)  # fmt: skip
    [filled, finished] = tracker.on_report(second, now=2.0, fee_rate=0.002)
    assert (filled.message.qty, filled.message.price) == (0.5, 102.0)
    assert math.isclose(filled.message.fee, 0.3 - 0.1)
    assert (filled.message.trade_id, filled.message.ts) == ("v1@1", 2.0)
    assert (finished.message.filled_qty, finished.message.avg_price) == (1.0, 101.0)


def test_a_rejection_ends_the_order_once_and_nothing_follows_it():
    order = Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 100.0)
    tracker = OrderTracker(order)
    [rejected] = tracker.reject("no rules", now=5.0)
    assert isinstance(rejected, Rejected) and rejected.message.reason == "no rules"
    assert tracker.reject("again", now=6.0) == []
    late = OrderUpdate(BTC, "t1-1s", "v1", OrderStatus.FILLED, filled_qty=1.0, avg_price=100.0)
    assert tracker.on_report(late, now=7.0, fee_rate=0.0) == []
    assert tracker.end_report(8.0) == rejected.message.__class__(8.0, "t1-1s", "no rules")


def test_a_venue_rejection_ends_the_order_without_accepting_it():
    tracker = OrderTracker(Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 100.0))
    refused = OrderUpdate(BTC, "t1-1s", "v1", OrderStatus.REJECTED, filled_qty=0.0)
    [finished] = tracker.on_report(refused, now=1.0, fee_rate=0.0)
    assert isinstance(finished, Finished) and finished.message.status is OrderStatus.REJECTED
    assert not tracker.accepted
    assert tracker.reject("late", now=2.0) == []


MX_USDT = 2.5


@st.composite
def charged_trades(draw, trades):
    """``trades`` with each fee charged where a MEXC account may be charged: the quote
    asset, the base coin or MX, in the amount worth the same."""
    charged = []
    for trade in trades:
        asset = draw(st.sampled_from(["USDT", "BTC", "MX"]))
        worth = trade.fee
        amount = {"USDT": worth, "BTC": worth / trade.price, "MX": worth / MX_USDT}[asset]
        charged.append(msgspec.structs.replace(trade, fee=amount, fee_asset=asset))
    return charged


@given(st.data())
def test_fees_delivered_are_what_the_trades_charged_whichever_report_came_first(data):
    # The router hands the tracker every trade of an order before its end: by then the
    # fees delivered are the venue's own, in USDT, and the base coin they took is told.
    order, executions, cumulative, trades = data.draw(venues())
    trades = data.draw(charged_trades(trades))
    reports = data.draw(shuffled([*cumulative[:-1], *trades]))
    tracker = OrderTracker(order)
    delivered = []
    for report in [*reports, cumulative[-1]]:
        if isinstance(report, Trade):
            price = MX_USDT if report.fee_asset == "MX" else None
            delivered += tracker.on_trade(report, price)
        else:
            delivered += tracker.on_report(report, now=0.0, fee_rate=FEE_RATE)
    fills = [d.message for d in delivered if isinstance(d, Filled)]
    worth = sum(qty * price * FEE_RATE for qty, price in executions)
    assert math.isclose(sum(f.fee for f in fills), worth, rel_tol=1e-9, abs_tol=1e-12)
    base_taken = sum(t.fee for t in trades if t.fee_asset == "BTC")
    base_told = sum(f.commission for f in fills if f.commission_asset == "BTC")
    assert math.isclose(base_told, base_taken, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(sum(f.qty for f in fills), cumulative[-1].filled_qty, abs_tol=1e-12)


def test_a_trade_after_an_estimate_corrects_its_fee_with_a_fill_of_no_quantity():
    order = Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 100.0)
    tracker = OrderTracker(order)
    report = OrderUpdate(BTC, "t1-1s", "v1", OrderStatus.PARTIALLY_FILLED, filled_qty=1.0,
                         avg_price=100.0)  # fmt: skip
    [_, estimated] = tracker.on_report(report, now=1.0, fee_rate=0.002)
    trade = Trade(BTC, "T1", "t1-1s", "v1", Side.BUY, 1.0, 100.0, 0.0005, "BTC", False, 1.5)
    [correction] = tracker.on_trade(trade)
    fill = correction.message
    assert (fill.qty, fill.price, fill.trade_id) == (0.0, 100.0, "T1-fee")
    assert (fill.commission, fill.commission_asset) == (0.0005, "BTC")
    assert math.isclose(estimated.message.fee + fill.fee, 0.0005 * 100.0)


def test_a_fee_in_another_asset_needs_its_price():
    tracker = OrderTracker(Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 100.0))
    trade = Trade(BTC, "T1", "t1-1s", "v1", Side.BUY, 1.0, 100.0, 0.02, "MX", False, 1.0)
    with pytest.raises(ValueError, match="MX/USDT price"):
        tracker.on_trade(trade)
    [_, filled] = tracker.on_trade(trade, 2.5)
    assert math.isclose(filled.message.fee, 0.05)
    assert filled.message.commission_asset == "MX"
