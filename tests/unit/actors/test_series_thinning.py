"""The running system thins the series through the writer at the start and every hour,
and a refused thinning waits for the next hour instead of stopping anything."""

from __future__ import annotations

import logging
import sqlite3
import time
from types import SimpleNamespace

import trio

from actors.runtime.config import PersistenceSection
from actors.runtime.system import TradingSystem

HOUR_S = 3600.0
DAY_S = 86400.0


async def test_thinned_at_the_start_and_every_hour_past_the_days_kept(autojump_clock, caplog):
    asked: list[tuple[float, float]] = []

    async def thin_series(before: float) -> int:
        asked.append((trio.current_time(), before))
        if len(asked) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return 3

    system = SimpleNamespace(
        config=SimpleNamespace(persistence=PersistenceSection(series_full_days=1.5)),
        writer_client=SimpleNamespace(thin_series=thin_series),
    )
    began = trio.current_time()
    with caplog.at_level(logging.INFO), trio.move_on_after(2.5 * HOUR_S):
        await TradingSystem._thin_series(system)  # type: ignore[arg-type]
    assert [at - began for at, _ in asked] == [0.0, HOUR_S, 2 * HOUR_S]
    for _, before in asked:
        assert abs(time.time() - 1.5 * DAY_S - before) < 60.0
    messages = [r.getMessage() for r in caplog.records]
    assert "the series could not be thinned (disk I/O error); trying again later" in messages
    assert "the series: 3 points older than 1.5 days thinned to one a minute" in messages
