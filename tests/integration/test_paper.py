"""Paper mode: the simulated venues the CLI serves for the runtime, under their own
supervisor."""

from __future__ import annotations

import httpx
import msgspec
import trio

from actors.cli.paper import SimulatedVenues
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from tests.integration.polling import wait_until


def config() -> SystemConfig:
    return msgspec.convert({"symbols": ["BTC/USDT"], "http": {"port": 0}}, SystemConfig)


async def urls_served(urls: SimUrls) -> SimUrls | None:
    async with httpx.AsyncClient() as client:
        try:
            reply = await client.get(f"{urls.control}/urls", timeout=1.0)
        except httpx.TransportError:
            return None
    return msgspec.json.decode(reply.content, type=SimUrls)


async def test_a_venue_server_that_fails_comes_back_at_the_same_ports(nursery):
    venues = SimulatedVenues(config())
    urls = await nursery.start(venues.run)
    assert await urls_served(urls) == urls
    venues.tree.crash_child("sim", RuntimeError("injected"))
    await wait_until(lambda: venues.tree.snapshot().children[0].restarts == 1)
    with trio.fail_after(10):
        # The restarted servers announce nothing a client could wait on: it asks again.
        while (served := await urls_served(urls)) is None:  # noqa: ASYNC110
            await trio.sleep(0.05)
    # Clients pointed at the first URLs still reach the venues: nothing has to re-aim.
    assert served == urls


async def test_the_venues_stop_when_asked_and_say_so(nursery):
    venues = SimulatedVenues(config())
    urls = await nursery.start(venues.run)
    venues.request_stop()
    with trio.fail_after(10):
        await venues.stopped.wait()
    assert await urls_served(urls) is None
