"""``basis sim`` in a process of its own on 127.0.0.1, and an independent client's check
script run against it in another: told the URLs the simulated venues print and given the
simulated accounts' keys, it prints one JSON result per check."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
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
    """Each venue's keys, as its check script reads them: every spot venue has the spot
    account's, every futures venue the futures account's."""
    spot, futures = SpotVenueConfig(), FuturesVenueConfig()
    keys = {}
    for venue, account in (
        ("MEXC", spot),
        ("BINANCE", spot),
        ("GATEIO", futures),
        ("BINANCE_FUTURES", futures),
    ):
        keys[f"{venue}_API_KEY"], keys[f"{venue}_API_SECRET"] = account.api_key, account.api_secret
    return keys


def served(urls: SimUrls) -> list[str]:
    return [url for url in msgspec.structs.astuple(urls) if url]


@asynccontextmanager
async def basis_sim(log: Path, sim_args: Sequence[str]) -> AsyncIterator[tuple[bytes, SimUrls]]:
    """``basis sim`` started with ``sim_args`` (its log to ``log``) until the block ends:
    the line it printed, and its URLs (every one on 127.0.0.1)."""
    with log.open("wb") as log_file:
        run_sim = functools.partial(
            trio.run_process,
            [*BASIS, "sim", *sim_args],
            stdout=subprocess.PIPE,
            stderr=log_file,
            check=False,
        )
        async with trio.open_nursery() as nursery:
            sim = await nursery.start(run_sim)
            try:
                with trio.fail_after(STARTUP_S):
                    line = await read_line(sim.stdout)
                urls = msgspec.json.decode(line, type=SimUrls)
                assert all(
                    url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")) for url in served(urls)
                ), urls
                yield line, urls
            finally:
                sim.send_signal(signal.SIGTERM)
                with trio.CancelScope(shield=True), trio.fail_after(STOP_S):
                    await sim.wait()


async def run_script(
    command: list[str], timeout_s: float
) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Run a check script with the simulated accounts' keys: the results it printed, and
    how it ended."""
    with trio.fail_after(timeout_s):
        checks = await trio.run_process(
            command,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env={**os.environ, **simulated_keys()},
        )
    results = [msgspec.json.decode(line) for line in checks.stdout.decode().splitlines()]
    assert results, checks.stderr.decode()
    return results, checks


async def run_checks(
    tmp_path: Path,
    sim_args: Sequence[str],
    script: Callable[[bytes, SimUrls], list[str]],
    checks_s: float,
) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Starts ``basis sim`` with ``sim_args``, runs the command ``script`` makes of the
    line it printed (and its URLs) for at most ``checks_s`` beyond a start, and stops
    the simulated venues; returns the script's results and how it ended."""
    async with basis_sim(tmp_path / "sim.log", sim_args) as (line, urls):
        return await run_script(script(line, urls), STARTUP_S + checks_s)
