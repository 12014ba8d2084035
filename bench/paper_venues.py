"""The simulated venues of a paper config (every symbol it trades, at its ``[paper]``
dislocation rate) in a process of their own, for benchmarks that read the trading
process's CPU apart from theirs: prints their URLs as one JSON line, then serves until
terminated.

Run: ``.venv/bin/python -m bench.paper_venues CONFIG``
"""

from __future__ import annotations

import sys

import msgspec
import trio

from actors.config_files import load_config
from actors.sim import SimServers
from actors.system_config import SystemConfig


async def serve(path: str) -> None:
    servers = SimServers(load_config(path, SystemConfig).simulated())
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(servers.run)
        print(msgspec.json.encode(urls).decode(), flush=True)


if __name__ == "__main__":
    trio.run(serve, sys.argv[1])
