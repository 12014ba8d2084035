"""A small supervision tree that shows crashes and restarts in the log.

A price ticker publishes to a conflating mailbox; a flaky worker reads it and crashes
now and then; a pair of linked workers under a ``one_for_all`` supervisor go down and
come back together. ``basis run`` starts it until the trading system takes its place.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import trio

from supervision import (
    Backoff,
    ChildSpec,
    Incarnation,
    Intensity,
    Mailbox,
    Restart,
    Strategy,
    Supervisor,
)

log = logging.getLogger("basis.demo")


def build_demo_tree(seed: int | None = None) -> Supervisor:
    rng = random.Random(seed)
    prices = Mailbox("flaky-worker", capacity=64)

    async def ticker(inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        price = 100.0
        with inc.cancel_on_stop():
            while True:
                price *= 1 + rng.gauss(0, 0.001)
                prices.address.put_latest("DEMO/USDT", price)
                await trio.sleep(0.05)

    async def flaky_worker(
        inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        if inc.is_restart:
            log.info(
                "flaky-worker: back after %d restarts (last: %s)", inc.restarts, inc.last_failure
            )
        task_status.started()
        seen = 0
        async for price in inc.mailbox:
            seen += 1
            if rng.random() < 0.01:
                raise RuntimeError(f"simulated crash after {seen} prices (last {price:.2f})")
            await trio.sleep(0.2)  # slower than the ticker: quotes are conflated

    async def linked(inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        with inc.cancel_on_stop():
            await trio.sleep(rng.uniform(3, 9))
        if not inc.stopping.is_set():
            raise RuntimeError("simulated failure of a linked worker")

    pair = Supervisor(
        "linked-pair",
        [ChildSpec("left", linked), ChildSpec("right", linked)],
        strategy=Strategy.ONE_FOR_ALL,
        intensity=Intensity(max_restarts=20, period_s=60),
        backoff=Backoff(min_s=0.5, max_s=5.0),
        rng=rng,
    )
    return Supervisor(
        "demo",
        [
            ChildSpec("ticker", ticker),
            ChildSpec("flaky-worker", flaky_worker, mailbox=prices, restart=Restart.PERMANENT),
            pair.child_spec(),
        ],
        strategy=Strategy.ONE_FOR_ONE,
        intensity=Intensity(max_restarts=20, period_s=60),
        backoff=Backoff(min_s=0.2, max_s=5.0),
        rng=rng,
    )
