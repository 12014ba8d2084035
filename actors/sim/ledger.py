"""A venue's append-only ledger: every order it accepted, every placement it refused,
every fill, every order's end, every funding payment and every position the venue
reduced by itself (liquidation, auto-deleveraging), numbered in the order they happened.

It is the venue's truth that chaos and crash tests hold the trading system to: the
positions Basis believes it holds must equal the sums of the ledgers' fills, and no
client order id may be sent twice (a second placement under a used id is refused, and
the refusal is here to be found). Nothing is ever changed or removed.
"""

from __future__ import annotations

import msgspec

from actors.sim.records import AutoDeleverage, FundingPayment, Liquidation, VenueFill, VenueOrder
from protocols.model import Side, Symbol
from protocols.venue import VenueError


class OrderAccepted(msgspec.Struct, frozen=True, tag=True):
    """The venue accepted an order (``order`` as it was before anything filled)."""

    seq: int
    order: VenueOrder


class OrderRefused(msgspec.Struct, frozen=True, tag=True):
    """The venue refused a placement (nothing was accepted): what was asked, and why.
    ``error`` is the ``VenueError`` subclass's name; ``qty`` is as asked (base units on
    spot, contracts on futures)."""

    seq: int
    ts: float
    symbol: Symbol
    side: Side
    qty: float
    price: float | None
    client_id: str | None
    error: str
    message: str


class FillExecuted(msgspec.Struct, frozen=True, tag=True):
    seq: int
    fill: VenueFill


class OrderFinished(msgspec.Struct, frozen=True, tag=True):
    """An order reached its final state (filled, cancelled or expired)."""

    seq: int
    order: VenueOrder


class FundingSettled(msgspec.Struct, frozen=True, tag=True):
    seq: int
    payment: FundingPayment


class Liquidated(msgspec.Struct, frozen=True, tag=True):
    """The venue closed a position by liquidation (no order of the account's)."""

    seq: int
    liquidation: Liquidation


class Deleveraged(msgspec.Struct, frozen=True, tag=True):
    """The venue's auto-deleveraging reduced a position (no order of the account's)."""

    seq: int
    deleverage: AutoDeleverage


LedgerEntry = (
    OrderAccepted
    | OrderRefused
    | FillExecuted
    | OrderFinished
    | FundingSettled
    | Liquidated
    | Deleveraged
)


class Ledger:
    """The ledger of the venue called ``venue``; ``seq`` numbers start at 1."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self._entries: list[LedgerEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, after_seq: int = 0) -> tuple[LedgerEntry, ...]:
        """Every entry with ``seq > after_seq``: pass the last seq seen to follow it."""
        return tuple(self._entries[max(after_seq, 0) :])

    def accepted_orders(self, symbol: Symbol | None = None) -> list[VenueOrder]:
        return [
            e.order
            for e in self._entries
            if isinstance(e, OrderAccepted) and symbol in (None, e.order.symbol)
        ]

    def fills(self, symbol: Symbol | None = None) -> list[VenueFill]:
        return [
            e.fill
            for e in self._entries
            if isinstance(e, FillExecuted) and symbol in (None, e.fill.symbol)
        ]

    def funding(self, symbol: Symbol | None = None) -> list[FundingPayment]:
        return [
            e.payment
            for e in self._entries
            if isinstance(e, FundingSettled) and symbol in (None, e.payment.symbol)
        ]

    def funding_entries(self) -> list[FundingSettled]:
        """Every funding settlement with its ledger number, oldest first."""
        return [e for e in self._entries if isinstance(e, FundingSettled)]

    def liquidations(self, symbol: Symbol | None = None) -> list[Liquidation]:
        return [
            e.liquidation
            for e in self._entries
            if isinstance(e, Liquidated) and symbol in (None, e.liquidation.symbol)
        ]

    def deleverages(self, symbol: Symbol | None = None) -> list[AutoDeleverage]:
        return [
            e.deleverage
            for e in self._entries
            if isinstance(e, Deleveraged) and symbol in (None, e.deleverage.symbol)
        ]

    def client_ids(self) -> list[str]:
        """The client order id of every accepted order that had one, in acceptance order."""
        return [order.client_id for order in self.accepted_orders() if order.client_id is not None]

    # ------------------------------------------------------------------- recording

    def record_accepted(self, order: VenueOrder) -> None:
        self._entries.append(OrderAccepted(self._next_seq(), order))

    def record_refused(
        self,
        ts: float,
        symbol: Symbol,
        side: Side,
        qty: float,
        price: float | None,
        client_id: str | None,
        error: VenueError,
    ) -> None:
        self._entries.append(
            OrderRefused(
                self._next_seq(),
                ts,
                symbol,
                side,
                qty,
                price,
                client_id,
                type(error).__name__,
                error.message,
            )
        )

    def record_fill(self, fill: VenueFill) -> None:
        self._entries.append(FillExecuted(self._next_seq(), fill))

    def record_finished(self, order: VenueOrder) -> None:
        self._entries.append(OrderFinished(self._next_seq(), order))

    def record_funding(self, payment: FundingPayment) -> None:
        self._entries.append(FundingSettled(self._next_seq(), payment))

    def record_liquidation(self, liquidation: Liquidation) -> None:
        self._entries.append(Liquidated(self._next_seq(), liquidation))

    def record_deleverage(self, deleverage: AutoDeleverage) -> None:
        self._entries.append(Deleveraged(self._next_seq(), deleverage))

    def _next_seq(self) -> int:
        return len(self._entries) + 1
