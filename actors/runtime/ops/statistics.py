"""What the trading system's actors report of themselves at one moment: the material of
``/status``, ``/metrics`` and the alerts."""

from __future__ import annotations

import msgspec

from actors.arbitrage.actor import StrategyStatistics
from actors.runtime.alerts.actor import AlertsStatus
from actors.runtime.cluster.keeper import ClusterStatistics
from actors.runtime.market.feed import FeedStatistics
from actors.runtime.ops.recent_fills import FillOut
from actors.runtime.orders.router import RouterStatistics
from actors.runtime.other_instances import OtherInstance
from actors.runtime.persistence.writer import WriterStatistics
from actors.runtime.risk.actor import RiskStatistics
from protocols.venue import PositionSettings
from supervision import SupervisorSnapshot


class SystemStatistics(msgspec.Struct, frozen=True):
    """What the system's actors report of themselves at one moment
    (:meth:`TradingSystem.statistics`): the material of ``/status`` and ``/metrics``."""

    mode: str
    started_at: float
    """Wall-clock time the system was built."""
    tree: SupervisorSnapshot
    strategies: tuple[StrategyStatistics, ...]
    """In the order they were added."""
    feeds: tuple[FeedStatistics, ...]
    """Spot's first, then futures'."""
    routers: tuple[RouterStatistics, ...]
    """Spot's, then futures'."""
    writer: WriterStatistics
    mailbox_depths: tuple[tuple[str, int], ...]
    """``(mailbox name, messages waiting)`` of each strategy, each router and the writer."""
    store_counts: dict[str, int]
    """Active, completed and quarantined tasks in the store, as last counted (a copy)."""
    quarantined: tuple[str, ...]
    """``task id: reason`` of each record recovery could not restore."""
    held_symbols: tuple[tuple[str, str, str, float], ...] = ()
    """``(symbol, task id, reason, since)`` of each symbol quarantine holds out of trading."""
    futures_positions: dict[str, PositionSettings] = msgspec.field(default_factory=dict)
    """Symbol → how the futures venue holds its position, as last read back."""
    instance: str = ""
    """This instance's id (its store's), in every client order id it makes."""
    other_instances: tuple[OtherInstance, ...] = ()
    """Other Basis instances seen trading these symbols on these accounts at start."""
    alerts: AlertsStatus | None = None
    """The alert actor's open incidents and deliveries."""
    risk: RiskStatistics | None = None
    """The portfolio's risk mode, caps, balances and liquidation distances."""
    symbols: tuple[str, ...] = ()
    """Every symbol the system trades (its config's)."""
    recent_fills: tuple[FillOut, ...] = ()
    """The newest fills the strategies of this run handed to the store, oldest first."""
    cluster: ClusterStatistics | None = None
    """This instance in its cluster (``[cluster]``); ``None`` for an instance alone."""
