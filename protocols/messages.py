"""Messages between actors: the events a strategy reacts to and the commands it issues.

All are frozen structs, so they can be journaled and replayed as they are. ``now`` is the
time the event happened (Unix seconds); the pure state machine has no clock of its own.
"""

from __future__ import annotations

import enum

import msgspec

from protocols.history import FillRecord, FundingRecord
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


class VenuePositionChanged(msgspec.Struct, frozen=True):
    """The venue holds less on a strategy's ``leg`` than the strategy does, and no order of
    ours explains it (auto-deleveraging, a liquidation, a trade placed by hand): found
    with none of the strategy's orders on that leg in flight and all its fills applied,
    and confirmed by asking the venue. ``held_qty`` is what the strategy held when the
    venue was read (the message is stale if it holds otherwise now), ``venue_qty`` what
    the venue holds for it, both in base units (the futures short positive). ``price``
    values the part the venue closed (its mark price; 0 when not known), ``cause`` says
    how it was found."""

    now: float
    leg: Leg
    symbol: Symbol
    held_qty: float
    venue_qty: float
    price: float = 0.0
    cause: str = ""


class OperatorAction(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE_POSITION = "close_position"
    STOP = "stop"


class OperatorCommand(msgspec.Struct, frozen=True):
    now: float
    action: OperatorAction


class RiskModeChange(msgspec.Struct, frozen=True):
    """The portfolio's risk mode changed (a stop tripped, the operator asked): every
    strategy gets it. ``reason`` says why, for the status and the alerts."""

    now: float
    mode: RiskMode
    reason: str


class ReduceExposure(msgspec.Struct, frozen=True):
    """Close ``fraction`` (0 < fraction <= 1) of both legs together; 1 closes the
    position, with ``reason`` as the exit's reason."""

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


class AmendOrder(msgspec.Struct, frozen=True):
    """Bring an open order down to ``new_qty`` in all (base units; what it filled
    included), on a venue that amends an open order's size in place. An order that has
    filled ``new_qty`` or more by the time the venue has the request ends there (Gate.io
    cancels it); one that already ended is left to its reports."""

    leg: Leg
    client_id: str
    symbol: Symbol
    new_qty: float


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
    ``unhedged_usdt_s`` is how long and by how much the legs differed during the cycle:
    the integral over time of the difference between the legs (while it was at least
    the smallest order either venue takes) valued at the legs' price, in USDT-seconds;
    ``longest_unhedged_s`` the longest single stretch they differed.
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
    unhedged_usdt_s: float = 0.0
    longest_unhedged_s: float = 0.0
    task_id: str = ""
    cycle: int = 0
    """The cycle's number within its task (1 for the first): with ``task_id``, what
    identifies it in the store."""
    spot_venue: str = ""
    futures_venue: str = ""
    decided_at: float | None = None
    """When the entry was decided (its quotes' time), before either leg filled."""
    entry_cost_pct: float | None = None
    """The entry cost % the entry was decided on."""
    entry_spot_decision: float = 0.0
    entry_futures_decision: float = 0.0
    exit_spot_decision: float = 0.0
    exit_futures_decision: float = 0.0
    """Each leg's decision prices, averaged over its fills like the fill prices above:
    the best price on the book when the order was decided (the ask to buy, the bid to
    sell), against which slippage is measured."""
    basis_usdt: float = 0.0
    spot_fees_usdt: float = 0.0
    futures_fees_usdt: float = 0.0
    spot_slippage_usdt: float = 0.0
    futures_slippage_usdt: float = 0.0
    """The decomposition of ``pnl_usdt``: ``basis_usdt`` (what both legs made at their
    decision prices) ``- spot_fees_usdt - futures_fees_usdt + funding_usdt +
    spot_slippage_usdt + futures_slippage_usdt`` (what the fills got beyond the decision
    prices, negative when worse) equals ``pnl_usdt``."""
    volume_usdt: float = 0.0
    """Both legs' traded value in the cycle, entry, corrections and exit."""

    @property
    def decomposed_usdt(self) -> float:
        """The decomposition's parts added up: ``pnl_usdt``, as the parts tell it."""
        return (
            self.basis_usdt
            - self.spot_fees_usdt
            - self.futures_fees_usdt
            + self.funding_usdt
            + self.spot_slippage_usdt
            + self.futures_slippage_usdt
        )


class TradeClosed(msgspec.Struct, frozen=True):
    trade: TradeRecord


class TradeAmended(msgspec.Struct, frozen=True):
    """A closed cycle's record with funding settled during the cycle but reported after
    it closed; it replaces the record of the same ``entry_ts`` and ``exit_ts``."""

    trade: TradeRecord


StrategyCommand = (
    PlaceOrder
    | CancelOrder
    | AmendOrder
    | Alert
    | TradeClosed
    | TradeAmended
    | FillRecord
    | FundingRecord
)


class MarketQuote(msgspec.Struct, frozen=True, gc=False):
    """A feed's newest quote of one leg, offered on a strategy's conflating lane."""

    leg: Leg
    quote: Quote
