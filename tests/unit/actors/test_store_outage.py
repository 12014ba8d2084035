"""A store out of reach for a while (a PostgreSQL server cut off) is no crash for the
system's helpers that read it now and then: they log it and read again later."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import psycopg
import trio

from actors.runtime import system as system_module
from actors.runtime.system import TradingSystem
from tests.integration.polling import wait_until


class FlakyStore:
    """A store source whose first ``failures`` readings fail as a cut-off server's do."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    @contextmanager
    def reading(self):
        if self.failures:
            self.failures -= 1
            raise psycopg.OperationalError("consuming input failed: server closed the connection")
        yield SimpleNamespace(counts=lambda: {"active": 3, "completed": 1, "quarantined": 0})


async def test_the_store_counts_outlive_a_database_out_of_reach(monkeypatch):
    # Real time (the reading runs on a worker thread), at a few milliseconds a round.
    monkeypatch.setattr(system_module, "STORE_COUNT_EVERY_S", 0.01)
    system = SimpleNamespace(store=FlakyStore(failures=2), store_counts={})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(TradingSystem._count_store, system)
        await wait_until(lambda: system.store_counts, 5.0)
        nursery.cancel_scope.cancel()
    assert system.store_counts == {"active": 3, "completed": 1, "quarantined": 0}
    assert system.store.failures == 0
