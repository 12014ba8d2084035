"""``basis sim`` in a process of its own on 127.0.0.1, and an independent client's check
script run against it in another: told the URLs the simulated venues print and given the
simulated accounts' keys, it prints one JSON result per check."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import trio

from actors.sim import SimUrls
from actors.sim.config import FuturesVenueConfig, SpotVenueConfig

BASIS = [sys.executable, "-m", "actors.cli"]
STARTUP_S = 60.0
"""A fresh interpreter importing everything: generous, as a loaded CI machine needs."""
STOP_S = 10.0


async def read_line(stream: trio.abc.ReceiveStream) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = await stream.receive_some(4096)
        assert chunk, f"basis sim ended before printing its URLs: {data!r}"
        data += chunk
    return data.split(b"\n", 1)[0]


def simulated_keys() -> dict[str, str]:
    spot, futures = SpotVenueConfig(), FuturesVenueConfig()
    return {
        "MEXC_API_KEY": spot.api_key,
        "MEXC_API_SECRET": spot.api_secret,
        "GATEIO_API_KEY": futures.api_key,
        "GATEIO_API_SECRET": futures.api_secret,
    }


async def run_checks(
    tmp_path: Path,
    sim_args: Sequence[str],
    script: Callable[[bytes, SimUrls], list[str]],
    checks_s: float,
) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Starts ``basis sim`` with ``sim_args``, runs the command ``script`` makes of the
    line it printed (and its URLs) for at most ``checks_s`` beyond a start, and stops
    the simulated venues; returns the script's results and how it ended."""
    with (tmp_path / "sim.log").open("wb") as log:
        run_sim = functools.partial(
            trio.run_process,
            [*BASIS, "sim", *sim_args],
            stdout=subprocess.PIPE,
            stderr=log,
            check=False,
        )
        async with trio.open_nursery() as nursery:
            sim = await nursery.start(run_sim)
            with trio.fail_after(STARTUP_S):
                line = await read_line(sim.stdout)
            urls = msgspec.json.decode(line, type=SimUrls)
            assert all(
                url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:"))
                for url in (urls.mexc_rest, urls.mexc_ws, urls.gateio_rest, urls.gateio_ws)
            ), urls
            with trio.fail_after(STARTUP_S + checks_s):
                checks = await trio.run_process(
                    script(line, urls),
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                    env={**os.environ, **simulated_keys()},
                )
            sim.send_signal(signal.SIGTERM)
            with trio.fail_after(STOP_S):
                await sim.wait()
    results = [msgspec.json.decode(line) for line in checks.stdout.decode().splitlines()]
    assert results, checks.stderr.decode()
    return results, checks
