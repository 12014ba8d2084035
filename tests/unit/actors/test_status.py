"""Status: a supervisor that gave up anywhere in the tree makes the system unhealthy,
and the reason names it, in ``/status`` and ``/health`` alike (both read
``build_status``)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import trio

from actors.runtime.ops.status import build_status
from actors.runtime.persistence.writer import WriterStats
from supervision import Backoff, ChildSpec, Intensity, Mailbox, Supervisor
from tests.integration.polling import wait_until


async def failing(inc, *, task_status=trio.TASK_STATUS_IGNORED):
    task_status.started()
    await trio.sleep(1.0)
    raise RuntimeError("venue keys rejected")


def system_with(root: Supervisor) -> SimpleNamespace:
    """The parts of a TradingSystem that status reads, around ``root``."""
    return SimpleNamespace(
        root=root,
        strategies={},
        venues={},
        writer=SimpleNamespace(stats=WriterStats()),
        store_counts={},
        quarantined=[],
        writer_mailbox=Mailbox("writer"),
        config=SimpleNamespace(mode="paper"),
        started_at=time.time(),
    )


async def test_a_give_up_deep_in_the_tree_is_the_health_reason(autojump_clock):
    routers = Supervisor(
        "routers",
        [ChildSpec("router-mexc", failing)],
        intensity=Intensity(1, 60.0),
        backoff=Backoff.none(),
    )
    root = Supervisor("basis", [routers.child_spec()], backoff=Backoff(min_s=30.0, max_s=30.0))
    system = system_with(root)
    async with trio.open_nursery() as nursery:
        await nursery.start(root.run)
        assert build_status(system).healthy
        await wait_until(lambda: root.snapshot().gave_up_anywhere() == ["routers"], 10)
        status = build_status(system)
        assert not status.healthy
        assert status.health_reason.startswith("supervisor gave up: routers: ")
        assert "more than 1 restart within 60 s" in status.health_reason
        root.request_stop()
