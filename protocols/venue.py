"""Venue-neutral results of decoding a venue's messages, and the errors venues return.

Each venue codec (``protocols.mexc``, ``protocols.gateio``) turns its own wire format into
these types, so feeds, routers and the simulated venues speak one language inside Basis.
Quantities are in base units here; converting contracts is the codec's job.
"""

from __future__ import annotations

import attrs
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


class PublicTrade(msgspec.Struct, frozen=True):
    """One trade of a market as its public trade list shows it: ``qty`` base units at
    ``price``; ``taker_buys`` when the side that took liquidity bought."""

    trade_id: int
    price: float
    qty: float
    ts: float
    taker_buys: bool


class CandleFigures(msgspec.Struct, frozen=True):
    """One candle: the interval's start (Unix seconds), its first, highest, lowest and
    last price, and the base and quote volume traded in it."""

    open_ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float


class Balance(msgspec.Struct, frozen=True):
    asset: str
    free: float
    locked: float


class FuturesAccountSettings(msgspec.Struct, frozen=True):
    """What Basis reads of a futures account: its USDT and its position mode."""

    currency: str
    total: float
    available: float
    in_dual_mode: bool
    """Dual (hedge) mode holds a long and a short per contract; Basis trades single mode."""


class PositionSettings(msgspec.Struct, frozen=True):
    """How the venue holds one contract's position: ``leverage`` 0 is cross margin (at
    ``cross_leverage_limit``), above 0 isolated margin at that leverage; ``mode`` is
    ``single``, ``dual_long`` or ``dual_short``; ``liq_price`` 0 when nothing is held.
    ``qty`` in base units, negative when short."""

    symbol: Symbol
    qty: float
    leverage: float
    cross_leverage_limit: float
    mode: str
    liq_price: float

    @property
    def margin_mode(self) -> str:
        return "cross" if self.leverage == 0 else "isolated"


class FuturesPosition(msgspec.Struct, frozen=True):
    """A futures position; ``qty`` in base units, negative when short."""

    symbol: Symbol
    qty: float
    entry_price: float
    mark_price: float = 0.0
    leverage: float = 0.0
    realised_pnl: float = 0.0
    funding_pnl: float = 0.0
    margin: float = 0.0
    unrealised_pnl: float = 0.0
    liq_price: float = 0.0
    """Where the venue would liquidate it; 0 when nothing is held."""
    maintenance_rate: float = 0.0
    """The maintenance margin rate of the risk limit tier the position is in: with
    ``mark_price`` and ``liq_price``, what the distance to liquidation is judged by."""
    risk_limit: float = 0.0
    """The value (USDT) the position's risk limit tier goes up to."""


VENUE_CAUSES = ("liquidation", "auto_deleveraging")
"""Why a venue reduces a position by itself: ``PositionReducedByVenue.cause``."""


class PositionReducedByVenue(msgspec.Struct, frozen=True):
    """The venue reduced a futures position without an order of the account's: ``qty``
    base units of it closed (positive: that much short closed, bought back; negative: a
    long sold off) at ``price``, by ``cause`` (one of ``VENUE_CAUSES``), at ``ts``."""

    symbol: Symbol
    qty: float
    price: float
    cause: str
    ts: float


class FundingRate(msgspec.Struct, frozen=True):
    """A perpetual's funding: the rate the settlement at ``next_ts`` applies (longs pay
    shorts when positive), and the interval between settlements."""

    symbol: Symbol
    rate: float
    interval_s: float
    next_ts: float

    def at(self, now: float) -> FundingRate:
        """The same with ``next_ts`` moved past ``now``: settlements fall every
        ``interval_s``, so a published time that has passed still names the next one."""
        if now < self.next_ts or self.interval_s <= 0.0:
            return self
        skipped = (now - self.next_ts) // self.interval_s + 1
        return FundingRate(
            self.symbol, self.rate, self.interval_s, self.next_ts + skipped * self.interval_s
        )


class FundingTick(msgspec.Struct, frozen=True):
    """A funding rate a ticker pushed; its interval and next settlement are the
    contract's (``FundingRate``)."""

    symbol: Symbol
    rate: float


class FundingBookEntry(msgspec.Struct, frozen=True):
    """One funding settlement in the account's ledger: ``amount`` USDT (positive when
    received) at ``ts``, under the venue's ledger id ``ledger_id``."""

    ledger_id: str
    symbol: Symbol
    ts: float
    amount: float


# ---------------------------------------------------------------- control messages


class Pong(msgspec.Struct, frozen=True, gc=False):
    """The venue answered our application-level ping."""


class SubscriptionResult(msgspec.Struct, frozen=True):
    """The venue's answer to a subscribe or unsubscribe request. ``channel`` is what the
    answer names (possibly several channels, as the venue wrote them); ``message`` is the
    venue's own text, kept for the log when ``ok`` is false."""

    ok: bool
    channel: str
    message: str


class UpgradeNotice(msgspec.Struct, frozen=True):
    """The venue is about to restart this connection's server: reconnect soon."""

    message: str


_EXCERPT_CHARS = 200
_EXCERPT_BYTES_IN_HEX = 64


class MalformedMessage(msgspec.Struct, frozen=True):
    """A frame the codec could not read. ``reason`` names the field and what was wrong;
    ``excerpt`` is the start of the frame: text, or hex when it is binary."""

    reason: str
    excerpt: str

    @classmethod
    def about(cls, reason: str, frame: bytes | str) -> MalformedMessage:
        if isinstance(frame, str):
            return cls(reason, frame[:_EXCERPT_CHARS])
        head = bytes(frame[:_EXCERPT_CHARS])
        try:
            text = head.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None and all(char.isprintable() or char in "\t\r\n" for char in text):
            return cls(reason, text)
        return cls(reason, head[:_EXCERPT_BYTES_IN_HEX].hex(" "))


# ----------------------------------------------------------------- REST plumbing

Headers = tuple[tuple[str, str], ...]


def _find_header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


class WrongAccount(Exception):
    """The config names an account (a user id) that is not the API key's account."""


@attrs.frozen
class ApiCredentials:
    """An API key and its secret. The secret is left out of ``repr`` so that logging a
    request's context can never print it."""

    key: str
    secret: str = attrs.field(repr=False)


class RestRequest(msgspec.Struct, frozen=True):
    """An HTTP request exactly as it was signed. ``path`` includes the venue's prefix
    (``/api/v3/order``); ``query`` is already encoded and must be sent verbatim, because
    re-encoding it would break the signature; ``body`` is the exact bytes signed."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: Headers = ()

    @property
    def target(self) -> str:
        """Path and query, as they go on the request line."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return _find_header(self.headers, name)


class RestResponse(msgspec.Struct, frozen=True):
    """An HTTP response as a simulated venue sends it and a router receives it."""

    status: int
    body: bytes
    headers: Headers = ()

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return _find_header(self.headers, name)


# ----------------------------------------------------------------------------- errors


class VenueError(Exception):
    """An error a venue returned, named by its ``exchange`` (``mexc``, ``gateio``).
    ``code`` is the exchange's own (number or label);
    ``retry_after_s`` is how long the venue asked us to wait, when it said."""

    def __init__(
        self,
        exchange: str,
        code: str | int | None,
        message: str,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.exchange = exchange
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s
        super().__init__(f"{exchange}: {message} (code {code}, HTTP {http_status})")


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


class RateLimited(VenueError):
    pass


class VenueUnavailable(VenueError):
    """The venue failed or is too busy (5xx, SERVER_ERROR, TOO_BUSY); try again later."""


class Banned(VenueError):
    """The venue banned this IP for a while (MEXC HTTP 418)."""


class MalformedResponse(VenueError):
    """A successful HTTP answer whose body could not be read. For an order placement or
    cancel the outcome is therefore unknown: look the order up rather than resend it."""
