"""What the wire tests share: credentials, a fast-ticking config, and reading a stream
until the event a test waits for."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import trio

from actors.sim import ServerConfig, SimConfig, SimServers
from protocols.model import Symbol
from protocols.venue import ApiCredentials
from tests.unit.sim import helpers

CREDENTIALS = ApiCredentials("sim-key", "sim-secret")
TICK_S = 0.02
WAIT_S = 10.0
"""How long a test waits for something the servers must do within a few ticks: long
enough for a loaded machine, short enough to fail a stuck test."""


BTC = Symbol("BTC", "USDT")
COIN = helpers.COIN


def still(**servers: Any) -> SimConfig:
    """One coin whose prices never move: COIN/USDT at 100, books without jitter."""
    return fast(helpers.config(), **servers)


def moving(**servers: Any) -> SimConfig:
    """The default three coins on a moving market."""
    return fast(SimConfig(seed=5), **servers)


def fast(config: SimConfig, **servers: Any) -> SimConfig:
    """``config`` ticking every 20 ms rather than the venues' 100 ms: streams fill quickly."""
    return msgspec.structs.replace(config, servers=ServerConfig(tick_s=TICK_S, **servers))


async def start(nursery: trio.Nursery, config: SimConfig) -> SimServers:
    servers = SimServers(config)
    await nursery.start(servers.run)
    return servers


def now() -> float:
    """The client's clock, as a router signs with it."""
    return time.time()


async def next_matching(
    ws, decode: Callable[[Any, float], Sequence[Any]], wanted: Callable[[Any], bool]
) -> Any:
    """The first decoded event ``wanted`` accepts, reading frames as they come."""
    with trio.fail_after(WAIT_S):
        while True:
            for event in decode(await ws.get_message(), now()):
                if wanted(event):
                    return event


async def nothing_arrives(ws, seconds: float) -> bool:
    """Whether ``ws`` stays silent for ``seconds``."""
    with trio.move_on_after(seconds):
        await ws.get_message()
        return False
    return True
