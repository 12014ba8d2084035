"""What a start of the trading process weighs in Binance's request-weight limits: a
crash loop under a service manager restarts Basis again and again, and each start's
requests count against the IP's weight a minute (6,000 at spot, 2,400 at USDⓈ-M),
past which Binance answers 429 and then bans the IP (418).

Run: ``.venv/bin/python -m bench.start_weight_bench`` (``--starts``, ``--life``).

The simulated venues of the Binance pair (BTC and ETH, the twins counting each request's
documented weight) run in this process; ``basis run`` against them in live mode is
started ``--starts`` times, each killed (SIGKILL) ``--life`` seconds after its launch,
long enough to load the rules, recover, read the balances and come up. Each venue's
``X-MBX-USED-WEIGHT-1M`` is read (with ``GET /time``, weight 1, taken off) before the
launch and after the kill; a start whose window turned meanwhile is not counted. Printed
per venue: the weight of a start (p50, max) and how many starts a minute the venue's
limit allows at that weight.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import msgspec
import trio

from actors.chaos.runner import free_port, run_config_toml, venue_keys
from actors.sim import SimServers
from actors.system_config import SystemConfig
from bench.stats import median

LIMITS = {"binance": ("/api/v3/time", 6000), "binance_futures": ("/fapi/v1/time", 2400)}
"""Each Binance venue's time endpoint and its IP's weight a minute."""
CONFIG = msgspec.convert(
    {
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "venues": {"spot": {"kind": "binance"}, "futures": {"kind": "binance_futures"}},
    },
    SystemConfig,
)


async def used(client: httpx.AsyncClient, rest: str, venue: str) -> int:
    reply = await client.get(f"{rest}{LIMITS[venue][0]}")
    return int(reply.headers["X-MBX-USED-WEIGHT-1M"])


async def measure(starts: int, life_s: float) -> dict[str, list[int]]:
    weights: dict[str, list[int]] = {venue: [] for venue in LIMITS}
    servers = SimServers(CONFIG.simulated())
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "live.toml"
        async with trio.open_nursery() as nursery, httpx.AsyncClient() as client:
            urls = await nursery.start(servers.run)
            config.write_text(run_config_toml(CONFIG, urls, free_port(), False))
            env = {**os.environ, **venue_keys(servers.config)}
            rests = {venue: urls.of(venue)[0] for venue in LIMITS}
            data_dir = str(Path(tmp) / "data")
            command = [sys.executable, "-m", "actors.cli", "run", str(config)]
            command += ["--data-dir", data_dir, "--no-view"]
            for _ in range(starts):
                before = {v: await used(client, rests[v], v) for v in LIMITS}
                process = await trio.lowlevel.open_process(
                    command,
                    env=env,
                    stderr=subprocess.DEVNULL,
                )
                await trio.sleep(life_s)
                process.kill()
                await process.wait()
                for venue in LIMITS:
                    weight = await used(client, rests[venue], venue) - before[venue] - 1
                    if weight > 0:  # else the minute's window turned meanwhile
                        weights[venue].append(weight)
            nursery.cancel_scope.cancel()
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.start_weight_bench")
    parser.add_argument("--starts", type=int, default=6)
    parser.add_argument("--life", type=float, default=4.0, help="seconds from launch to kill")
    args = parser.parse_args()
    weights = trio.run(measure, args.starts, args.life)
    print(f"weight of a start, BTC and ETH at Binance ({args.starts} starts, {args.life:g} s each)")
    print(f"{'venue':18} {'counted':>7} {'p50':>6} {'max':>6} {'limit/min':>10} {'starts/min':>10}")
    for venue, found in weights.items():
        if not found:
            print(f"{venue:18} {0:>7} (every start crossed a minute: run again)")
            continue
        p50 = median([float(w) for w in found])
        limit = LIMITS[venue][1]
        print(
            f"{venue:18} {len(found):>7} {p50:>6.0f} {max(found):>6} {limit:>10} "
            f"{limit / max(found):>10.1f}"
        )


if __name__ == "__main__":
    main()
