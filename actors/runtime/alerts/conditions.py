"""What is wrong in one observation of the running system: every health signal, and the
conditions health does not cover (legs unhedged, an order's outcome unknown, a reconnect
storm, funding turning against a position), each under a stable key; and the point
events it shows (an exit at ``max_hours``). Pure: the caller passes the clocks."""

from __future__ import annotations

from collections import deque

import attrs
import msgspec

from actors.arbitrage.context import ArbitrageContext, VenueReduction
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.incidents import Condition
from protocols.model import RiskMode
from protocols.rules import min_order_usdt

STORM_WINDOW_S = 60.0
MAX_HOURS_EXIT = "timeout"
"""The exit reason the strategy's machine records when a position reached ``max_hours``."""


class TaskExposure(msgspec.Struct, frozen=True):
    """What a strategy holds and has in flight, as alerts need it."""

    task_id: str
    symbol: str
    unhedged_usdt: float
    """What the legs differ by (spot held, its base fees included, against the short),
    valued at what the legs cost."""
    bound_usdt: float
    """The smallest order either venue takes: a smaller difference cannot be corrected
    and is no incident."""
    orders_in_flight: tuple[tuple[str, float], ...]
    """``(client id, when it was created (Unix time))`` of each order with no outcome yet."""
    exit_reason: str | None
    position_opened_at: float | None
    funding_rate: float | None
    """The rate of the next funding settlement, if known."""
    futures_qty: float
    """The short, in base units."""
    venue_reduction: VenueReduction | None = None
    """The last time the venue reduced a leg without an order of ours."""
    halted: bool = False
    """The portfolio's risk mode is ``halted``: nothing is placed, a correction included."""


class Signal(msgspec.Struct, frozen=True):
    """A health signal of ``/status``: ``level``, ``reason``, the stable ``key``."""

    level: str
    reason: str
    key: str


class FeedConnects(msgspec.Struct, frozen=True):
    name: str
    connects: int
    """New connections since the feed was built: only grows."""
    detail: str
    """Why it is not fresh (empty when it is)."""


def exposure_of(ctx: ArbitrageContext) -> TaskExposure:
    """What the strategy of ``ctx`` holds and has in flight. The bound is the strategy's
    own: the smallest order either venue takes, as its machine corrects imbalances."""
    positions = ctx.positions
    price = max(positions.spot.avg_price, positions.futures.avg_price)
    unhedged = abs(positions.delta_qty) * price if price > 0.0 else 0.0
    bound = min(min_order_usdt(ctx.rules.spot, price), min_order_usdt(ctx.rules.futures, price))
    return TaskExposure(
        ctx.task_id,
        str(ctx.symbol),
        unhedged,
        max(bound, 1e-6),
        tuple(
            (order.client_id, order.created_ts)
            for orders in ctx.active_orders.values()
            for order in orders.values()
        ),
        ctx.exit_reason,
        ctx.position_opened_at,
        ctx.funding_rate,
        positions.futures.qty,
        ctx.venue_reduction,
        ctx.risk_mode is RiskMode.HALTED,
    )


class Observation(msgspec.Struct, frozen=True):
    """The running system at one moment, as alerts read it."""

    signals: tuple[Signal, ...]
    feeds: tuple[FeedConnects, ...]
    tasks: tuple[TaskExposure, ...]


_SEVERITY = {"failing": "critical", "degraded": "warning"}


@attrs.define
class ConditionWatch:
    """Reads observations one after another; keeps what needs a history (each feed's
    connection count over the last minute, the exits already seen)."""

    config: AlertsSection
    since: float = float("-inf")
    """Unix time the watch began: a venue reduction learnt before it was told by an
    earlier run (it stays in the strategy's stored record)."""
    _connects: dict[str, deque[tuple[float, int]]] = attrs.field(factory=dict)
    _exits_seen: set[tuple[str, float | None]] = attrs.field(factory=set)
    _reductions_seen: dict[str, int] = attrs.field(factory=dict)
    """Task id → the count of the last venue reduction told of."""

    def conditions(self, observation: Observation, now: float, wall_now: float) -> list[Condition]:
        """Every condition ``observation`` shows; ``now`` is a monotonic clock (for the
        storm's window), ``wall_now`` Unix time (for orders' ages)."""
        config = self.config
        found = [
            Condition(
                s.key,
                _SEVERITY.get(s.level, "warning"),
                s.reason,
                f"health is {s.level}: {s.reason} (/status health signal {s.key})",
            )
            for s in observation.signals
        ]
        for task in observation.tasks:
            if task.unhedged_usdt > task.bound_usdt:
                found.append(
                    Condition(
                        f"unhedged:{task.task_id}",
                        "critical",
                        f"{task.symbol} unhedged by {task.unhedged_usdt:.2f} USDT",
                        f"task {task.task_id}: its legs differ by {task.unhedged_usdt:.2f} "
                        f"USDT (more than the smallest order, {task.bound_usdt:.2f} USDT) for "
                        f"over {config.unhedged_after_s:g} s; check both venues' positions",
                        after_s=config.unhedged_after_s,
                    )
                )
            for client_id, created in task.orders_in_flight:
                age = wall_now - created
                if age >= config.order_unknown_after_s:
                    found.append(
                        Condition(
                            f"order-unknown:{client_id}",
                            "warning",
                            f"{task.symbol}: order {client_id} outcome unknown",
                            f"task {task.task_id}: order {client_id} has had no outcome for "
                            f"{age:.0f} s; the router keeps asking the venue",
                            after_s=0.0,
                        )
                    )
        for feed in observation.feeds:
            storm = self._reconnects(feed.name, feed.connects, now)
            if storm > config.reconnects_per_minute:
                found.append(
                    Condition(
                        f"reconnect-storm:{feed.name}",
                        "warning",
                        f"{feed.name}: reconnect storm",
                        f"{feed.name} connected {storm} times in the last minute (more than "
                        f"{config.reconnects_per_minute}): {feed.detail or 'now fresh'}",
                        after_s=0.0,
                    )
                )
        for task in observation.tasks:
            rate = task.funding_rate
            if rate is not None and rate < 0.0 and task.futures_qty > 0.0:
                found.append(
                    Condition(
                        f"funding-against:{task.task_id}",
                        "warning",
                        f"{task.symbol}: funding turned against the position",
                        f"task {task.task_id}: the funding rate is {rate:+.4%}, so the short "
                        f"leg of {task.futures_qty:g} pays at each settlement",
                    )
                )
        return found

    def _reconnects(self, feed: str, connects: int, now: float) -> int:
        """New connections of ``feed`` within the last minute."""
        history = self._connects.setdefault(feed, deque())
        history.append((now, connects))
        while len(history) > 1 and now - history[1][0] >= STORM_WINDOW_S:
            history.popleft()
        return connects - history[0][1]

    def events(self, observation: Observation) -> list[Condition]:
        """Point events first seen in ``observation``: a venue reducing a short by
        itself, exits at ``max_hours``."""
        found = []
        for task in observation.tasks:
            reduction = task.venue_reduction
            if reduction is None or reduction.ts < self.since:
                continue
            seen = self._reductions_seen.get(task.task_id)
            if seen == reduction.count:
                continue
            self._reductions_seen[task.task_id] = reduction.count
            # Reductions that came between two observations are counted in this one.
            missed = 0 if seen is None or reduction.count < seen else reduction.count - seen - 1
            more = f" ({missed} more before it since the last alert)" if missed > 0 else ""
            found.append(
                Condition(
                    f"venue-reduced:{task.task_id}",
                    "critical",
                    f"{task.symbol}: the venue reduced the {reduction.leg} leg by itself",
                    f"task {task.task_id}: the venue's {task.symbol} {reduction.leg} position "
                    f"went from {reduction.from_qty:g} to {reduction.to_qty:g} without an "
                    f"order of ours ({reduction.cause or 'found at the venue'}); the spot leg "
                    + (
                        "will be unwound to match once the risk mode allows orders (halted: "
                        "nothing is placed)"
                        if task.halted
                        else "is being unwound to match"
                    )
                    + more,
                )
            )
        for task in observation.tasks:
            if task.exit_reason != MAX_HOURS_EXIT:
                continue
            mark = (task.task_id, task.position_opened_at)
            if mark in self._exits_seen:
                continue
            self._exits_seen.add(mark)
            found.append(
                Condition(
                    f"max-hours:{task.task_id}",
                    "info",
                    f"{task.symbol}: position closed at max_hours",
                    f"task {task.task_id}: the position reached [strategy] max_hours without "
                    "reaching its profit target; both legs are being closed",
                )
            )
        return found
