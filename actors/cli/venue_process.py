"""The simulated venues of a demo in a process of their own, so that they have a core of
their own and the trading process's CPU is measured apart from theirs.

The parent writes the venues' configuration (a ``SimConfig`` as JSON) to the child's
stdin; the child serves it and answers with one JSON line of its URLs (``SimUrls``) on
stdout, then serves until its stdin closes or it is terminated. The parent reads the
child's CPU from ``/proc`` (:meth:`VenueProcess.cpu_s`).

Run: ``python -m actors.cli.venue_process < sim.json`` (the parent does it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import trio

from actors.sim import SimConfig, SimServers
from actors.sim.views import SimUrls


class VenueProcess:
    """A running child serving simulated venues at :attr:`urls`."""

    def __init__(self, process: trio.Process, urls: SimUrls) -> None:
        self.process = process
        self.urls = urls

    def cpu_s(self) -> float:
        """The child's CPU so far (user + system), in seconds."""
        with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
            # The command may hold spaces: the fields after it are counted from its ')'.
            fields = stat.read().rsplit(b")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def venue_process(config: SimConfig) -> AsyncIterator[VenueProcess]:
    """The venues of ``config`` served by a child process for the block; it is ended
    (stdin closed, then killed if it lingers) when the block ends."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "actors.cli.venue_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        await process.stdin.send_all(msgspec.json.encode(config) + b"\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = await process.stdout.receive_some()
            if not chunk:
                raise RuntimeError("the simulated venues' process ended before serving")
            line += chunk
        yield VenueProcess(process, msgspec.json.decode(line, type=SimUrls))
    finally:
        with trio.CancelScope(shield=True):
            await process.stdin.aclose()
            with trio.move_on_after(5.0):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.stdout.aclose()


async def serve(config: SimConfig) -> None:
    """Serve ``config``'s venues, announce their URLs, stop when stdin closes."""
    servers = SimServers(config)
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(servers.run)
        sys.stdout.buffer.write(msgspec.json.encode(urls) + b"\n")
        sys.stdout.flush()
        await trio.to_thread.run_sync(sys.stdin.buffer.read, abandon_on_cancel=True)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(serve, msgspec.json.decode(sys.stdin.buffer.readline(), type=SimConfig))
