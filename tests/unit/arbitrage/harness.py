"""A tiny driver for the pure machine: quotes in, orders out, fills as the test says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from actors.arbitrage.context import (
    ALWAYS_LIVE,
    ArbitrageContext,
    ArbitrageParams,
    Cycle,
    LegRules,
    Liveness,
    new_context,
)
from actors.arbitrage.machine import Result, on_market, step
from protocols.messages import OrderFinal, OrderRejected, PlaceOrder
from protocols.model import Fill, Order, OrderStatus, Quote, Symbol, VenueRules

BTC = Symbol("BTC", "USDT")


def quote(now: float, bid: float, ask: float, qty: float = 10.0, age: float = 0.0) -> Quote:
    return Quote(BTC, bid, qty, ask, qty, now - age, now - age)


class Market(NamedTuple):
    """New quotes, or without them the passing of time: what the actor and the
    backtester hand ``on_market``."""

    now: float
    spot: Quote | None = None
    futures: Quote | None = None
    live: Liveness = ALWAYS_LIVE


def apply(ctx: ArbitrageContext, event: Any) -> Result:
    """One event through the machine, market events through ``on_market``."""
    if type(event) is Market:
        return on_market(ctx, event.now, event.spot, event.futures, event.live)
    return step(ctx, event)


def market(
    now: float,
    sb: float,
    sa: float,
    fb: float,
    fa: float,
    qty: float = 10.0,
    spot_age: float = 0.0,
    futures_age: float = 0.0,
    live: Liveness = ALWAYS_LIVE,
) -> Market:
    return Market(
        now, quote(now, sb, sa, qty, spot_age), quote(now, fb, fa, qty, futures_age), live
    )


# 1 BTC at 50 000 with 0.05% fees: entry cost is 0.5% at sa=50 000, fb=49 750.
ENTRY = (49_990.0, 50_000.0, 49_750.0, 49_760.0)
PROFIT = (50_500.0, 50_510.0, 49_800.0, 49_810.0)  # P&L 0.68% on that entry
FLAT = (49_995.0, 50_005.0, 49_700.0, 49_710.0)  # entry cost 0.61%, P&L -0.13%: nothing to do


class Driver:
    def __init__(self, ctx: ArbitrageContext | None = None, **params) -> None:
        self.ctx = ctx or new_context(
            "t1",
            BTC,
            now=0.0,
            base_position_size_usdt=50_000.0,
            params=ArbitrageParams(**params),
            rules=LegRules(VenueRules(qty_step=0.0001, min_notional=5.0), VenueRules(
                contract_size=0.0001, min_contracts=1)),
        )  # fmt: skip
        self.commands: list = []
        self._trade = 0

    def send(self, event) -> list:
        self.ctx, commands = apply(self.ctx, event)
        self.commands.extend(commands)
        return list(commands)

    def quotes(self, now: float, prices: Sequence[float], **kw) -> list:
        return self.send(market(now, *prices, **kw))

    def fill(self, order: Order, qty: float | None = None, now: float = 0.0, price=None) -> None:
        qty = order.qty if qty is None else qty
        price = order.price if price is None else price
        self._trade += 1
        self.send(Fill(order.client_id, f"x{self._trade}", qty, price, qty * price * 0.0005, now))

    def final(self, order: Order, filled: float, now: float = 0.0, status=None) -> list:
        if status is None:
            status = OrderStatus.FILLED if filled >= order.qty else OrderStatus.EXPIRED
        return self.send(OrderFinal(now, order.client_id, status, filled, order.price))

    def fill_all(self, commands: list, now: float = 0.0) -> list:
        """Fill every placed order completely; returns the commands that produced."""
        out = []
        for order in placed(commands):
            self.fill(order, now=now)
            out.extend(self.final(order, order.qty, now=now))
        return out

    def reject(self, order: Order, now: float = 0.0) -> list:
        return self.send(OrderRejected(now, order.client_id, "INSUFFICIENT_AVAILABLE"))


def placed(commands: list) -> list[Order]:
    return [c.order for c in commands if isinstance(c, PlaceOrder)]


# What a cycle keeps since its P&L is decomposed.
DECOMPOSITION = {
    "basis_usdt",
    "spot_fees_usdt",
    "futures_fees_usdt",
    "spot_slippage_usdt",
    "futures_slippage_usdt",
    "volume_usdt",
}


def as_before_decomposition(ctx: ArbitrageContext) -> ArbitrageContext:
    """``ctx`` as a snapshot written before decision prices were kept and cycles
    decomposed stores it."""

    def strip(node):
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if "decision" not in k and k not in DECOMPOSITION
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    old = strip(msgspec.json.decode(msgspec.json.encode(ctx)))
    assert b"decision" not in msgspec.json.encode(old)
    assert not DECOMPOSITION & set(old["cycle"])
    return msgspec.json.decode(msgspec.json.encode(old), type=ArbitrageContext)


def decomposed(parts: Cycle) -> float:
    """The sum of the decomposition of a cycle under way (its record's is
    ``TradeRecord.decomposed_usdt``): what it must equal is its realized P&L."""
    return (
        parts.basis_usdt
        - parts.spot_fees_usdt
        - parts.futures_fees_usdt
        + parts.funding_usdt
        + parts.spot_slippage_usdt
        + parts.futures_slippage_usdt
    )
