"""Made-up statistics of a running system, for what is built from them: status, metrics,
the terminal views."""

from __future__ import annotations

from types import SimpleNamespace

from actors.arbitrage.actor import StrategyStatistics
from actors.histogram import Histogram
from actors.runtime.market.feed import FeedStatistics
from actors.runtime.ops.statistics import SystemStatistics
from actors.runtime.orders.router import RouterStatistics
from actors.runtime.persistence.writer import WriterStatistics
from supervision import ChildSpec, Supervisor

T0 = 1_700_000_000.0


def strategy(task_id: str = "btc_1", symbol: str = "BTC/USDT", **changes) -> StrategyStatistics:
    lag = Histogram()
    for value in (0.0003, 0.0003, 0.004, 2.0):
        lag.observe(value)
    fields = {
        "name": f"strategy-{task_id}",
        "task_id": task_id,
        "type": "arbitrage",
        "symbol": symbol,
        "spot_venue": "mexc",
        "futures_venue": "gateio_futures",
        "state": "position_open",
        "cycles": 3,
        "total_volume_usdt": 1200.0,
        "realized_pnl_usdt": 1.25,
        "unrealized_pnl_usdt": 0.5,
        "fees_usdt": 0.6,
        "last_error": None,
        "position_qty": 0.002,
        "futures_qty": 0.002,
        "entry_cost_pct": -0.123,
        "funding_usdt": 0.0,
        "funding_rate": 0.0001,
        "funding_next_ts": T0 + 3600.0,
        "paused_reason": None,
        "decisions": 41,
        "resumed_at": T0,
        "decision_lag": lag.statistics(),
    }
    fields |= changes
    # Holding what either leg holds, unless told otherwise (dust an exit left).
    fields.setdefault("holding", bool(fields["position_qty"] or fields["futures_qty"]))
    return StrategyStatistics(**fields)


def feed(name: str = "feed-mexc", **changes) -> FeedStatistics:
    fields = {
        "name": name,
        "state": "fresh",
        "detail": "",
        "connects": 2,
        "messages": 900,
        "quotes": 850,
        "malformed": 1,
        "gaps": 0,
        "resyncs": 0,
        "last_data_at": T0 - 0.5,
        "fresh_at": T0 - 60.0,
    }
    return FeedStatistics(**(fields | changes))


def router(name: str = "router-mexc", **changes) -> RouterStatistics:
    fields = {
        "name": name,
        "placed": 7,
        "accepted": 6,
        "rejected": 1,
        "filled": 5,
        "unknown_resolved": 2,
        "resent_after_not_found": 0,
        "rate_limited": 3,
        "open_orders": 1,
        "private_stream_up": True,
    }
    return RouterStatistics(**(fields | changes))


def statistics(strategies=None, feeds=None, routers=None, tree=None) -> SystemStatistics:
    """A paper system of one strategy, one feed and one router unless told otherwise."""
    strategies = (strategy(),) if strategies is None else tuple(strategies)
    feeds = (feed(),) if feeds is None else tuple(feeds)
    routers = (router(),) if routers is None else tuple(routers)
    if tree is None:
        tree = Supervisor("basis", [ChildSpec("writer", lambda inc: None)]).snapshot()
    return SystemStatistics(
        mode="paper",
        started_at=T0 - 120.0,
        tree=tree,
        strategies=strategies,
        feeds=feeds,
        routers=routers,
        writer=WriterStatistics(10, 40, 8, 30, T0 - 1.0, 0.0004, 0.002),
        mailbox_depths=(*((s.name, 1) for s in strategies), ("writer", 2)),
        store_counts={"active": len(strategies), "completed": 4, "quarantined": 0},
        quarantined=(),
    )


def system_of(stats: SystemStatistics) -> SimpleNamespace:
    """What status and metrics read of a TradingSystem: its statistics."""
    return SimpleNamespace(statistics=lambda: stats)
