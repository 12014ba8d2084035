"""The Prometheus text format of ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors.runtime.ops.status import SystemStatus
    from actors.runtime.system import TradingSystem


def prometheus(system: TradingSystem, status: SystemStatus) -> str:
    lines = [
        "# HELP basis_up 1 while the system runs.",
        "# TYPE basis_up gauge",
        "basis_up 1",
        "# TYPE basis_healthy gauge",
        f"basis_healthy {int(status.healthy)}",
        "# TYPE basis_quotes_received_total counter",
    ]
    for feed in status.feeds:
        lines.append(f'basis_quotes_received_total{{feed="{feed.name}"}} {feed.quotes}')
    lines.append("# TYPE basis_feed_reconnects_total counter")
    for feed in status.feeds:
        lines.append(
            f'basis_feed_reconnects_total{{feed="{feed.name}"}} {max(0, feed.connects - 1)}'
        )
    lines.append("# TYPE basis_orders_total counter")
    for router in status.routers:
        for outcome, count in (
            ("accepted", router.accepted),
            ("rejected", router.rejected),
            ("unknown_resolved", router.unknown_resolved),
            ("rate_limited", router.rate_limited),
        ):
            lines.append(
                f'basis_orders_total{{router="{router.name}",outcome="{outcome}"}} {count}'
            )
    lines.append("# TYPE basis_fills_total counter")
    for router in status.routers:
        lines.append(f'basis_fills_total{{router="{router.name}"}} {router.filled}')
    lines.append("# TYPE basis_decisions_total counter")
    for task in status.tasks:
        lines.append(f'basis_decisions_total{{task="{task.task_id}"}} {task.decisions}')
    lines.append("# TYPE basis_restarts_total counter")
    for task in status.tasks:
        lines.append(f'basis_restarts_total{{task="{task.task_id}"}} {task.restarts}')
    lines.append("# HELP basis_decision_lag_seconds Quote received to orders handed to a router.")
    lines.append("# TYPE basis_decision_lag_seconds histogram")
    for handle in system.strategies.values():
        lines += handle.actor.lag.lines("basis_decision_lag_seconds", f'task="{handle.task_id}"')
    lines.append("# TYPE basis_mailbox_depth gauge")
    for handle in system.strategies.values():
        lines.append(
            f'basis_mailbox_depth{{mailbox="{handle.mailbox.name}"}} {len(handle.mailbox)}'
        )
    for links in system.venues.values():
        box = links.router_mailbox
        lines.append(f'basis_mailbox_depth{{mailbox="{box.name}"}} {len(box)}')
    lines.append(f'basis_mailbox_depth{{mailbox="writer"}} {len(system.writer_mailbox)}')
    return "\n".join(lines) + "\n"
