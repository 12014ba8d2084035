"""The running system thins the series through the writer at the start and every hour,
a slice at a time until none is left, and a refused thinning waits for the next hour
instead of stopping anything."""

from __future__ import annotations

import logging
import sqlite3
from types import SimpleNamespace

import trio

from actors.runtime import system as system_module
from actors.runtime.config import PersistenceSection
from actors.runtime.persistence.store import Thinned
from actors.runtime.system import TradingSystem

HOUR_S = 3600.0
DAY_S = 86400.0


async def test_thinned_slice_by_slice_at_the_start_and_every_hour_past_the_days_kept(
    autojump_clock, caplog, monkeypatch
):
    # The system's wall clock, moved by trio's mock clock: the cut-offs are exact.
    epoch = 1_800_000_000.0
    monkeypatch.setattr(
        system_module, "time", SimpleNamespace(time=lambda: epoch + trio.current_time())
    )
    refused = sqlite3.OperationalError("disk I/O error")
    answers: list[Thinned | Exception] = [
        refused,  # at the start
        Thinned(3, more=True), Thinned(0, more=True), Thinned(2, more=False),  # an hour on
        Thinned(4, more=True), refused,  # two hours on: refused after a slice
    ]  # fmt: skip
    asked: list[tuple[float, float]] = []

    async def thin_series(before: float) -> Thinned:
        asked.append((trio.current_time(), before))
        answer = answers[len(asked) - 1] if len(asked) <= len(answers) else Thinned(0, False)
        if isinstance(answer, Exception):
            raise answer
        return answer

    system = SimpleNamespace(
        config=SimpleNamespace(persistence=PersistenceSection(series_full_days=1.5)),
        writer_client=SimpleNamespace(thin_series=thin_series),
    )
    began = trio.current_time()
    with caplog.at_level(logging.INFO), trio.move_on_after(3.5 * HOUR_S):
        await TradingSystem._thin_series(system)  # type: ignore[arg-type]
    hours = [(at - began) / HOUR_S for at, _ in asked]
    assert hours == [0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0]
    # The slices of one hour thin up to the same time, the days kept before that hour.
    assert len({before for at, before in asked if at - began == HOUR_S}) == 1
    for at, before in asked:
        hour_began = began + HOUR_S * round((at - began) / HOUR_S)
        assert before == epoch + hour_began - 1.5 * DAY_S
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "the series could not be thinned (disk I/O error); trying again later",
        "the series: 5 points older than 1.5 days thinned to one a minute",
        "the series could not be thinned (disk I/O error); trying again later",
        "the series: 4 points older than 1.5 days thinned to one a minute",
    ]
