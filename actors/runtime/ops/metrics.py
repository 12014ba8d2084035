"""``/metrics``: the system's statistics as Prometheus metric families.

The families are built afresh from :meth:`TradingSystem.statistics` at every scrape by a
custom collector, in a registry of the system's own (the process-wide default registry
would mix in whatever else registers there); ``prometheus_client`` writes the text
format, HELP, TYPE and label escaping included.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from actors.runtime.ops.status import HEALTH_LEVELS, status_of
from actors.runtime.risk.actor import RiskStatistics
from protocols.model import RiskMode

if TYPE_CHECKING:
    from actors.runtime.system import TradingSystem

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""What :func:`generate_latest` writes: the text format 0.0.4."""

_ORDER_OUTCOMES = ("accepted", "rejected", "unknown_resolved", "rate_limited")


class SystemCollector(Collector):
    """The metric families of ``system``, read from its statistics at each collection.

    Counters are named without their ``_total`` suffix: the library adds it."""

    def __init__(self, system: TradingSystem) -> None:
        self.system = system

    def collect(self) -> Iterator[Metric]:
        stats = self.system.statistics()
        status = status_of(stats, time.time())
        yield GaugeMetricFamily("basis_up", "1 while the system runs.", value=1)
        yield GaugeMetricFamily(
            "basis_healthy",
            "1 while /health is ok, else 0 (degraded or failing).",
            value=int(status.healthy),
        )
        # One series per level, 1 for the present one: an alerting rule can tell failing
        # (act now) from degraded (look soon), which basis_healthy cannot.
        level = GaugeMetricFamily(
            "basis_health_state",
            "1 for the level /health answers (ok, degraded or failing), 0 for the others.",
            labels=["state"],
        )
        for state in HEALTH_LEVELS:
            level.add_metric([state], int(status.health == state))
        yield level
        quotes = CounterMetricFamily(
            "basis_quotes_received", "Quotes a feed published to strategies.", labels=["feed"]
        )
        reconnects = CounterMetricFamily(
            "basis_feed_reconnects", "Connections a feed made after its first.", labels=["feed"]
        )
        for feed in status.feeds:
            quotes.add_metric([feed.name], feed.quotes)
            reconnects.add_metric([feed.name], max(0, feed.connects - 1))
        yield quotes
        yield reconnects
        orders = CounterMetricFamily(
            "basis_orders",
            "Orders a router placed, by outcome: accepted, rejected, unknown_resolved (an "
            "unknown outcome found at the venue), rate_limited (a placement refused with 429).",
            labels=["router", "outcome"],
        )
        fills = CounterMetricFamily(
            "basis_fills", "Fills a router delivered to strategies.", labels=["router"]
        )
        for router in status.routers:
            for outcome in _ORDER_OUTCOMES:
                orders.add_metric([router.name, outcome], getattr(router, outcome))
            fills.add_metric([router.name], router.filled)
        yield orders
        yield fills
        decisions = CounterMetricFamily(
            "basis_decisions", "Messages that changed a strategy's context.", labels=["task"]
        )
        restarts = CounterMetricFamily(
            "basis_restarts", "Times a strategy's actor was restarted.", labels=["task"]
        )
        for task in status.tasks:
            decisions.add_metric([task.task_id], task.decisions)
            restarts.add_metric([task.task_id], task.restarts)
        yield decisions
        yield restarts
        lag = HistogramMetricFamily(
            "basis_decision_lag_seconds",
            "Quote received to orders handed to a router (journal commit included), for "
            "decisions that placed orders.",
            labels=["task"],
        )
        for strategy in stats.strategies:
            histogram = strategy.decision_lag
            lag.add_metric(
                [strategy.task_id],
                [(floatToGoString(bound), count) for bound, count in histogram.buckets],
                histogram.total,
            )
        yield lag
        depth = GaugeMetricFamily(
            "basis_mailbox_depth",
            "Messages waiting in an actor's mailbox (strategies, routers, the writer).",
            labels=["mailbox"],
        )
        for name, waiting in stats.mailbox_depths:
            depth.add_metric([name], waiting)
        yield depth
        if stats.risk is not None:
            yield from _risk_metrics(stats.risk)


def _risk_metrics(risk: RiskStatistics) -> Iterator[Metric]:
    mode = GaugeMetricFamily(
        "basis_risk_mode",
        "1 for the portfolio's risk mode now (active, reducing or halted), 0 for the others.",
        labels=["mode"],
    )
    for each in RiskMode:
        mode.add_metric([each.value], int(risk.mode == each.value))
    yield mode
    used = GaugeMetricFamily(
        "basis_exposure_usdt",
        "Gross notional the strategies hold and have in flight, per cap (total, venue:NAME, "
        "symbol:NAME), in USDT.",
        labels=["cap"],
    )
    limit = GaugeMetricFamily(
        "basis_exposure_limit_usdt", "Each exposure cap's limit, in USDT.", labels=["cap"]
    )
    for cap in risk.caps:
        used.add_metric([cap.cap], cap.used_usdt)
        limit.add_metric([cap.cap], cap.limit_usdt)
    yield used
    yield limit
    yield GaugeMetricFamily(
        "basis_portfolio_pnl_usdt",
        "Realised plus unrealised P&L of the strategies of this run, in USDT.",
        value=risk.pnl_usdt,
    )


def metrics_registry(system: TradingSystem) -> CollectorRegistry:
    """A registry of its own holding ``system``'s collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SystemCollector(system))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the text format of :data:`CONTENT_TYPE`."""
    return generate_latest(registry)
