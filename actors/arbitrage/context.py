"""The arbitrage strategy's context: everything it knows, as one serializable record.

The context is persisted after every state transition and is all a restarted strategy
needs to carry on, so it holds no quotes (they are stale after a restart anyway) and it
changes only when something is decided. ``ctx.evolve(...)`` returns an updated copy;
``a__b`` reaches into nested structs (``positions__spot__qty=0.25``).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import msgspec

from protocols.messages import TradeRecord
from protocols.model import LegPosition, Order, OrderType, RiskMode, Symbol, VenueRules

TASK_TYPE = "spot_futures_arbitrage"
FUNDING_CARRY = "funding_carry"
"""The carry strategy's task type: the same legs, held for the funding the short receives
(docs/strategy.md, "Funding carry")."""
TASK_TYPES = (TASK_TYPE, FUNDING_CARRY)
LEGACY_TASK_TYPES = ("mexc_gateio_arbitrage",)
SCHEMA_VERSION = 1

# A task id begins each of its client order ids (protocols/client_ids.py), which must fit
# both venues' rules: hence at most 16 characters and no hyphen.
_TASK_ID = re.compile(r"^[A-Za-z0-9_]{1,16}$")


class ArbitrageState(enum.Enum):
    """Where a strategy is in its cycle (docs/strategy.md, "States"); :data:`TRANSITIONS`
    says where it may go from each.

    IDLE: created, no quotes seen yet. MONITORING: flat, looking for an entry. ENTERING,
    EXITING: both legs' orders of an entry or an exit are in flight. POSITION_OPEN: both
    legs held, waiting for an exit. IMBALANCED: one leg holds more than the other, and
    corrective orders are placed until they match (or both are flattened). PAUSED: flat,
    and no entries (operator, stale feed, kill switch, failed correction). STOPPED: done
    for good.

    A restored strategy resumes in the state it was saved in: orders it had in flight
    are settled by what the venues report of them, as in any other run.
    """

    IDLE = "idle"
    MONITORING = "monitoring"
    ENTERING = "entering"
    POSITION_OPEN = "position_open"
    EXITING = "exiting"
    IMBALANCED = "imbalanced"
    PAUSED = "paused"
    STOPPED = "stopped"

    @classmethod
    def _missing_(cls, value: object) -> ArbitrageState | None:
        # Once documented as "error_recovery" (waiting for reconciliation after a
        # restart) though never entered. A record that says so is one in doubt: it
        # restores as IMBALANCED, which waits for what is in flight, corrects legs that
        # differ (flattening both after max_correction_attempts) and settles legs that
        # do not.
        if value == _LEGACY_ERROR_RECOVERY:
            return cls.IMBALANCED
        return None


_LEGACY_ERROR_RECOVERY = "error_recovery"

_S = ArbitrageState
# Where a strategy goes when it holds no position: stopped if asked to stop, paused if
# it must not enter, monitoring otherwise.
_AT_REST = frozenset({_S.MONITORING, _S.PAUSED, _S.STOPPED})

TRANSITIONS: Mapping[ArbitrageState, frozenset[ArbitrageState]] = MappingProxyType(
    {
        # The first quotes start the strategy, and may be its entry too.
        _S.IDLE: frozenset({_S.ENTERING}) | _AT_REST,
        _S.MONITORING: frozenset({_S.ENTERING, _S.PAUSED, _S.STOPPED}),
        # Every order ended: holding both legs, one more than the other, or nothing.
        _S.ENTERING: frozenset({_S.POSITION_OPEN, _S.IMBALANCED}) | _AT_REST,
        # An exit starts; only dust held (nothing a venue takes) closes the cycle at once;
        # the venue reduced the short by itself, and the spot leg is sold down to match.
        _S.POSITION_OPEN: frozenset({_S.EXITING, _S.IMBALANCED}) | _AT_REST,
        # Every order ended: partly closed, one leg closed more, or the cycle closed.
        _S.EXITING: frozenset({_S.POSITION_OPEN, _S.IMBALANCED}) | _AT_REST,
        # Corrected to a position or to flat, or flattening both legs.
        _S.IMBALANCED: frozenset({_S.POSITION_OPEN, _S.EXITING}) | _AT_REST,
        _S.PAUSED: frozenset({_S.MONITORING, _S.STOPPED}),
        _S.STOPPED: frozenset(),
    }
)
"""The states one event may take a strategy to, from each state. Staying where it is
is always allowed, so no state lists itself."""


class ForbiddenTransition(RuntimeError):
    """The machine moved a strategy between states :data:`TRANSITIONS` does not connect:
    a bug in the machine, never a matter of its input."""


def check_transition(before: ArbitrageContext, after: ArbitrageContext, event: str) -> None:
    """Raise :class:`ForbiddenTransition` unless ``before.state`` may become
    ``after.state`` on one event (``event`` names it, for the message)."""
    allowed = TRANSITIONS[before.state]
    if after.state is before.state or after.state in allowed:
        return
    others = ", ".join(sorted(state.name for state in allowed)) or "nothing: it is final"
    raise ForbiddenTransition(
        f"task {before.task_id}: {event} moved the strategy from {before.state.name} to "
        f"{after.state.name}; from {before.state.name} it may only go to {others}"
    )


class CarryParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The decisions of a ``funding_carry`` task (docs/strategy.md, "Funding carry").

    It enters when the funding expected over ``horizon_h`` beats the entry's cost, fees
    and slippage by ``margin_pct``; it exits at the horizon, once the indicative rate has
    been negative for ``adverse_hours``, or once the legs' price difference has lost
    ``basis_stop_pct`` of the entry notional (funding left out)."""

    horizon_h: float = 168.0
    margin_pct: float = 0.05
    adverse_hours: float = 8.0
    basis_stop_pct: float = 2.0
    exit_window_s: float = 900.0
    """A horizon exit due this long before a settlement the short receives waits for it;
    one before a settlement it pays is made before it."""


class ArbitrageParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Strategy parameters (docs/strategy.md), apart from size and leverage (on the context).

    ``leg_timeout_s`` bounds how long an order may stay unresolved before it is cancelled;
    ``max_loss_usdt`` (optional) is the kill switch on the strategy's realized loss;
    ``require_non_negative_funding`` blocks entries while the funding rate would make the
    short leg pay over ``max_hours``.
    """

    max_entry_cost_pct: float = 0.5
    min_profit_pct: float = 0.58
    max_hours: float = 6.0
    spot_fee: float = 0.0005
    fut_fee: float = 0.0005
    max_quote_age_s: float = 10.0
    cooldown_s: float = 0.0
    leg_timeout_s: float = 10.0
    max_correction_attempts: int = 3
    max_loss_usdt: float | None = None
    require_non_negative_funding: bool = False
    order_type: OrderType = OrderType.LIMIT
    entry_send_within_s: float = 1.0
    """How long after its decision an entry leg may still be sent (``PlaceOrder.send_by``)."""
    correction_slippage_pct: float = 0.5
    """How far past the best price (in % of it) a correction or a flattening order may
    trade: its limit price, buying at most this much above the ask and selling at most
    this much below the bid (``[risk] correction_slippage_pct``)."""
    max_slippage_pct: float = 0.1
    """How far (% of the best price) an entry's depth-weighted price may be from the best,
    on each book: an entry is no larger than both books fill within it."""
    cycle_stop_loss_pct: float | None = None
    """A cycle whose P&L (fees and funding included) falls below minus this % of its entry
    notional is closed (exit reason ``stop_loss``); ``None``: no such stop."""
    funding_aware_entry: bool = False
    """Enter only when the basis convergence and the funding expected over the planned
    hold cover the entry's cost, fees and slippage by ``entry_margin_pct``
    (docs/strategy.md, "Funding-aware entry")."""
    planned_hold_h: float | None = None
    """The hold the funding-aware entry counts funding over; ``None``: ``max_hours``."""
    entry_margin_pct: float = 0.0
    settlement_window_s: float = 0.0
    """A timeout or profit exit due this long before a settlement the short receives
    waits for it, and a timeout just after one it pays is made before it; 0: exits
    ignore settlements (docs/strategy.md, "Exits around settlements")."""
    settlement_grace_s: float = 60.0
    """How long past a settlement an exit waiting for it waits at most."""
    funding_half_life_h: float = 24.0
    """The half-life of the decayed mean of settled funding rates (``FundingHistory``)."""
    carry: CarryParams | None = None
    """A ``funding_carry`` task's decisions (its defaults when ``None``)."""


class Liveness(msgspec.Struct, frozen=True, gc=False):
    """Since when each leg's market-data connection has been live (Unix seconds, on the
    clock of quotes' ``recv_ts``), ``None`` while it is not (``FeedLiveness``). Entries
    are decided only while both are live, on quotes received since."""

    spot_since: float | None = None
    futures_since: float | None = None


ALWAYS_LIVE = Liveness(-math.inf, -math.inf)
"""Recorded quotes (a backtest) have no connections: each is the latest when it comes."""


class Positions(msgspec.Struct, frozen=True, gc=False):
    spot: LegPosition = LegPosition()
    futures: LegPosition = LegPosition()

    @property
    def delta_qty(self) -> float:
        """Spot traded minus futures short, in base units: 0 when the legs match. The
        spot leg counts what it holds and the base coin its fees took from that (a buy
        whose fee came out of the coin holds less than the short it is paired with, and
        is no imbalance for that)."""
        return self.spot.qty + self.spot.base_fees - self.futures.qty


class LegRules(msgspec.Struct, frozen=True):
    spot: VenueRules = VenueRules()
    futures: VenueRules = VenueRules()


class FundingHistory(msgspec.Struct, frozen=True, gc=False):
    """The decayed mean of the funding rates settled so far, per hour
    (``funding_forecast.fold``): each rate divided by its contract's interval in hours,
    weighted by that interval, older ones decayed by ``funding_half_life_h``.
    ``settled_until`` is the settlement time of the newest rate folded in: a rate is
    folded once, whatever is reported again after a restart."""

    mean_per_h: float = 0.0
    weight_h: float = 0.0
    """The decayed hours the mean holds; 0: no rate settled yet."""
    settled_until: float | None = None


class EntryTerms(msgspec.Struct, frozen=True, gc=False):
    """What an entry decision weighed, in % of the spot leg's entry notional
    (docs/strategy.md, "Funding-aware entry"): ``net = convergence + funding - cost -
    fees - slippage``, and the entry passes when ``net >= margin``."""

    ts: float
    cost: float
    fees: float
    slippage: float
    convergence: float
    funding: float
    margin: float
    net: float
    passes: bool
    hold_h: float
    settlements: int
    """The settlements ``funding`` counts within ``hold_h``."""


class Opportunity(msgspec.Struct, frozen=True):
    """The quotes an entry was decided on, and how old each was at the decision
    (``None`` in records from before the ages were kept)."""

    ts: float
    entry_cost_pct: float
    spot_ask: float
    futures_bid: float
    qty: float
    spot_quote_age_s: float | None = None
    futures_quote_age_s: float | None = None
    wanted_qty: float | None = None
    """What the configured size alone would have bought, when less was entered."""
    limited_by: str | None = None
    """What made the entry smaller than the configured size (the books' depth, or the
    cap that left too little room), ``None`` when it was not."""
    terms: EntryTerms | None = None
    """What the entry weighed, when its decision counted funding."""


class Reduction(msgspec.Struct, frozen=True, gc=False):
    """Part of the position to close at the next quotes (``ReduceExposure``)."""

    fraction: float
    reason: str


class Cycle(msgspec.Struct, frozen=True, gc=False):
    """Running totals of the current cycle, entry to exit, for its trade record. An entry
    that ended holding less than a venue takes (no position) leaves its totals to the
    next cycle, which sells what it holds."""

    realized_usdt: float = 0.0
    spot_bought_qty: float = 0.0
    spot_bought_value: float = 0.0
    futures_sold_qty: float = 0.0
    futures_sold_value: float = 0.0
    spot_sold_qty: float = 0.0
    spot_sold_value: float = 0.0
    futures_bought_qty: float = 0.0
    futures_bought_value: float = 0.0
    fees_usdt: float = 0.0
    funding_usdt: float = 0.0
    unhedged_usdt_s: float = 0.0
    """The legs' difference over time, valued at the legs' price (USDT-seconds),
    counted while it was at least the smallest order either venue takes."""
    longest_unhedged_s: float = 0.0
    """The longest single stretch the legs differed, closed stretches and the open one."""
    unhedged_since: float | None = None
    """When the legs began to differ, while they do."""
    unhedged_until: float | None = None
    """Up to when ``unhedged_usdt_s`` is counted (the latest event's time)."""
    basis_usdt: float = 0.0
    """What the legs closed so far made at their decision prices (docs/strategy.md,
    "P&L of a cycle, decomposed"); with the fees, the slippage below and the funding,
    ``realized_usdt``."""
    spot_fees_usdt: float = 0.0
    futures_fees_usdt: float = 0.0
    spot_slippage_usdt: float = 0.0
    futures_slippage_usdt: float = 0.0
    """What each leg's closed fills got beyond their decision prices, and beyond the
    decision prices of what they closed (negative when worse)."""
    spot_bought_past_decision: float = 0.0
    futures_sold_past_decision: float = 0.0
    spot_sold_past_decision: float = 0.0
    futures_bought_past_decision: float = 0.0
    """Each direction's fills' quantity times their price less their decision price:
    its value less this, over its quantity, is its average decision price (a record
    from before these were kept counts its fills at their own prices)."""
    volume_usdt: float = 0.0
    """What the cycle's fills traded on both legs, in USDT."""


class VenueReduction(msgspec.Struct, frozen=True):
    """The venue reduced a leg without an order of ours (``VenuePositionChanged``): when
    the strategy learnt it, from what to what, and how it was found; ``count`` numbers
    the strategy's reductions, so one that follows another closely is still counted."""

    ts: float
    leg: str
    from_qty: float
    to_qty: float
    cause: str = ""
    count: int = 1


class ArbitrageContext(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One strategy's whole state (docs/strategy.md, "Context").

    ``active_orders`` maps a leg (``"spot"``/``"futures"``, one venue each) to its open
    orders by client order id. ``deadline`` is set whenever an order is in flight: the
    machine cancels what is still open when it passes, so it can never wait for ever.
    """

    task_id: str
    symbol: Symbol
    spot_venue: str = "mexc"
    futures_venue: str = "gateio_futures"
    base_position_size_usdt: float = 100.0
    futures_leverage: float = 1.0
    params: ArbitrageParams = ArbitrageParams()
    rules: LegRules = LegRules()
    task_type: str = TASK_TYPE
    schema_version: int = SCHEMA_VERSION
    state: ArbitrageState = ArbitrageState.IDLE
    positions: Positions = Positions()
    active_orders: dict[str, dict[str, Order]] = {}
    current_opportunity: Opportunity | None = None
    arbitrage_cycles: int = 0
    total_volume_usdt: float = 0.0
    realized_pnl_usdt: float = 0.0
    funding_usdt: float = 0.0
    fees_usdt: float = 0.0
    """Every fee the venues charged, over every cycle, valued in USDT at each fill's
    price (already taken off ``realized_pnl_usdt``)."""
    cycle: Cycle = Cycle()
    created_at: float = 0.0
    position_opened_at: float | None = None
    last_update: float = 0.0
    last_error: str | None = None
    paused_reason: str | None = None
    stale_legs: tuple[str, ...] = ()
    store_failing: str | None = None
    """Why the store refuses order intents, while it does (no entries meanwhile)."""
    deadline: float | None = None
    overdue_count: int = 0
    cooldown_until: float = 0.0
    exit_reason: str | None = None
    imbalance_goal: str | None = None
    correction_attempts: int = 0
    order_seq: int = 0
    funding_rate: float | None = None
    funding_interval_s: float = 8 * 3600.0
    funding_next_ts: float | None = None
    """When the known ``funding_rate`` is settled; past it, the rate is unknown again."""
    funding_ledger_ids: tuple[str, ...] = ()
    """The venue's ledger ids of the latest funding settlements applied, newest last, so
    one reported again (a poll, a restart) is not counted twice."""
    funding_applied_until: float | None = None
    """The settlement time of the newest funding settlement applied: one reported again
    from before it is ignored whatever the ids kept; one at that very time is told apart
    by ``funding_ledger_ids``."""
    funding_history: FundingHistory = FundingHistory()
    """The rates settled so far, for the forecast of the settlements after the next."""
    funding_adverse_since: float | None = None
    """Since when the indicative rate has made the short pay (a ``funding_carry`` task's
    exit), ``None`` while it does not."""
    settlement_wait: float | None = None
    """The settlement a due exit waits for (``settlement_window_s``), while it does."""
    settlement_wait_floor_usdt: float | None = None
    """While a profit exit waits for a settlement: the P&L if closed below which it
    waits no longer (what it was when the wait began, less the payment expected)."""
    last_trade: TradeRecord | None = None
    """The last closed cycle's record: funding settled during that cycle but reported
    after its exit is added to it."""
    last_cycle_began_at: float | None = None
    """When the last closed cycle decided to enter (its short may fill before the entry
    has ended): with ``last_trade.exit_ts``, the span whose settlements were its own."""
    loss_baseline_usdt: float = 0.0
    venue_reduction: VenueReduction | None = None
    """The last time the venue reduced a leg by itself (kept after the cycle ends, so the
    alerts read it once)."""
    unhedged_usdt_s: float = 0.0
    """Every cycle's ``Cycle.unhedged_usdt_s`` added up, the current one's included."""
    longest_unhedged_s: float = 0.0
    """The longest single stretch the legs differed, over every cycle."""
    last_skip_reason: str | None = None
    stop_requested: bool = False
    risk_mode: RiskMode = RiskMode.ACTIVE
    """The portfolio's risk mode as last told (``RiskModeChange``): no entries unless
    active, no new order at all while halted."""
    risk_reason: str | None = None
    reduction: Reduction | None = None
    """A partial close asked for and not placed yet (it waits for quotes, and for the
    position to be open)."""
    instance: str = ""
    """The Basis instance (its data directory's id) whose orders this strategy sends: it
    is in every client order id. Empty in a backtest, whose orders no venue sees."""

    def evolve(self, **changes: Any) -> ArbitrageContext:
        """A copy with ``changes``; see :func:`evolve`."""
        return evolve(self, **changes)


def new_context(
    task_id: str,
    symbol: Symbol,
    *,
    now: float,
    base_position_size_usdt: float = 100.0,
    futures_leverage: float = 1.0,
    params: ArbitrageParams | None = None,
    rules: LegRules | None = None,
    spot_venue: str = "mexc",
    futures_venue: str = "gateio_futures",
    instance: str = "",
    task_type: str = TASK_TYPE,
) -> ArbitrageContext:
    """A fresh strategy context; ``task_id`` must be 1-16 of ``[A-Za-z0-9_]``, and
    ``task_type`` one of :data:`TASK_TYPES`."""
    if task_type not in TASK_TYPES:
        raise ValueError(
            f"task type {task_type!r} is none of the strategy's: {', '.join(TASK_TYPES)}"
        )
    if not _TASK_ID.match(task_id):
        raise ValueError(
            f"task id {task_id!r} must be 1 to 16 letters, digits or underscores "
            "(it prefixes every client order id)"
        )
    return ArbitrageContext(
        task_id=task_id,
        symbol=symbol,
        spot_venue=spot_venue,
        futures_venue=futures_venue,
        base_position_size_usdt=base_position_size_usdt,
        futures_leverage=futures_leverage,
        params=params or ArbitrageParams(),
        rules=rules or LegRules(),
        created_at=now,
        last_update=now,
        instance=instance,
        task_type=task_type,
    )


class UnknownField(AttributeError):
    """``evolve`` was given a name the struct does not have."""


S = TypeVar("S", bound=msgspec.Struct)


def evolve(struct: S, **changes: Any) -> S:
    """A copy of ``struct`` with ``changes``; ``outer__inner=value`` changes a nested field.

    Raises :class:`UnknownField` naming the first unknown name, and ``TypeError`` when a
    double underscore reaches into something that is not a struct.
    """
    kind = type(struct)
    fields = kind.__struct_fields__
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for name, value in changes.items():
        head, through, rest = name.partition("__")
        if head not in fields:
            where = f" (in {name!r})" if through else ""
            raise UnknownField(f"{kind.__name__} has no field {head!r}{where}")
        if through:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner_changes in nested.items():
        if head in direct:
            raise TypeError(f"{kind.__name__}.{head} is both replaced and changed inside")
        inner = getattr(struct, head)
        if not isinstance(inner, msgspec.Struct):
            raise TypeError(
                f"{kind.__name__}.{head} is a {type(inner).__name__}, not a struct: "
                f"cannot change {head}__{next(iter(inner_changes))}"
            )
        direct[head] = evolve(inner, **inner_changes)
    return msgspec.structs.replace(struct, **direct)
