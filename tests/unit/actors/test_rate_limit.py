"""Token buckets on trio's MockClock: bursts, steady rate, Retry-After, cancellation."""

from __future__ import annotations

import itertools

import pytest
import trio

from actors.runtime.orders.rate_limit import TokenBucket


async def test_a_burst_passes_at_once_then_the_rate_holds(autojump_clock):
    bucket = TokenBucket(rate_per_s=10.0, burst=5.0)
    began = trio.current_time()
    times = []
    for _ in range(15):
        await bucket.acquire()
        times.append(trio.current_time() - began)
    assert times[:5] == [0.0] * 5
    # Then one every 0.1 s: the 15th is 10 tokens past the burst, 1 s in.
    assert times[14] == pytest.approx(1.0)
    assert [round(b - a, 9) for a, b in itertools.pairwise(times[5:])] == [0.1] * 9
    assert bucket.waits == 10


async def test_concurrent_callers_never_exceed_the_rate(autojump_clock):
    bucket = TokenBucket(rate_per_s=20.0, burst=2.0)
    done: list[float] = []

    async def caller():
        for _ in range(10):
            await bucket.acquire()
            done.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(caller)
    done.sort()
    # In any window of length w at most burst + w * rate acquisitions complete.
    for i, start in enumerate(done):
        inside = [t for t in done[i:] if t - start <= 0.5 + 1e-9]
        assert len(inside) <= 2 + 0.5 * 20 + 1e-9


async def test_retry_after_closes_the_bucket(autojump_clock):
    bucket = TokenBucket(rate_per_s=100.0, burst=10.0)
    began = trio.current_time()
    bucket.close_for(3.0)
    await bucket.acquire()
    assert trio.current_time() - began == pytest.approx(3.0)


async def test_a_cancelled_wait_gives_its_reservation_back(autojump_clock):
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0)
    await bucket.acquire()
    with trio.move_on_after(0.1):
        await bucket.acquire(5.0)
    began = trio.current_time()
    await bucket.acquire()
    # Only the first token's refill is owed (0.9 s more), not the abandoned five.
    assert trio.current_time() - began == pytest.approx(0.9)
