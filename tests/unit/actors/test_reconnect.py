"""The reconnection loop on trio's MockClock: a connection that served data starts the
backoff again; refusals and connections that never served back off exponentially."""

from __future__ import annotations

import random

import pytest
import trio

from actors.runtime.market.reconnect import Reconnect, stay_connected
from supervision import Backoff

BACKOFF = Backoff(min_s=0.2, max_s=15.0, factor=2.0, jitter=0.0)


class Venue:
    """Plays one scripted behaviour per connection and records the delays waited."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.delays: list[float] = []
        self.wanted = 0
        self.enough = trio.Event()

    async def connection(self, served) -> None:
        behaviour = self.script.pop(0) if self.script else "refuse"
        if behaviour == "refuse":
            raise OSError(111, "Connection refused")
        if behaviour == "drop":  # accepted, then dropped before any data
            await trio.sleep(0.05)
            raise Reconnect("dropped")
        await trio.sleep(0.1)
        served()
        if behaviour == "serve-once":  # the first data, and a drop straight after it
            await trio.sleep(0.01)
            raise Reconnect("dropped")
        assert behaviour == "serve-then-drop"  # data flows for two seconds, then a drop
        await trio.sleep(2.0)
        raise Reconnect("dropped")

    def on_down(self, why: str, delay_s: float) -> None:
        self.delays.append(delay_s)
        if len(self.delays) >= self.wanted:
            self.enough.set()


async def play(venue: Venue, connections: int) -> list[float]:
    venue.wanted = connections
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                lambda: stay_connected(
                    venue.connection,
                    backoff=BACKOFF,
                    rng=random.Random(1),
                    ended="ended",
                    on_down=venue.on_down,
                )
            )
            await venue.enough.wait()
            nursery.cancel_scope.cancel()
    return venue.delays[:connections]


@pytest.mark.parametrize("behaviour", ["refuse", "drop"])
async def test_a_venue_that_never_serves_is_asked_less_and_less_often(autojump_clock, behaviour):
    delays = await play(Venue([behaviour] * 10), 10)
    assert delays == [BACKOFF.base(n) for n in range(10)]
    assert delays[-1] == BACKOFF.max_s


async def test_a_venue_that_drops_working_connections_is_asked_again_at_once(autojump_clock):
    # Each connection served data for two seconds: far less than the backoff's
    # reset_after_s, which used to be what started the count again.
    delays = await play(Venue(["serve-then-drop"] * 8), 8)
    assert delays == [BACKOFF.min_s] * 8


async def test_a_venue_that_drops_each_connection_as_soon_as_it_served_backs_off(autojump_clock):
    # A subscription limit, say: the first data, then the connection is gone. It served
    # for less than SERVED_FOR_S each time, so it is asked less and less often.
    delays = await play(Venue(["serve-once"] * 8), 8)
    assert delays == [BACKOFF.base(n) for n in range(8)]


async def test_one_served_connection_forgets_the_refusals_before_it(autojump_clock):
    script = ["refuse"] * 6 + ["serve-then-drop"] + ["refuse"] * 3
    delays = await play(Venue(script), 10)
    assert delays[:6] == [BACKOFF.base(n) for n in range(6)]
    assert delays[6:] == [BACKOFF.base(n) for n in range(4)]


async def test_a_connection_that_lived_long_without_serving_still_backs_off(autojump_clock):
    class Starved(Venue):
        async def connection(self, served) -> None:
            await trio.sleep(120.0)  # subscribed and silent, longer than reset_after_s
            raise Reconnect("stalled")

    delays = await play(Starved([]), 5)
    assert delays == [BACKOFF.base(n) for n in range(5)]
