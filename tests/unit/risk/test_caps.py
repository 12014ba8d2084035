"""No sequence of decisions exceeds a cap, orders in flight included.

Several strategies share the portfolio's totals. Each decides on random quotes (random
depth too) with the room ``entry_room`` leaves it, and its exposure is published right
after each decision, as the runtime and the backtester do; the venues fill, partly
fill, end or reject orders at random. After every step the exposure actually held and
in flight (each leg at what it cost, each order's unfilled rest at its limit price)
stays within every cap per venue, per symbol and in total, and neither account's
balance goes below zero.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageParams, LegRules, new_context
from actors.arbitrage.exposure import exposure_of
from actors.arbitrage.machine import on_market, step
from actors.risk.caps import Balances, Exposure, ExposureTotals, entry_room
from actors.risk.config import RiskConfig
from protocols.messages import OrderFinal, OrderRejected, PlaceOrder
from protocols.model import BookDepth, Fill, Leg, OrderStatus, Quote, Side, Symbol, VenueRules

FEE = 0.001
EPSILON = 1e-6
SYMBOLS = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
RULES = LegRules(
    VenueRules(qty_step=0.001, min_notional=1.0),
    VenueRules(contract_size=0.001, min_contracts=1),
)
# (task, symbol): two strategies share BTC/USDT.
TASKS = (("a", "BTC/USDT"), ("b", "ETH/USDT"), ("c", "BTC/USDT"))


def real_exposure(ctx) -> tuple[float, float]:
    """(spot, futures) notional: held at cost plus the unfilled rest of growing orders."""
    spot = max(ctx.positions.spot.qty, 0.0) * ctx.positions.spot.avg_price
    futures = max(ctx.positions.futures.qty, 0.0) * ctx.positions.futures.avg_price
    for orders in ctx.active_orders.values():
        for order in orders.values():
            rest = (order.qty - order.filled_qty) * order.price
            if order.leg is Leg.SPOT and order.side is Side.BUY:
                spot += rest
            elif order.leg is Leg.FUTURES and order.side is Side.SELL:
                futures += rest
    return spot, futures


def depth(best: float, qty: float, buying: bool, gaps: list[float]) -> BookDepth:
    levels = [(best, qty)]
    for gap in gaps:
        price = levels[-1][0] * (1.0 + gap) if buying else levels[-1][0] * (1.0 - gap)
        levels.append((price, qty))
    return BookDepth(asks=tuple(levels)) if buying else BookDepth(bids=tuple(levels))


actions = st.lists(
    st.tuples(
        st.sampled_from(["quote", "quote", "fill", "final", "reject"]),
        st.integers(0, len(TASKS) - 1),
        st.floats(0.0, 1.0),  # where the prices are in their band; how much fills
        st.floats(0.0, 1.0),  # how much each level of the books holds
        st.lists(st.floats(0.0001, 0.002), max_size=4),  # the gaps between levels
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    actions,
    st.floats(100.0, 3000.0),  # configured size
    st.floats(150.0, 2000.0),  # per symbol
    st.floats(150.0, 3000.0),  # per venue
    st.floats(0.5, 2.0),  # total, as a multiple of the larger of those
    st.floats(50.0, 3000.0),  # spot account
    st.floats(50.0, 3000.0),  # futures account
    st.sampled_from([1.0, 2.0, 3.0]),
)
def test_no_sequence_of_decisions_exceeds_a_cap(
    steps, size, per_symbol, per_venue, total_multiple, spot_start, futures_start, leverage
):
    total = max(per_symbol, per_venue) * max(total_multiple, 1.0)
    config = RiskConfig(
        max_symbol_notional_usdt=per_symbol,
        max_venue_notional_usdt=per_venue,
        max_total_notional_usdt=total,
    )
    params = ArbitrageParams(
        spot_fee=FEE, fut_fee=FEE, max_entry_cost_pct=0.5, max_slippage_pct=0.2
    )
    contexts = {
        task: new_context(
            task,
            Symbol.parse(symbol),
            now=0.0,
            base_position_size_usdt=size,
            futures_leverage=leverage,
            params=params,
            rules=RULES,
        )
        for task, symbol in TASKS
    }
    totals = ExposureTotals.of({task: exposure_of(ctx) for task, ctx in contexts.items()})
    cash = {"spot": spot_start, "futures": futures_start}
    trade = 0

    def balances() -> Balances:
        margin = sum(
            ctx.positions.futures.qty * ctx.positions.futures.avg_price / leverage
            for ctx in contexts.values()
        )
        return Balances({"mexc": cash["spot"]}, {"gateio_futures": cash["futures"] - margin})

    def pay(ctx, order, qty: float) -> None:
        value = qty * order.price
        if order.leg is Leg.SPOT:
            cash["spot"] += (-value if order.side is Side.BUY else value) - value * FEE
        else:
            cash["futures"] -= value * FEE
            if order.side is Side.BUY:
                short = ctx.positions.futures
                cash["futures"] += (short.avg_price - order.price) * min(qty, short.qty)

    now = 0.0
    for kind, index, where, thickness, gaps in steps:
        now += 1.0
        task, symbol = TASKS[index]
        ctx = contexts[task]
        orders = [order for leg in ctx.active_orders.values() for order in leg.values()]
        if kind == "quote":
            base = SYMBOLS[symbol]
            # From a premium (entries) to spot well above the perpetual (profit exits).
            sa = base * (1.0 + 0.02 * where)
            fb = base * (1.0 + 0.004 - 0.01 * where)
            qty = (0.1 + 20.0 * thickness) * 100.0 / base
            spot = Quote(ctx.symbol, sa * 0.999, qty, sa, qty, now, now, depth(sa, qty, True, gaps))
            futures = Quote(
                ctx.symbol, fb, qty, fb * 1.001, qty, now, now, depth(fb, qty, False, gaps)
            )
            mine = totals.by_task.get(task) or exposure_of(ctx)
            limits = entry_room(totals, balances(), mine, config, FEE, FEE, leverage)
            ctx, commands = on_market(ctx, now, spot, futures, limits=limits)
        elif not orders:
            continue
        else:
            order = orders[int(where * len(orders)) % len(orders)]
            if kind == "fill":
                qty = (order.qty - order.filled_qty) * thickness
                if qty <= 0.0:
                    continue
                pay(ctx, order, qty)
                trade += 1
                fee = qty * order.price * FEE
                fill = Fill(order.client_id, f"t{trade}", qty, order.price, fee, now)
                ctx, commands = step(ctx, fill)
            elif kind == "final":
                status = OrderStatus.CANCELLED
                final = OrderFinal(now, order.client_id, status, order.filled_qty, order.price)
                ctx, commands = step(ctx, final)
            elif order.filled_qty == 0.0:
                ctx, commands = step(ctx, OrderRejected(now, order.client_id, "no"))
            else:
                continue
        for command in commands:
            if isinstance(command, PlaceOrder):
                assert command.order.qty > 0.0
        contexts[task] = ctx
        totals = totals.with_exposure(task, exposure_of(ctx))

        per_venue_real = {"mexc": 0.0, "gateio_futures": 0.0}
        per_symbol_real = dict.fromkeys(SYMBOLS, 0.0)
        for held_task, held_symbol in TASKS:
            spot_usdt, futures_usdt = real_exposure(contexts[held_task])
            per_venue_real["mexc"] += spot_usdt
            per_venue_real["gateio_futures"] += futures_usdt
            per_symbol_real[held_symbol] += spot_usdt + futures_usdt
        for venue, usdt in per_venue_real.items():
            assert usdt <= per_venue + EPSILON, (venue, usdt)
        for name, usdt in per_symbol_real.items():
            assert usdt <= per_symbol + EPSILON, (name, usdt)
        assert sum(per_venue_real.values()) <= total + EPSILON
        available = balances()
        assert available.spot_free_usdt["mexc"] >= -EPSILON
        assert available.futures_available_usdt["gateio_futures"] >= -EPSILON


def test_the_tightest_bound_gives_the_room_and_is_named():
    config = RiskConfig(
        max_symbol_notional_usdt=1000.0,
        max_venue_notional_usdt=5000.0,
        max_total_notional_usdt=10000.0,
    )
    mine = Exposure("BTC/USDT", "mexc", "gateio_futures", 200.0, 200.0)
    other = Exposure("ETH/USDT", "mexc", "gateio_futures", 100.0, 100.0)
    totals = ExposureTotals.of({"a": mine, "b": other})
    # The symbol holds 400 of 1000: 300 more per leg.
    limits = entry_room(totals, Balances(), mine, config, 0.001, 0.001, 1.0)
    assert math.isclose(limits.room_usdt, 300.0)
    assert limits.reason == "max_symbol_notional_usdt 1000 for BTC/USDT"
    # 101 USDT free on spot pays 100 and its 0.1 % fee... minus what is in flight.
    pending = Exposure("ETH/USDT", "mexc", "gateio_futures", 150.0, 100.0, 50.0, 0.0)
    totals = totals.with_exposure("b", pending)
    limits = entry_room(totals, Balances({"mexc": 150.15}), mine, config, 0.001, 0.001, 1.0)
    assert math.isclose(limits.room_usdt, 100.0)
    assert limits.reason == "free USDT on mexc"
    # Margin at 2x: each USDT of short needs half a USDT plus the fee.
    limits = entry_room(
        totals, Balances({}, {"gateio_futures": 50.1}), mine, config, 0.001, 0.001, 2.0
    )
    assert math.isclose(limits.room_usdt, 100.0)
    assert limits.reason == "available margin on gateio_futures"
    full = ExposureTotals.of({"a": Exposure("BTC/USDT", "mexc", "gateio_futures", 500.0, 500.0)})
    assert entry_room(full, Balances(), mine, config, 0.001, 0.001, 1.0).room_usdt == 0.0


def test_totals_follow_one_strategy_replacing_its_exposure():
    a = Exposure("BTC/USDT", "mexc", "gateio_futures", 100.0, 100.0)
    totals = ExposureTotals.of({"a": a})
    assert totals.with_exposure("a", a) is totals
    grown = totals.with_exposure("a", Exposure("BTC/USDT", "mexc", "gateio_futures", 300.0, 250.0))
    assert (grown.per_venue, grown.per_symbol, grown.total) == (
        {"mexc": 300.0, "gateio_futures": 250.0},
        {"BTC/USDT": 550.0},
        550.0,
    )
