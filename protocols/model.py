"""The domain model shared by every part of Basis: symbols, quotes, orders, fills, rules.

Everything here is a frozen ``msgspec.Struct`` so it can cross actor boundaries and be
persisted as is. Money and quantities are ``float`` (never ``Decimal``); they are rounded
to venue increments only when an order is built. Quantities are in base units (BTC, not
contracts) everywhere except inside a venue codec. Times are Unix seconds as ``float``.
"""

from __future__ import annotations

import enum
import re

import msgspec

_SYMBOL = re.compile(r"^([A-Z0-9]{1,20})/([A-Z0-9]{1,20})$")


class Symbol(msgspec.Struct, frozen=True, gc=False):
    """A trading pair, base and quote asset (``BTC``, ``USDT``); printed ``BTC/USDT``."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Read ``BTC/USDT`` (case-insensitive); anything else is a ``ValueError``."""
        match = _SYMBOL.match(text.strip().upper())
        if match is None:
            raise ValueError(f"symbol {text!r} is not of the form BASE/QUOTE, for example BTC/USDT")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


class Leg(enum.Enum):
    """Which side of the arbitrage a venue serves."""

    SPOT = "spot"
    FUTURES = "futures"


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


class OrderType(enum.Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(enum.Enum):
    """Life of an order. ``PENDING`` is an intent not yet acknowledged by the venue."""

    PENDING = "pending"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


class RiskMode(enum.Enum):
    """What the portfolio may do: trade as usual, only close (``reducing``: no entries;
    exits and corrections go on), or nothing new at all (``halted``: orders in flight
    are cancelled)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class BookDepth(msgspec.Struct, frozen=True, gc=False):
    """The top levels of one venue's book for one symbol: (price, quantity in base units)
    pairs, best first on each side."""

    bids: tuple[tuple[float, float], ...] = ()
    asks: tuple[tuple[float, float], ...] = ()


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Best bid and ask of one symbol on one venue, quantities in base units.

    An empty side has price and quantity ``0.0``. ``venue_ts`` is the venue's own time of
    the update, ``recv_ts`` when Basis received it (both Unix seconds). ``depth`` is the
    top levels of the book behind the best, from feeds that keep the book (``None``
    when only the best level is known).
    """

    symbol: Symbol
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    venue_ts: float
    recv_ts: float
    depth: BookDepth | None = None


class VenueRules(msgspec.Struct, frozen=True):
    """What a venue accepts for one symbol. A zero means "no such rule".

    ``contract_size`` is base units per contract on a futures venue (0 on spot, where
    quantities are in base units directly); ``min_contracts`` is the smallest order in
    contracts. ``min_notional`` is in quote units (USDT).
    """

    qty_step: float = 0.0
    min_qty: float = 0.0
    min_notional: float = 0.0
    price_tick: float = 0.0
    contract_size: float = 0.0
    min_contracts: float = 0.0
    taker_fee: float | None = None
    entries_refused: str | None = None
    """Why no new position may be opened on this venue for this symbol (the venue would
    hold it at settings Basis did not choose); ``None`` when entries are allowed. Orders
    that close or rebalance what is held are never refused for it."""


class Order(msgspec.Struct, frozen=True):
    """An order as Basis tracks it, from intent to final state.

    ``client_id`` is chosen by Basis once per order intent and never changes, so a retry
    or a restart can never double the order. ``fees`` are in quote units (USDT).
    ``trade_ids`` are the venue trades already applied, so a fill delivered twice is
    recognised. ``decision_price`` is the best price on the book when the order was
    decided (the ask to buy, the bid to sell), before any limit moved past it: what its
    fills' slippage is measured against (0: not known, as in records from before it was
    kept; its fills' own prices stand in for it).
    """

    client_id: str
    leg: Leg
    symbol: Symbol
    side: Side
    qty: float
    price: float
    type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.IOC
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.PENDING
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fees: float = 0.0
    venue_order_id: str | None = None
    created_ts: float = 0.0
    trade_ids: tuple[str, ...] = ()
    decision_price: float = 0.0


class Fill(msgspec.Struct, frozen=True, gc=False):
    """One execution of an order: ``qty`` base units at ``price``, its fee worth ``fee``
    USDT (valued at the fill's price).

    ``commission`` is the fee as the venue charged it, in ``commission_asset`` (the quote
    asset, the base coin, or another token such as MEXC's MX; empty when the venue did not
    say and the fee was estimated from the fee rate). A commission in the base coin comes
    out of what the fill leaves held. A fill of ``qty`` 0 corrects the fee of quantity
    delivered before its trade was known.
    """

    client_id: str
    trade_id: str
    qty: float
    price: float
    fee: float
    ts: float
    commission: float = 0.0
    commission_asset: str = ""


class LegPosition(msgspec.Struct, frozen=True, gc=False):
    """What one leg holds: quantity (long on spot, short on futures, both positive),
    the average price of what is held, and the fees paid on it so far (USDT).

    ``base_fees`` is the base coin the venue took as fees out of what the leg bought, in
    proportion to what it still holds: the leg holds that much less than it traded, and
    is hedged for ``qty + base_fees``.

    ``decision_price`` is the average of the decision prices of what is held, kept as
    ``avg_price`` is kept of the fill prices (0: not known, as in records from before it
    was kept; ``avg_price`` stands in for it)."""

    qty: float = 0.0
    avg_price: float = 0.0
    fees: float = 0.0
    base_fees: float = 0.0
    decision_price: float = 0.0
