"""Waiting for a condition that nothing signals (an actor's counters, a status field)."""

from __future__ import annotations

from collections.abc import Callable

import trio


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; ``trio.TooSlowError`` after ``timeout_s``."""
    with trio.fail_after(timeout_s):
        while not predicate():  # noqa: ASYNC110 - what is polled has no event to wait on
            await trio.sleep(0.005)
