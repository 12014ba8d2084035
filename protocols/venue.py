"""Venue-neutral results of decoding a venue's messages, and the errors venues return.

Each venue codec (``protocols.mexc``, ``protocols.gateio``) turns its own wire format into
these types, so feeds, routers and the simulated venues speak one language inside Basis.
Quantities are in base units here; converting contracts is the codec's job.
"""

from __future__ import annotations

import msgspec

from protocols.model import OrderStatus, Side, Symbol


class BookLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    price: float
    qty: float


class DepthSnapshot(msgspec.Struct, frozen=True):
    """A full order book at ``version`` (MEXC ``lastUpdateId``, Gate.io ``id``)."""

    symbol: Symbol
    version: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


class DepthDiff(msgspec.Struct, frozen=True):
    """Absolute level quantities (0 deletes the level) covering ``first..last`` versions."""

    symbol: Symbol
    first_version: int
    last_version: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    venue_ts: float


class OrderUpdate(msgspec.Struct, frozen=True):
    """A venue's view of one order: from a private push, a query or a placement reply.

    ``filled_qty`` and ``avg_price`` are cumulative over the order's life. Fields a message
    does not carry are ``None``.
    """

    symbol: Symbol
    client_id: str
    venue_order_id: str
    status: OrderStatus
    side: Side | None = None
    qty: float | None = None
    price: float | None = None
    filled_qty: float | None = None
    avg_price: float | None = None
    fee: float | None = None
    reduce_only: bool | None = None
    ts: float = 0.0


class Trade(msgspec.Struct, frozen=True):
    """One of the account's own executions (MEXC private deal, Gate.io user trade).

    ``fee`` is in ``fee_asset``; routers convert it to the quote asset.
    """

    symbol: Symbol
    trade_id: str
    client_id: str
    venue_order_id: str
    side: Side | None
    qty: float
    price: float
    fee: float
    fee_asset: str
    is_maker: bool
    ts: float


class Balance(msgspec.Struct, frozen=True):
    asset: str
    free: float
    locked: float


class FuturesPosition(msgspec.Struct, frozen=True):
    """A futures position; ``qty`` in base units, negative when short."""

    symbol: Symbol
    qty: float
    entry_price: float
    mark_price: float = 0.0
    leverage: float = 0.0
    realised_pnl: float = 0.0
    funding_pnl: float = 0.0


class FundingRate(msgspec.Struct, frozen=True):
    symbol: Symbol
    rate: float
    interval_s: float
    next_ts: float


# ----------------------------------------------------------------------------- errors


class VenueError(Exception):
    """An error a venue returned. ``code`` is the venue's own (number or label);
    ``retry_after_s`` is how long the venue asked us to wait, when it said."""

    retryable = False

    def __init__(
        self,
        venue: str,
        code: str | int | None,
        message: str,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.venue = venue
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s
        super().__init__(f"{venue}: {message} (code {code}, HTTP {http_status})")


class InsufficientBalance(VenueError):
    pass


class BelowMinimum(VenueError):
    pass


class AboveMaximum(VenueError):
    pass


class InvalidPrecision(VenueError):
    pass


class PriceRejected(VenueError):
    """The price is too far from the market for the venue to accept."""


class UnknownOrder(VenueError):
    """The venue does not know the order (never arrived, or forgotten)."""


class OrderAlreadyFinal(VenueError):
    """A cancel or amend reached an order that is already filled or cancelled."""


class ReduceOnlyViolated(VenueError):
    pass


class InvalidSymbol(VenueError):
    pass


class TradingDisabled(VenueError):
    pass


class InvalidParameter(VenueError):
    pass


class DuplicateClientId(InvalidParameter):
    """The client order id was already used on this account. The venue has (or had) an
    order under that id: look it up by the client id rather than placing it again."""


class BadSignature(VenueError):
    pass


class BadCredentials(VenueError):
    pass


class TimestampRejected(VenueError):
    """The request's timestamp was outside the venue's window (clock skew)."""

    retryable = True


class RateLimited(VenueError):
    retryable = True


class VenueUnavailable(VenueError):
    """The venue failed or is too busy (5xx, SERVER_ERROR, TOO_BUSY); try again later."""

    retryable = True


class Banned(VenueError):
    """The venue banned this IP for a while (MEXC HTTP 418)."""
