"""Supervision runtime: mailbox hop cost vs a raw trio channel, conflation, restart latency.

Run: ``.venv/bin/python -m bench.supervision_bench``
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import trio

from bench.stats import median, percentile, us
from supervision import Backoff, ChildSpec, Incarnation, Intensity, Mailbox, Supervisor

STREAM_MESSAGES = 200_000
PINGS = 20_000
ROUNDS = 5


async def stream_raw(n: int) -> float:
    send, receive = trio.open_memory_channel[int](1024)
    began = time.perf_counter()
    async with trio.open_nursery() as nursery:

        async def consume() -> None:
            for _ in range(n):
                await receive.receive()

        nursery.start_soon(consume)
        for i in range(n):
            await send.send(i)
    return time.perf_counter() - began


async def stream_mailbox(n: int) -> float:
    mailbox = Mailbox("bench", capacity=1024)
    address = mailbox.address
    began = time.perf_counter()
    async with trio.open_nursery() as nursery:

        async def consume() -> None:
            for _ in range(n):
                await mailbox.receive()

        nursery.start_soon(consume)
        for i in range(n):
            await address.send(i)
    return time.perf_counter() - began


async def ping_pong(kind: str, n: int) -> list[float]:
    """One message at a time between two tasks; returns one-way hop times."""
    if kind == "raw":
        there_send, there_recv = trio.open_memory_channel[int](1)
        back_send, back_recv = trio.open_memory_channel[int](1)
        send_there, recv_there = there_send.send, there_recv.receive
        send_back, recv_back = back_send.send, back_recv.receive
    else:
        there, back = Mailbox("there", 1), Mailbox("back", 1)
        send_there, recv_there = there.address.send, there.receive
        send_back, recv_back = back.address.send, back.receive
    hops: list[float] = []
    clock = time.perf_counter
    async with trio.open_nursery() as nursery:

        async def echo() -> None:
            for _ in range(n):
                await send_back(await recv_there())

        nursery.start_soon(echo)
        for i in range(n):
            began = clock()
            await send_there(i)
            await recv_back()
            hops.append((clock() - began) / 2)
    return hops


async def conflation(duration_s: float = 2.0) -> dict[str, Any]:
    mailbox = Mailbox("quotes")
    keys = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    reads = 0
    async with trio.open_nursery() as nursery:

        async def slow_reader() -> None:
            nonlocal reads
            while True:
                await mailbox.receive()
                reads += 1
                await trio.sleep(0.001)

        nursery.start_soon(slow_reader)
        began = time.perf_counter()
        puts = 0
        put = mailbox.address.put_latest
        while time.perf_counter() - began < duration_s:
            for _ in range(100):
                put(keys[puts % 3], puts)
                puts += 1
            await trio.lowlevel.checkpoint()
        elapsed = time.perf_counter() - began
        nursery.cancel_scope.cancel()
    stats = mailbox.stats()
    return {
        "updates_per_s": puts / elapsed,
        "reads_per_s": reads / elapsed,
        "superseded_share": stats.superseded / stats.sent,
        "peak_depth": stats.peak,
    }


async def restart_latency(n: int = 3000) -> list[float]:
    crashed_at: list[float] = []
    latencies: list[float] = []
    trigger = trio.Event()
    restarted = trio.Event()

    async def crasher(inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal trigger
        trigger = trio.Event()
        task_status.started()
        if crashed_at:
            latencies.append(time.perf_counter() - crashed_at[-1])
            restarted.set()
        with inc.cancel_on_stop():
            await trigger.wait()
        crashed_at.append(time.perf_counter())
        raise RuntimeError("crash")

    sup = Supervisor(
        "bench",
        [ChildSpec("crasher", crasher)],
        intensity=Intensity(max_restarts=n + 1, period_s=math.inf),
        backoff=Backoff.none(),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        for _ in range(n):
            restarted = trio.Event()
            trigger.set()
            await restarted.wait()
        sup.request_stop()
    return latencies


async def main() -> None:
    # Restarts log at WARNING; keep the events (their cost is real) but not the screen noise.
    logging.getLogger("supervision").addHandler(logging.NullHandler())
    logging.getLogger("supervision").propagate = False
    print("== supervision: mailbox vs raw trio memory channel (same run)")
    raw_times, box_times = [], []
    for _ in range(ROUNDS):
        raw_times.append(await stream_raw(STREAM_MESSAGES))
        box_times.append(await stream_mailbox(STREAM_MESSAGES))
    raw, box = median(raw_times), median(box_times)
    print(f"stream, buffer 1024, {STREAM_MESSAGES} msgs, median of {ROUNDS}:")
    for label, total in (("raw channel", raw), ("mailbox", box)):
        per = us(total / STREAM_MESSAGES)
        print(f"  {label:<12}: {STREAM_MESSAGES / total:>10,.0f} msg/s  ({per}/msg)")
    print(f"  overhead ratio mailbox/raw: {box / raw:.2f}x  (goal <= 1.3x)")

    raw_hops = await ping_pong("raw", PINGS)
    box_hops = await ping_pong("mailbox", PINGS)
    print(f"ping-pong hop, {PINGS} round trips:")
    for label, hops in (("raw channel", raw_hops), ("mailbox", box_hops)):
        print(f"  {label:<12}: p50 {us(percentile(hops, 0.5))}  p99 {us(percentile(hops, 0.99))}")
    print(
        f"  overhead ratio (p50) mailbox/raw: "
        f"{percentile(box_hops, 0.5) / percentile(raw_hops, 0.5):.2f}x"
    )

    figures = await conflation()
    print("conflating mailbox, 3 keys, one reader taking 1 ms per quote, 2 s:")
    print(
        f"  updates accepted: {figures['updates_per_s']:,.0f}/s; "
        f"reads {figures['reads_per_s']:,.0f}/s; superseded {figures['superseded_share']:.2%}; "
        f"peak depth {figures['peak_depth']}"
    )

    latencies = await restart_latency()
    print(f"restart latency (crash -> running again, zero backoff), {len(latencies)} restarts:")
    print(f"  p50 {us(percentile(latencies, 0.5))}  p99 {us(percentile(latencies, 0.99))}")


if __name__ == "__main__":
    trio.run(main)
