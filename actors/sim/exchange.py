"""What the simulated spot and futures venues share: order intake and validation, matching
against the market's book, order lookup and cancel, the ledger and the private events.

Matching. An arriving order takes liquidity first: a buy walks the asks up to its limit
(a market order has none), best price first, one fill per level at that level's price, as
taker. What is left of an IOC or market order expires; what is left of a GTC limit order
rests. After the market moves, a resting order whose price the book now crosses fills as
maker at its own price against the crossing levels. Taken liquidity leaves the book until
the crowd puts it back: the touch on the market's next move, a deeper level when its size
next changes (``SimBook.evolve``).

Quantities are whole lots inside (the spot quantity step, or one contract), so fills add
up exactly; prices are snapped to the tick grid on arrival. Every method runs to
completion without yielding: a venue's state changes atomically per call. Validation
happens before anything changes, so a refused order leaves no trace but its line in the
ledger.

The two venues differ in what backs an order (spot balances, futures margin and
positions), which the subclasses supply through the hooks at the end of the class.
"""

from __future__ import annotations

import abc
import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs

from actors.sim.book import Execution, SimBook
from actors.sim.events import Listener, OrderUpdated, TradeExecuted, VenueEvent
from actors.sim.faults import VenueFaults
from actors.sim.ledger import Ledger
from actors.sim.market import SimMarket
from actors.sim.read_after_write import ReadAfterWrite
from actors.sim.records import FinishReason, VenueFill, VenueOrder
from protocols._wire import exact_product
from protocols.model import Leg, OrderStatus, OrderType, Side, Symbol, TimeInForce, VenueRules
from protocols.rules import whole_steps
from protocols.venue import (
    BelowMinimum,
    DuplicateClientId,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    OrderAlreadyFinal,
    UnknownOrder,
    VenueError,
)

_STATUS_OF = {
    FinishReason.FILLED: OrderStatus.FILLED,
    FinishReason.CANCELLED: OrderStatus.CANCELLED,
    FinishReason.IOC: OrderStatus.EXPIRED,
    FinishReason.REDUCE_ONLY: OrderStatus.CANCELLED,
    FinishReason.LIQUIDATED: OrderStatus.CANCELLED,
}


@attrs.define(frozen=True)
class OrderRequest:
    """An order as asked for. ``qty`` is base units on spot and contracts on futures;
    ``tif`` ``None`` means GTC for a limit order and IOC for a market order."""

    symbol: Symbol
    side: Side
    type: OrderType
    qty: float
    price: float | None
    tif: TimeInForce | None
    client_id: str | None
    reduce_only: bool = False


@attrs.define(eq=False)
class LiveOrder:
    """An order inside the venue. ``locked`` is what it still holds in reserve (quote or
    base asset on spot, margin on futures), released as it fills or when it ends."""

    venue_order_id: str
    client_id: str | None
    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce
    lots: int
    price: float | None
    reduce_only: bool
    created_ts: float
    updated_ts: float
    filled_lots: int = 0
    filled_value: float = 0.0
    fees: float = 0.0
    locked: float = 0.0
    status: OrderStatus = OrderStatus.NEW
    finish_reason: FinishReason | None = None
    finished_ts: float | None = None
    fills: list[VenueFill] = attrs.field(factory=list)

    @property
    def left_lots(self) -> int:
        return self.lots - self.filled_lots


class SimExchange(abc.ABC):
    """The part of a simulated venue that does not depend on what backs its orders."""

    leg: ClassVar[Leg]
    # Whether the venue counts quantities in contracts (Gate.io) or base units (MEXC).
    _counts_contracts: ClassVar[bool]

    def __init__(
        self,
        *,
        name: str,
        market: SimMarket,
        rules: Mapping[Symbol, VenueRules],
        maker_fee: float,
        taker_fee: float,
        client_id_pattern: str,
        client_id_query_window_s: float | None,
        read_after_write: ReadAfterWrite,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.market = market
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.faults = VenueFaults()
        self.read_after_write = read_after_write
        self.ledger = Ledger(name)
        self._rules = dict(rules)
        self._client_id = re.compile(client_id_pattern)
        self._client_id_window_s = client_id_query_window_s
        self._rng = rng
        self._orders: dict[str, LiveOrder] = {}
        self._by_client_id: dict[str, LiveOrder] = {}
        self._resting: dict[Symbol, dict[str, LiveOrder]] = {s: {} for s in self._rules}
        self._next_order_id = 1
        self._next_trade_id = 1
        self._listeners: list[Listener] = []
        self._pending: list[VenueEvent] = []

    # --------------------------------------------------------------------- reading

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(self._rules)

    def rules(self, symbol: Symbol) -> VenueRules:
        """What the venue accepts for ``symbol`` (``InvalidSymbol`` if it does not list it)."""
        rules = self._rules.get(symbol)
        if rules is None:
            listed = ", ".join(str(s) for s in self._rules)
            raise InvalidSymbol(self.name, None, f"{symbol} is not listed; listed: {listed}")
        return rules

    def order(
        self,
        *,
        venue_order_id: str | None = None,
        client_id: str | None = None,
        symbol: Symbol | None = None,
        now: float,
    ) -> VenueOrder:
        """One order by the venue's id or the client's (exactly one of them). With
        ``symbol`` the order must also be of that symbol. A finished order can be found
        by client id only within the venue's window after it finished, and no order
        within the venue's read-after-write lag after it was accepted (``UnknownOrder``)."""
        order = self._find(venue_order_id, client_id, symbol, now)
        if self.read_after_write.too_new(order.created_ts, now):
            raise UnknownOrder(self.name, None, f"order {order.venue_order_id} does not exist yet")
        return self._view(order)

    def part_filled(self, client_id: str) -> bool:
        """Whether the order ``client_id`` was accepted and has filled some of its lots
        but not all (what a partial fill fault is for)."""
        order = self._by_client_id.get(client_id)
        return order is not None and 0 < order.filled_lots < order.lots

    def open_orders(self, symbol: Symbol | None = None) -> list[VenueOrder]:
        """The orders resting on the book, oldest first; all symbols when ``symbol`` is None."""
        if symbol is not None:
            self.rules(symbol)
        return [
            self._view(order)
            for s, resting in self._resting.items()
            if symbol in (None, s)
            for order in resting.values()
        ]

    def orders(self, symbol: Symbol) -> list[VenueOrder]:
        """Every order of ``symbol`` the venue accepted, open or finished, oldest first."""
        self.rules(symbol)
        return [self._view(order) for order in self._orders.values() if order.symbol == symbol]

    # ------------------------------------------------------------------- listeners

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every private event from now on (see ``events``)."""
        self._listeners.append(listener)

    # -------------------------------------------------------------------- changing

    def cancel_order(
        self,
        *,
        venue_order_id: str | None = None,
        client_id: str | None = None,
        symbol: Symbol | None = None,
        now: float,
    ) -> VenueOrder:
        """Cancel an open order (found as by ``order``, lag included) and return it,
        final. ``UnknownOrder`` if there is no such order, ``OrderAlreadyFinal`` if it
        has already filled, expired or been cancelled."""
        order = self._find(venue_order_id, client_id, symbol, now)
        if self.read_after_write.too_new(order.created_ts, now):
            raise UnknownOrder(self.name, None, f"order {order.venue_order_id} does not exist yet")
        if order.status.is_final:
            raise OrderAlreadyFinal(
                self.name,
                None,
                f"order {order.venue_order_id} is already {order.status.value}; "
                "query it for its fills instead of cancelling",
            )
        self._finish(order, FinishReason.CANCELLED, now)
        self._emit(OrderUpdated(self._view(order)))
        self._flush(now)
        return self._view(order)

    def match_resting(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        """Fill resting orders the books of ``symbols`` (every symbol when ``None``) now
        cross; call after their market has moved."""
        for symbol in self._resting if symbols is None else symbols:
            resting = self._resting[symbol]
            if not resting:
                continue
            book = self._book(symbol)
            for order in list(resting.values()):
                # A fill of an earlier order can finish a reduce-only one in this loop.
                if order.status.is_final or not book.sweep(order.side, order.price, 1):
                    continue
                executions = book.sweep(order.side, order.price, self._pass_cap(order))
                if not executions:
                    continue
                book.consume(order.side, executions, now)
                lots = sum(lots for _, lots in executions)
                assert order.price is not None  # only limit orders rest
                self._fill(order, order.price, lots, is_maker=True, now=now)
                self._end_pass(order, arriving=False, now=now)
                self._after_fills(symbol, now)
        self._flush(now)

    # ------------------------------------------------------------------ placement

    def _place(self, request: OrderRequest, now: float) -> VenueOrder:
        """Admit, accept, match. A refusal changes nothing but the ledger, which notes it."""
        try:
            order, executions = self._admit(request, now)
        except VenueError as refusal:
            self.ledger.record_refused(
                now,
                request.symbol,
                request.side,
                request.qty,
                request.price,
                request.client_id,
                refusal,
            )
            raise
        order.venue_order_id = str(self._next_order_id)
        self._next_order_id += 1
        self._orders[order.venue_order_id] = order
        if order.client_id is not None:
            self._by_client_id[order.client_id] = order
        self.ledger.record_accepted(self._view(order))
        book = self._book(order.symbol)
        book.consume(order.side, executions, now)
        for execution_price, execution_lots in executions:
            self._fill(order, execution_price, execution_lots, is_maker=False, now=now)
        self._end_pass(order, arriving=True, now=now)
        if executions:
            self._after_fills(order.symbol, now)
        self._flush(now)
        return self._view(order)

    def _admit(self, request: OrderRequest, now: float) -> tuple[LiveOrder, list[Execution]]:
        """Check the order, find what it would take on arrival and reserve what backs it:
        the only step that may refuse it, and the only change it makes is the reserve."""
        rejection = self.faults.take_rejection(self.name, request.client_id)
        if rejection is not None:
            raise rejection
        rules = self.rules(request.symbol)
        tif = self._check_type(request)
        price = self._check_price(request, rules)
        lots = self._lots(request, rules)
        self._check_minimums(request, lots, rules, price)
        self._check_client_id(request.client_id)
        order = LiveOrder(
            "",
            request.client_id,
            request.symbol,
            request.side,
            request.type,
            tif,
            lots,
            price,
            request.reduce_only,
            now,
            now,
        )
        executions = self._book(request.symbol).sweep(order.side, price, self._pass_cap(order))
        self._reserve(order, executions)
        return order, executions

    def _check_type(self, request: OrderRequest) -> TimeInForce:
        if request.type is OrderType.MARKET:
            if request.price is not None:
                raise InvalidParameter(
                    self.name, None, "a market order takes no price; send a limit order instead"
                )
            if request.tif not in (None, TimeInForce.IOC):
                raise InvalidParameter(
                    self.name, None, f"a market order is IOC, not {request.tif.value}"
                )
            return TimeInForce.IOC
        tif = request.tif or TimeInForce.GTC
        if tif not in (TimeInForce.GTC, TimeInForce.IOC):
            raise InvalidParameter(
                self.name, None, f"time in force {tif.value} is not supported; use gtc or ioc"
            )
        return tif

    def _check_price(self, request: OrderRequest, rules: VenueRules) -> float | None:
        price = request.price
        if request.type is OrderType.MARKET:
            return None
        if price is None or not math.isfinite(price) or price <= 0.0:
            raise InvalidParameter(self.name, None, f"a limit order needs a price > 0, got {price}")
        ticks = whole_steps(price, rules.price_tick)
        if ticks is None:
            raise InvalidPrecision(
                self.name,
                None,
                f"{request.symbol} price {price} is not a multiple of the tick "
                f"{rules.price_tick}; round it to the tick",
            )
        return self._book(request.symbol).price_of(ticks)

    def _check_minimums(
        self, request: OrderRequest, lots: int, rules: VenueRules, price: float | None
    ) -> None:
        qty = self._book(request.symbol).qty(lots)
        # A market order's notional is judged at the mid, as venues judge it at the last price.
        notional = qty * (price if price is not None else self._mid(request.symbol))
        if lots < rules.min_contracts:
            raise BelowMinimum(
                self.name,
                None,
                f"{request.symbol} order of {lots} contracts is below the minimum of "
                f"{rules.min_contracts:g} contracts",
            )
        if qty < rules.min_qty:
            raise BelowMinimum(
                self.name,
                None,
                f"{request.symbol} quantity {qty:g} is below the minimum {rules.min_qty:g}",
            )
        if notional < rules.min_notional:
            raise BelowMinimum(
                self.name,
                None,
                f"{request.symbol} order value {notional:.6g} {request.symbol.quote} is below "
                f"the minimum {rules.min_notional:g}; order more",
            )

    def _check_client_id(self, client_id: str | None) -> None:
        if client_id is None:
            return
        if self._client_id.fullmatch(client_id) is None:
            raise InvalidParameter(
                self.name,
                None,
                f"client order id {client_id!r} does not match {self._client_id.pattern}",
            )
        if client_id in self._by_client_id:
            existing = self._by_client_id[client_id]
            raise DuplicateClientId(
                self.name,
                None,
                f"client order id {client_id!r} was already used by order "
                f"{existing.venue_order_id}; query that order instead of placing it again",
            )

    # -------------------------------------------------------------------- matching

    def _pass_cap(self, order: LiveOrder) -> int:
        """The most lots one matching pass may fill: what the order may still fill, and
        less while partial fills are being injected."""
        cap = self._fillable_lots(order)
        fault_cap = self.faults.fill_cap(order.lots, self._rng, order.client_id)
        return cap if fault_cap is None else min(cap, fault_cap)

    def _fill(
        self, order: LiveOrder, price: float, lots: int, *, is_maker: bool, now: float
    ) -> None:
        book = self._book(order.symbol)
        qty = book.qty(lots)
        # The fee at the rate, as the exact decimal the venue computes, not float noise.
        rate = self.maker_fee if is_maker else self.taker_fee
        at_rate = exact_product(exact_product(qty, price), rate)
        fee, fee_asset, fee_usdt = self._charge(order, qty, price, at_rate)
        fill = VenueFill(
            self.name,
            str(self._next_trade_id),
            order.venue_order_id,
            order.client_id,
            order.symbol,
            order.side,
            qty,
            price,
            fee,
            is_maker,
            now,
            lots if self._counts_contracts else None,
            fee_asset,
            fee_usdt,
        )
        self._next_trade_id += 1
        released = (
            order.locked if lots == order.left_lots else order.locked * lots / order.left_lots
        )
        order.locked -= released
        self._return_reserve(order, released)
        self._settle(order, fill)
        order.filled_lots += lots
        order.filled_value += qty * price
        order.fees += fee_usdt
        order.updated_ts = now
        order.fills.append(fill)
        self.ledger.record_fill(fill)
        self._emit(TradeExecuted(fill))

    def _end_pass(self, order: LiveOrder, *, arriving: bool, now: float) -> None:
        """Decide what becomes of ``order`` after a matching pass, and report it."""
        if order.left_lots == 0:
            self._finish(order, FinishReason.FILLED, now)
        elif self._fillable_lots(order) == 0:
            self._finish(order, FinishReason.REDUCE_ONLY, now)
        elif arriving and order.tif is TimeInForce.IOC:
            self._finish(order, FinishReason.IOC, now)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED if order.filled_lots else OrderStatus.NEW
            self._resting[order.symbol][order.venue_order_id] = order
        self._emit(OrderUpdated(self._view(order)))

    def _finish(self, order: LiveOrder, reason: FinishReason, now: float) -> None:
        self._return_reserve(order, order.locked)
        order.locked = 0.0
        order.status = _STATUS_OF[reason]
        order.finish_reason = reason
        order.finished_ts = now
        order.updated_ts = now
        self._resting[order.symbol].pop(order.venue_order_id, None)
        self.ledger.record_finished(self._view(order))

    # --------------------------------------------------------------------- helpers

    def _book(self, symbol: Symbol) -> SimBook:
        return self.market.book(symbol, self.leg)

    def _mid(self, symbol: Symbol) -> float:
        if self.leg is Leg.SPOT:
            return self.market.spot_mid(symbol)
        return self.market.mark_price(symbol)

    def _resting_orders(self, symbol: Symbol) -> list[LiveOrder]:
        return list(self._resting[symbol].values())

    def _all_resting(self) -> list[LiveOrder]:
        return [order for resting in self._resting.values() for order in resting.values()]

    def _find(
        self, venue_order_id: str | None, client_id: str | None, symbol: Symbol | None, now: float
    ) -> LiveOrder:
        if (venue_order_id is None) == (client_id is None):
            raise InvalidParameter(
                self.name, None, "name the order by venue_order_id or client_id (exactly one)"
            )
        if venue_order_id is not None:
            order = self._orders.get(venue_order_id)
            wanted = f"order {venue_order_id}"
        else:
            order = self._by_client_id.get(client_id or "")
            wanted = f"order with client id {client_id!r}"
            if order is not None and self._forgotten_by_client_id(order, now):
                order = None
        if order is not None and self.read_after_write.forgot(
            order.filled_lots > 0, order.finished_ts, now
        ):
            order = None
        if order is None or symbol not in (None, order.symbol):
            raise UnknownOrder(self.name, None, f"{wanted} is unknown")
        return order

    def _forgotten_by_client_id(self, order: LiveOrder, now: float) -> bool:
        return (
            self._client_id_window_s is not None
            and order.finished_ts is not None
            and now - order.finished_ts > self._client_id_window_s
        )

    def _view(self, order: LiveOrder) -> VenueOrder:
        book = self._book(order.symbol)
        filled_qty = book.qty(order.filled_lots)
        return VenueOrder(
            self.name,
            order.venue_order_id,
            order.client_id,
            order.symbol,
            order.side,
            order.type,
            order.tif,
            book.qty(order.lots),
            order.price,
            order.status,
            filled_qty,
            _average_price(order.filled_value, filled_qty, book),
            order.fees,
            order.created_ts,
            order.updated_ts,
            order.reduce_only,
            order.lots if self._counts_contracts else None,
            order.filled_lots if self._counts_contracts else None,
            order.finish_reason,
            tuple(fill.trade_id for fill in order.fills),
        )

    def _emit(self, event: VenueEvent) -> None:
        self._pending.append(event)

    def _flush(self, now: float) -> None:
        """Hand the operation's events to the listeners, account changes last."""
        self._pending.extend(self._account_events(now))
        events, self._pending = self._pending, []
        for event in events:
            for listener in self._listeners:
                listener(event)

    # ------------------------------------------------------- hooks for the venues

    @abc.abstractmethod
    def _lots(self, request: OrderRequest, rules: VenueRules) -> int:
        """The requested quantity in whole lots; ``InvalidPrecision`` or
        ``InvalidParameter`` when it is not a positive whole number of them."""

    def _fillable_lots(self, order: LiveOrder) -> int:
        """How many lots the order may still fill (futures trim reduce-only orders)."""
        return order.left_lots

    @abc.abstractmethod
    def _reserve(self, order: LiveOrder, executions: list[Execution]) -> None:
        """Check what backs the order (its arrival ``executions`` known) and set
        ``order.locked``; raise ``InsufficientBalance`` or another refusal instead."""

    @abc.abstractmethod
    def _return_reserve(self, order: LiveOrder, amount: float) -> None:
        """``amount`` of the order's reserve is no longer held."""

    def _charge(
        self, order: LiveOrder, qty: float, price: float, fee_usdt: float
    ) -> tuple[float, str, float]:
        """The fee of a fill of ``qty`` at ``price`` worth ``fee_usdt`` at the venue's
        rate, as the venue charges it: the amount, its asset and what that is worth in
        USDT (the quote asset, at the rate, unless the venue says otherwise)."""
        return fee_usdt, order.symbol.quote, fee_usdt

    @abc.abstractmethod
    def _settle(self, order: LiveOrder, fill: VenueFill) -> None:
        """Book ``fill`` into balances or positions."""

    def _after_fills(self, symbol: Symbol, now: float) -> None:  # noqa: B027 - optional hook
        """A matching pass on ``symbol`` filled something."""

    @abc.abstractmethod
    def _account_events(self, now: float) -> list[VenueEvent]:
        """Balance or position changes of the operation, one per asset or symbol."""


def _average_price(value: float, qty: float, book: SimBook) -> float:
    """What ``qty`` cost per unit (0 before any fill). An average that is a whole number
    of ticks (every fill at one price, say) is that price on the grid, as the venue
    reports it, not the float noise ``value / qty`` leaves."""
    if qty == 0.0:
        return 0.0
    average = value / qty
    ticks = whole_steps(average, book.tick)
    return average if ticks is None else book.price_of(ticks)
