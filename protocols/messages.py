"""Messages between actors: the events a strategy reacts to and the commands it issues.

All are frozen structs, so they can be journaled and replayed as they are. ``now`` is the
time the event happened (Unix seconds); the pure state machine has no clock of its own.
"""

from __future__ import annotations

import enum

import msgspec

from protocols.model import Leg, Order, OrderStatus, Quote, RiskMode, Symbol, VenueRules

# ------------------------------------------------------------------------- events


class OrderAccepted(msgspec.Struct, frozen=True):
    now: float
    client_id: str
    venue_order_id: str


class OrderRejected(msgspec.Struct, frozen=True):
    now: float
    client_id: str
    reason: str


class OrderFinal(msgspec.Struct, frozen=True):
    """An order reached a final state. ``filled_qty``/``avg_price`` are the venue's
    cumulative figures; every fill is delivered before this event."""

    now: float
    client_id: str
    status: OrderStatus
    filled_qty: float
    avg_price: float


class FeedHealth(msgspec.Struct, frozen=True):
    now: float
    leg: Leg
    fresh: bool
    detail: str = ""


class FeedLiveness(msgspec.Struct, frozen=True):
    """Whether a leg's market-data connection is live: it has had a frame (data, pong or
    acknowledgement) within its venue's liveness bound. ``live_since`` is when its current
    live period began (Unix seconds, the clock quotes' ``recv_ts`` are read on), ``None``
    while it is not live: a quote received before ``live_since`` may have been superseded
    unseen, so only quotes received since are the latest."""

    leg: Leg
    live_since: float | None


class StoreHealth(msgspec.Struct, frozen=True):
    """Whether the store takes order intents: ``failing`` is why not (``disk full:
    ...``), ``None`` when it does. While it does not, no entry may be decided: an
    order leaves only once its intent is stored."""

    now: float
    failing: str | None = None


class FundingPayment(msgspec.Struct, frozen=True):
    """Funding settled on the futures leg at ``now``: positive when received, negative
    when paid. ``ledger_id`` is the venue's id of the settlement in the account's ledger,
    by which one settlement counts once however often it is reported ("" when the source
    has none, as in a backtest, where each row is reported once)."""

    now: float
    amount_usdt: float
    ledger_id: str = ""


class FundingRateUpdate(msgspec.Struct, frozen=True):
    """The current funding rate (longs pay shorts when positive), its interval, and when
    it is settled (``next_ts``; ``None`` when the source does not say)."""

    now: float
    rate: float
    interval_s: float
    next_ts: float | None = None


class RulesUpdate(msgspec.Struct, frozen=True):
    now: float
    leg: Leg
    rules: VenueRules


class OperatorAction(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE_POSITION = "close_position"
    STOP = "stop"


class OperatorCommand(msgspec.Struct, frozen=True):
    now: float
    action: OperatorAction


class RiskModeChange(msgspec.Struct, frozen=True):
    """The portfolio's risk mode, to every strategy."""

    now: float
    mode: RiskMode
    reason: str


class ReduceExposure(msgspec.Struct, frozen=True):
    """Close ``fraction`` (0 < f <= 1) of both legs together; 1 closes the position, with
    ``reason`` as its exit reason."""

    now: float
    fraction: float
    reason: str


# ----------------------------------------------------------------------- commands


class PlaceOrder(msgspec.Struct, frozen=True):
    """Send this order. It must be journaled durably before it leaves for the venue.

    ``send_by`` (Unix seconds), set on an entry's legs: no attempt to send the order starts
    after it; the router reports such an order rejected instead, since what it was
    priced on may be gone by then."""

    order: Order
    send_by: float | None = None


class CancelOrder(msgspec.Struct, frozen=True):
    leg: Leg
    client_id: str
    symbol: Symbol
    """Venues look orders up per symbol (MEXC requires it), even by client id."""


class ReconcileOrder(msgspec.Struct, frozen=True):
    """Settle an order an earlier run left in flight: the router looks it up at the venue
    (by the venue's own id when the journal holds the venue's acknowledgement, else by
    client id), cancels it if it is still open, and reports its end to its owner (an
    order the venue never got is reported rejected)."""

    leg: Leg
    client_id: str
    symbol: Symbol
    venue_order_id: str | None = None
    """The venue's id of the order, as journaled when the venue acknowledged it."""


class Alert(msgspec.Struct, frozen=True):
    level: str  # "info", "warning" or "error"
    message: str


class TradeRecord(msgspec.Struct, frozen=True):
    """One completed arbitrage cycle, entry to exit, with average fill prices.

    ``fees_usdt`` are the venues' fees valued in USDT at each fill's price.
    ``spot_dust_qty`` is the base coin the spot account still holds after the exit: less
    than the venue takes in one order (fees charged in the base coin leave such
    remainders); the strategy keeps it on its spot leg and sells it with a later exit.
    """

    symbol: str
    entry_ts: float
    exit_ts: float
    qty: float
    entry_spot_price: float
    entry_futures_price: float
    exit_spot_price: float
    exit_futures_price: float
    pnl_usdt: float
    pnl_pct: float
    exit_reason: str
    fees_usdt: float
    funding_usdt: float
    spot_dust_qty: float = 0.0


class TradeClosed(msgspec.Struct, frozen=True):
    trade: TradeRecord


class TradeAmended(msgspec.Struct, frozen=True):
    """A closed cycle's record with funding settled during the cycle but reported after
    it closed; it replaces the record of the same ``entry_ts`` and ``exit_ts``."""

    trade: TradeRecord


StrategyCommand = PlaceOrder | CancelOrder | Alert | TradeClosed | TradeAmended


class MarketQuote(msgspec.Struct, frozen=True, gc=False):
    """A feed's newest quote of one leg, offered on a strategy's conflating lane."""

    leg: Leg
    quote: Quote
