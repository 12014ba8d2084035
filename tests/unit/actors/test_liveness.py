"""A connection's liveness on trio's MockClock: any frame keeps it live, a quiet one is
pinged at half the bound, and one that answers nothing is not live at the bound."""

from __future__ import annotations

import itertools

import trio

from actors.runtime.market.liveness import ConnectionLiveness

BOUND_S = 1.0


async def watched(nursery, liveness, answer_pings=True):
    """Start watching ``liveness``; pings are answered by a frame 0.05 s later while
    ``answer_pings[0]``. Returns the pings' times and the changes told."""
    pings: list[float] = []
    told: list[tuple[float, float | None]] = []
    answering = [answer_pings]

    async def answer():
        await trio.sleep(0.05)
        liveness.on_frame(trio.current_time())

    async def ping():
        pings.append(trio.current_time())
        if answering[0]:
            nursery.start_soon(answer)

    def on_change(since):
        told.append((trio.current_time(), since))

    nursery.start_soon(liveness.watch, ping, on_change)
    return pings, told, answering


async def test_not_live_until_the_first_frame(nursery, autojump_clock):
    liveness = ConnectionLiveness(BOUND_S)
    pings, told, _ = await watched(nursery, liveness)
    await trio.sleep(5.0)
    assert liveness.live_since is None
    assert pings == [] and told == []  # nothing heard yet: nothing to keep alive
    assert liveness.on_frame(5.0)
    assert liveness.live_since == 5.0


async def test_a_quiet_connection_that_answers_pings_stays_live(nursery, autojump_clock):
    liveness = ConnectionLiveness(BOUND_S)
    pings, told, _ = await watched(nursery, liveness)
    liveness.on_frame(0.0)
    await trio.sleep(10.0)
    assert liveness.live_since == 0.0
    assert told == []
    # A ping once quiet for half the bound, answered at once: about two a second.
    assert 15 <= len(pings) <= 20
    assert all(0.5 <= b - a <= 0.6 for a, b in itertools.pairwise(pings))


async def test_a_busy_connection_is_not_pinged(nursery, autojump_clock):
    liveness = ConnectionLiveness(BOUND_S)
    pings, told, _ = await watched(nursery, liveness)
    for n in range(100):
        liveness.on_frame(float(n))
        await trio.sleep(0.1)
    assert pings == [] and told == [] and liveness.live_since == 0.0


async def test_a_connection_that_stops_answering_is_not_live_at_the_bound(nursery, autojump_clock):
    liveness = ConnectionLiveness(BOUND_S)
    pings, told, answering = await watched(nursery, liveness)
    liveness.on_frame(0.0)
    await trio.sleep(2.0)
    answering[0] = False
    last = max(pings) + 0.05  # the last frame: the answer to the last answered ping
    await trio.sleep(3.0)
    assert liveness.live_since is None
    assert told == [(last + BOUND_S, None)]  # at the bound, not later
    assert sum(1 for p in pings if p > last) == 1  # one unanswered ping, then silence


async def test_a_frame_after_a_silence_begins_a_new_live_period(nursery, autojump_clock):
    liveness = ConnectionLiveness(BOUND_S)
    pings, told, _ = await watched(nursery, liveness, answer_pings=False)
    liveness.on_frame(100.0)
    await trio.sleep(3.0)
    assert told and told[-1][1] is None
    assert liveness.on_frame(103.0)  # a new period, which the caller tells
    assert not liveness.on_frame(103.1)  # the same period
    assert liveness.live_since == 103.0
    pings_before = len(pings)
    await trio.sleep(0.6)
    assert len(pings) == pings_before + 1  # watched again: quiet for half the bound
