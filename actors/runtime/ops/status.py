"""What the system reports about itself: the ``/status`` object and the log line. Built
from the statistics the actors report of themselves; cheap enough to build every
second."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import msgspec

from actors.arbitrage.actor import OrderOut
from actors.arbitrage.context import EntryTerms
from actors.arbitrage.machine import KILL_SWITCH
from actors.runtime.alerts.actor import AlertsStatus
from actors.runtime.cluster.keeper import ClusterStatistics
from actors.runtime.ops.recent_fills import FillOut
from actors.runtime.orders.clock_skew import judged
from actors.runtime.other_instances import OtherInstance
from actors.runtime.persistence.writer import WRITER_MAILBOX
from actors.runtime.risk.actor import RiskStatistics
from supervision import ChildSnapshot, SupervisorSnapshot

if TYPE_CHECKING:
    from actors.runtime.ops.statistics import SystemStatistics


class Reporting(Protocol):
    """What reports its actors' statistics: the trading system."""

    def statistics(self) -> SystemStatistics: ...


class TaskStatus(msgspec.Struct, frozen=True):
    task_id: str
    type: str
    symbol: str
    state: str
    cycles: int
    total_volume_usdt: float
    realized_pnl_usdt: float
    """Every cycle's P&L so far in USDT, the open cycle's fees, funding and closed parts
    included."""
    unrealized_pnl_usdt: float | None
    """What closing the open position now at the latest spot bid and futures ask would
    add, exit fees included, in USDT; ``None`` when flat or a leg has no quote."""
    total_pnl_usdt: float | None
    """``realized_pnl_usdt`` plus ``unrealized_pnl_usdt``; ``realized_pnl_usdt`` alone
    when flat, and ``None`` while a position is held whose unrealised P&L is unknown."""
    fees_usdt: float
    """Every fee the venues charged, in USDT."""
    restarts: int
    last_error: str | None
    position_qty: float
    """The spot leg's holding, in base units."""
    futures_qty: float
    """The futures leg's short, in base units."""
    entry_cost_pct: float | None
    funding_usdt: float
    funding_rate: float | None
    """The funding rate the next settlement applies; ``None`` while unknown."""
    funding_next_ts: float | None
    """When the next settlement falls (Unix time)."""
    paused_reason: str | None
    decisions: int
    resumed_at: float | None
    """When it last resumed deciding: its first decision on quotes after a start, a
    restart or its feeds turning fresh again (Unix time)."""
    futures_leverage: float | None = None
    """The leverage the futures venue holds the symbol's position at, as last read back
    (at start and each rules refresh); ``None`` if not read."""
    liquidation_price: float | None = None
    """Where the futures venue would liquidate the short, as last read back; 0 when it
    held nothing then."""
    unhedged_usdt_s: float = 0.0
    """How long and by how much its legs differed, over every cycle (USDT-seconds: the
    difference valued at the legs' price, integrated over time)."""
    cycle_unhedged_usdt_s: float = 0.0
    """The same in the current cycle so far."""
    longest_unhedged_s: float = 0.0
    """The longest single stretch its legs differed."""
    last_skip_reason: str | None = None
    """Why the last opportunity priced was not taken (``too little depth: ...``, ``no
    room: ...``, a venue minimum); ``None`` once an entry is taken."""
    holding: bool = False
    """A position is open (either leg more than its venue's smallest order; what an
    exit leaves as dust is none)."""
    unattributed_pnl_usdt: float = 0.0
    """The part of ``realized_pnl_usdt`` no cycle record holds yet, in USDT: at rest,
    what is carried into the next cycle's record (an entry that filled only dust, a
    venue's reduction of dust); a task stopped at rest keeps it in none."""
    spot_avg_price: float = 0.0
    futures_avg_price: float = 0.0
    spot_notional_usdt: float = 0.0
    """What the spot leg held cost: its quantity at its average price, in USDT."""
    futures_notional_usdt: float = 0.0
    """The futures short's quantity at its average price, in USDT."""
    net_delta_qty: float = 0.0
    """Spot quantity less futures quantity, in base units: what is not hedged."""
    net_delta_usdt: float | None = None
    """``net_delta_qty`` at the spot quote's mid; ``None`` without a spot quote."""
    spot_bid: float | None = None
    """The latest quotes the strategy holds; ``None`` for a leg without one."""
    spot_ask: float | None = None
    futures_bid: float | None = None
    futures_ask: float | None = None
    pnl_pct: float | None = None
    """The open position's P&L in percent exactly as the exit rule judges it now;
    ``None`` when flat or a leg has no price to close at."""
    max_entry_cost_pct: float = 0.0
    min_profit_pct: float = 0.0
    max_hours: float = 0.0
    """The task's parameters."""
    position_opened_at: float | None = None
    """When the open position's entry was first filled (Unix time)."""
    orders: list[OrderOut] = msgspec.field(default_factory=list)
    """The orders in flight, by ``created_ts`` then ``client_id``."""
    spot_venue: str = ""
    futures_venue: str = ""
    """The venue kinds the task trades at (its symbol's pair)."""
    entry_terms: EntryTerms | None = None
    """What an entry of the configured size would weigh now, for a task whose entries
    count funding (``funding_carry``, or ``[strategy] funding_aware_entry``): each term
    in % of the entry's notional, and whether the entry would pass (docs/strategy.md,
    "Funding-aware entry"); ``None`` for others, or before both legs have quotes."""


class Totals(msgspec.Struct, frozen=True):
    """Every task's figures added up, in USDT."""

    realized_pnl_usdt: float
    unrealized_pnl_usdt: float | None
    """The open positions' unrealised P&L; ``None`` when none is open, or when one's is
    not known (a leg without a quote): a sum without it would pass for the whole."""
    total_pnl_usdt: float | None
    """Realised plus unrealised; ``None`` when the unrealised P&L of an open position is
    not known."""
    fees_usdt: float
    funding_usdt: float
    volume_usdt: float
    open_positions: int
    """Tasks holding a position (``TaskStatus.holding``)."""


def totals_of(tasks: list[TaskStatus]) -> Totals:
    """``tasks`` added up; the unrealised P&L and the total are not known while an open
    position's unrealised P&L is not."""
    realized = sum(t.realized_pnl_usdt for t in tasks)
    held = [t for t in tasks if t.holding]
    unrealized: float | None = None
    if held and all(t.unrealized_pnl_usdt is not None for t in held):
        unrealized = sum(t.unrealized_pnl_usdt or 0.0 for t in held)
    unknown = any(t.total_pnl_usdt is None for t in tasks)
    return Totals(
        realized_pnl_usdt=realized,
        unrealized_pnl_usdt=unrealized,
        total_pnl_usdt=None if unknown else realized + (unrealized or 0.0),
        fees_usdt=sum(t.fees_usdt for t in tasks),
        funding_usdt=sum(t.funding_usdt for t in tasks),
        volume_usdt=sum(t.total_volume_usdt for t in tasks),
        open_positions=len(held),
    )


class FeedStatusOut(msgspec.Struct, frozen=True):
    name: str
    state: str
    detail: str
    connects: int
    messages: int
    quotes: int
    malformed: int
    gaps: int
    last_data_age_s: float | None
    fresh_at: float | None
    """When the feed last turned fresh (Unix time)."""


class RouterStatusOut(msgspec.Struct, frozen=True):
    name: str
    placed: int
    accepted: int
    rejected: int
    filled: int
    unknown_resolved: int
    rate_limited: int
    open_orders: int
    private_stream_up: bool
    private_stream_down: str | None
    entries_refused: dict[str, str]
    unresolved_orders: dict[str, str] = msgspec.field(default_factory=dict)


class HealthSignal(msgspec.Struct, frozen=True):
    """One thing wrong, and how much: ``degraded`` (trading goes on, something needs
    attention) or ``failing`` (the system cannot trade as it should)."""

    level: str
    reason: str
    key: str
    """What is wrong, the same for as long as it lasts (``feed:feed-mexc``,
    ``private-stream:router-gateio_futures``): what alerts follow from open to resolved."""


HEALTH_LEVELS = ("ok", "degraded", "failing")
"""From best to worst; the system's health is its worst signal's level."""


def worst_first(signals: list[HealthSignal]) -> list[HealthSignal]:
    return sorted(signals, key=lambda s: -HEALTH_LEVELS.index(s.level))


def health_of(signals: list[HealthSignal]) -> tuple[str, str]:
    """The overall health of ``signals`` (worst first) and its reason: the worst level,
    and every signal's reason."""
    if not signals:
        return "ok", "ok"
    return signals[0].level, "; ".join(s.reason for s in signals)


class PersistenceStatus(msgspec.Struct, frozen=True):
    active: int
    completed: int
    quarantined: int
    quarantine_reasons: list[str]
    batches: int
    snapshots: int
    intents: int
    events: int
    last_write_at: float | None
    write_latency_p50_ms: float | None
    write_latency_p99_ms: float | None
    queue_depth: int
    failing: str | None = None
    """Why the store refuses the writer's transactions, while it does."""
    failing_since: float | None = None


class HeldSymbol(msgspec.Struct, frozen=True):
    """A symbol quarantine holds out of trading until the operator resolves it."""

    symbol: str
    task_id: str
    reason: str
    since: float
    """When it was quarantined (Unix time)."""


class SystemStatus(msgspec.Struct, frozen=True):
    mode: str
    uptime_s: float
    healthy: bool
    """``health`` is ``ok``."""
    health: str
    """One of ``HEALTH_LEVELS``."""
    health_reason: str
    health_signals: list[HealthSignal]
    """Every reason the health is not ``ok``, the worst first."""
    tasks: list[TaskStatus]
    totals: Totals
    feeds: list[FeedStatusOut]
    routers: list[RouterStatusOut]
    tree: SupervisorSnapshot
    persistence: PersistenceStatus
    quarantined_symbols: list[HeldSymbol] = msgspec.field(default_factory=list)
    """Symbols not traded until ``basis quarantine resolve``."""
    instance: str = ""
    """This instance's id: the last part of each client order id it makes."""
    other_instances: list[OtherInstance] = msgspec.field(default_factory=list)
    """Other Basis instances whose orders the venues showed at start on these symbols:
    reported, their orders never touched."""
    alerts: AlertsStatus | None = None
    """``None`` where the system runs no alert actor."""
    risk: RiskStatistics | None = None
    """The risk mode (its reason, since when, who set it), the caps and their use, the
    balances, each futures position's distance to liquidation."""
    started_at: float = 0.0
    """When this system was built (Unix time): ``uptime_s`` counts from it."""
    symbols: list[str] = msgspec.field(default_factory=list)
    """Every symbol this instance trades, a live task or not."""
    recent_fills: list[FillOut] = msgspec.field(default_factory=list)
    """The newest fills of every strategy of this run (``RECENT_FILLS`` at most), oldest
    first (``actors.runtime.ops.recent_fills``)."""
    cluster: ClusterStatistics | None = None
    """Which symbols this instance holds the leases of, with their epochs, and whether
    it can renew them; ``None`` for an instance alone."""


def _children(tree: SupervisorSnapshot) -> dict[str, ChildSnapshot]:
    found: dict[str, ChildSnapshot] = {}
    for child in tree.children:
        found[child.name] = child
        if child.subtree is not None:
            found.update(_children(child.subtree))
    return found


def build_status(system: Reporting) -> SystemStatus:
    """The ``/status`` object of ``system`` now."""
    return status_of(system.statistics(), time.time())


def status_of(stats: SystemStatistics, now: float) -> SystemStatus:
    """The ``/status`` object that the actors' ``stats`` make at wall-clock time ``now``."""
    tree = stats.tree
    children = _children(tree)
    tasks = []
    for s in stats.strategies:
        child = children.get(s.name)
        position = stats.futures_positions.get(s.symbol)
        tasks.append(
            TaskStatus(
                task_id=s.task_id,
                type=s.type,
                symbol=s.symbol,
                state=s.state,
                cycles=s.cycles,
                total_volume_usdt=s.total_volume_usdt,
                realized_pnl_usdt=s.realized_pnl_usdt,
                unrealized_pnl_usdt=s.unrealized_pnl_usdt,
                total_pnl_usdt=_total(s.realized_pnl_usdt, s.unrealized_pnl_usdt, s.holding),
                fees_usdt=s.fees_usdt,
                restarts=child.restarts if child else 0,
                last_error=(child.last_error if child else None) or s.last_error,
                position_qty=s.position_qty,
                futures_qty=s.futures_qty,
                entry_cost_pct=s.entry_cost_pct,
                funding_usdt=s.funding_usdt,
                funding_rate=s.funding_rate,
                funding_next_ts=s.funding_next_ts,
                paused_reason=s.paused_reason,
                decisions=s.decisions,
                resumed_at=s.resumed_at,
                futures_leverage=None if position is None else position.leverage,
                liquidation_price=None if position is None else position.liq_price,
                unhedged_usdt_s=s.unhedged_usdt_s,
                cycle_unhedged_usdt_s=s.cycle_unhedged_usdt_s,
                longest_unhedged_s=s.longest_unhedged_s,
                last_skip_reason=s.last_skip_reason,
                holding=s.holding,
                unattributed_pnl_usdt=s.unattributed_pnl_usdt,
                spot_avg_price=s.spot_avg_price,
                futures_avg_price=s.futures_avg_price,
                spot_notional_usdt=s.spot_notional_usdt,
                futures_notional_usdt=s.futures_notional_usdt,
                net_delta_qty=s.net_delta_qty,
                net_delta_usdt=s.net_delta_usdt,
                spot_bid=s.spot_bid,
                spot_ask=s.spot_ask,
                futures_bid=s.futures_bid,
                futures_ask=s.futures_ask,
                pnl_pct=s.pnl_pct,
                max_entry_cost_pct=s.max_entry_cost_pct,
                min_profit_pct=s.min_profit_pct,
                max_hours=s.max_hours,
                position_opened_at=s.position_opened_at,
                orders=s.orders,
                spot_venue=s.spot_venue,
                futures_venue=s.futures_venue,
                entry_terms=s.entry_terms,
            )
        )
    feeds = _feeds_out(stats, now)
    routers = _routers_out(stats)
    w = stats.writer
    p50, p99 = w.write_latency_p50_s, w.write_latency_p99_s
    counts = stats.store_counts
    persistence = PersistenceStatus(
        counts.get("active", 0),
        counts.get("completed", 0),
        counts.get("quarantined", 0),
        list(stats.quarantined),
        w.batches,
        w.snapshots,
        w.intents,
        w.events,
        w.last_write_at,
        None if p50 is None else p50 * 1000,
        None if p99 is None else p99 * 1000,
        dict(stats.mailbox_depths).get(WRITER_MAILBOX, 0),
        w.failing,
        w.failing_since,
    )
    signals = worst_first(_health_signals(stats, feeds, routers))
    health, reason = health_of(signals)
    return SystemStatus(
        stats.mode,
        now - stats.started_at,
        health == "ok",
        health,
        reason,
        signals,
        tasks,
        totals_of(tasks),
        feeds,
        routers,
        tree,
        persistence,
        [HeldSymbol(*held) for held in stats.held_symbols],
        stats.instance,
        list(stats.other_instances),
        stats.alerts,
        stats.risk,
        stats.started_at,
        list(stats.symbols),
        list(stats.recent_fills),
        stats.cluster,
    )


def health_signals(stats: SystemStatistics, now: float) -> list[HealthSignal]:
    """The health signals of the ``/status`` object that ``stats`` make at ``now``, worst
    first, without the rest of it: what the alert actor reads twice a second."""
    return worst_first(_health_signals(stats, _feeds_out(stats, now), _routers_out(stats)))


def _feeds_out(stats: SystemStatistics, now: float) -> list[FeedStatusOut]:
    return [
        FeedStatusOut(
            f.name,
            f.state,
            f.detail,
            f.connects,
            f.messages,
            f.quotes,
            f.malformed,
            f.gaps,
            None if f.last_data_at is None else max(0.0, now - f.last_data_at),
            f.fresh_at,
        )
        for f in stats.feeds
    ]


def _routers_out(stats: SystemStatistics) -> list[RouterStatusOut]:
    return [
        RouterStatusOut(
            r.name,
            r.placed,
            r.accepted,
            r.rejected,
            r.filled,
            r.unknown_resolved,
            r.rate_limited,
            r.open_orders,
            r.private_stream_up,
            r.private_stream_down,
            dict(r.entries_refused),
            dict(r.unresolved_orders),
        )
        for r in stats.routers
    ]


def _total(realized: float, unrealized: float | None, holding: bool) -> float | None:
    """A task's total P&L: not known while it holds a position it cannot value."""
    if not holding:
        return realized
    return None if unrealized is None else realized + unrealized


def _health_signals(
    stats: SystemStatistics, feeds: list[FeedStatusOut], routers: list[RouterStatusOut]
) -> list[HealthSignal]:
    failing = [
        HealthSignal("failing", f"{f.name} {f.state}: {f.detail}", f"feed:{f.name}")
        for f in feeds
        if f.state != "fresh"
    ]
    failing += [
        HealthSignal("failing", f"supervisor gave up: {why}", f"gave-up:{name}")
        for name, why in _give_ups(stats.tree)
    ]
    # No intent can be journaled, so no order may leave: entries stop, decided orders wait.
    if stats.writer.failing is not None:
        failing.append(HealthSignal("failing", f"writer failing: {stats.writer.failing}", "writer"))
    # A venue that refuses the account takes no order: no hedge, no exit goes through.
    failing += [
        HealthSignal(
            "failing", f"{r.name} refuses orders: {r.orders_refused}", f"refusing:{r.name}"
        )
        for r in stats.routers
        if r.orders_refused is not None and r.account_refused
    ]
    # Orders are still followed by polling while a private stream is down, and the other
    # symbols trade while one refuses entries.
    degraded = [
        HealthSignal(
            "degraded",
            f"{r.name} private stream down: {r.private_stream_down}",
            f"private-stream:{r.name}",
        )
        for r in routers
        if r.private_stream_down is not None
    ]
    degraded += [
        HealthSignal(
            "degraded",
            f"{r.name}: {symbol} entries refused: {why}",
            f"entries-refused:{r.name}:{symbol}",
        )
        for r in routers
        for symbol, why in r.entries_refused.items()
    ]
    degraded += [
        HealthSignal(
            "degraded", f"{r.name} refuses orders: {r.orders_refused}", f"refusing:{r.name}"
        )
        for r in stats.routers
        if r.orders_refused is not None and not r.account_refused
    ]
    # The kill switch did its job: that symbol closes its position and waits for the
    # operator's resume; the others trade on.
    degraded += [
        HealthSignal("degraded", f"{s.symbol}: {s.paused_reason}", f"kill-switch:{s.symbol}")
        for s in stats.strategies
        if s.paused_reason is not None and s.paused_reason.startswith(KILL_SWITCH)
    ]
    # A quarantined record's symbol waits for the operator; the rest trades on.
    degraded += [
        HealthSignal("degraded", f"quarantined: {entry}", f"quarantine:{entry.partition(': ')[0]}")
        for entry in stats.quarantined
    ]
    # An order the venue no longer finds holds its strategy back until someone looks.
    degraded += [
        HealthSignal(
            "degraded",
            f"{r.name}: order {client_id} unresolved: {why}",
            f"unresolved-order:{client_id}",
        )
        for r in routers
        for client_id, why in r.unresolved_orders.items()
    ]
    # Another instance on the same account is no fault of this one, but an operator
    # should know: two instances trading one symbol share its futures position.
    degraded += [
        HealthSignal(
            "degraded", other.describe(), f"foreign-instance:{other.instance}:{other.symbol}"
        )
        for other in stats.other_instances
    ]
    # A cluster's instance that cannot renew its leases enters nothing, and each of its
    # symbols stops trading at its lease's end, to be taken over by another instance.
    if stats.cluster is not None and stats.cluster.renewal_failing is not None:
        degraded.append(
            HealthSignal(
                "degraded",
                f"cluster: leases not renewed ({stats.cluster.renewal_failing}): no entries "
                f"on {', '.join(stats.cluster.lame) or 'any symbol'}",
                "cluster-renewal",
            )
        )
    # A venue refuses signed requests from a clock outside its window: beyond half of
    # it, a little more drift and nothing can be placed or cancelled there.
    for r in stats.routers:
        if r.clock_skew_s is None or r.clock_window is None:
            continue
        verdict = judged(r.clock_skew_s, r.clock_window)
        if verdict is not None:
            level, why = verdict
            signal = HealthSignal(level, f"{r.name}: {why}", f"clock-skew:{r.name}")
            (failing if level == "failing" else degraded).append(signal)
    degraded += _risk_signals(stats.risk)
    return failing + degraded


def _risk_signals(risk: RiskStatistics | None) -> list[HealthSignal]:
    """A mode other than active, a futures position near liquidation, balances unread."""
    if risk is None:
        return []
    found = []
    if risk.mode != "active":
        found.append(
            HealthSignal(
                "degraded", f"risk mode {risk.mode} ({risk.set_by}): {risk.reason}", "risk-mode"
            )
        )
    found += [
        HealthSignal(
            "degraded",
            f"{view.symbol}: liquidation {view.distance_pct:.1f}% away (mark {view.mark_price:g}, "
            f"liquidation {view.liq_price:g})",
            f"liquidation:{view.symbol}",
        )
        for view in risk.liquidation
        if view.action is not None and view.distance_pct is not None
    ]
    if risk.balances_error is not None:
        found.append(
            HealthSignal(
                "degraded",
                f"the venues' balances cannot be read ({risk.balances_error}); caps use the last",
                "balances",
            )
        )
    return found


def _give_ups(tree: SupervisorSnapshot) -> list[tuple[str, str]]:
    """``(supervisor, why it gave up)`` of each supervisor in ``tree`` that gave up."""
    found = [(tree.name, f"{tree.name}: {tree.last_give_up}")] if tree.give_ups else []
    for child in tree.children:
        if child.subtree is not None:
            found += _give_ups(child.subtree)
    return found


def one_line(status: SystemStatus) -> str:
    """The periodic status line for logs without a terminal."""
    tasks = ", ".join(
        f"{t.symbol} {t.state} cycles={t.cycles} realised={_usdt(t.realized_pnl_usdt)} "
        f"unrealised={_usdt(t.unrealized_pnl_usdt)} "
        f"funding={_rate(t.funding_rate)}/{_usdt(t.funding_usdt)}"
        for t in status.tasks
    )
    sums = status.totals
    totals = (
        f"P&L {_usdt(sums.total_pnl_usdt)} (realised {_usdt(sums.realized_pnl_usdt)}, "
        f"unrealised {_usdt(sums.unrealized_pnl_usdt)}), fees {sums.fees_usdt:.4f} USDT, "
        f"funding {_usdt(sums.funding_usdt)}, volume {sums.volume_usdt:.2f} USDT, "
        f"{sums.open_positions} open position(s)"
    )
    feeds = ", ".join(f"{f.name}={f.state}" for f in status.feeds)
    return f"status: {tasks}; {totals}; feeds {feeds}; health {status.health_reason}"


def _usdt(amount: float | None) -> str:
    """``+1.2500 USDT``, signed; ``-`` for an amount not known."""
    return "-" if amount is None else f"{amount:+.4f} USDT"


def _rate(rate: float | None) -> str:
    return "?" if rate is None else f"{percent(rate)}%"


def percent(rate: float) -> str:
    """A funding rate in %, signed: to four decimals (``+0.0125``), or to three
    significant digits where four decimals would show a rate that is not nought as
    nought (a short interval's, ``+2.08e-05``)."""
    shown = f"{rate * 100:+.4f}"
    if rate != 0.0 and float(shown) == 0.0:
        return f"{rate * 100:+.3g}"
    return shown
