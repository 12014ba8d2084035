"""Decision lag of a paper system with no alert sink, with a webhook that hangs for a
minute before answering, and with one that answers at once.

Each run trades two symbols on the simulated venues for the same time, with the market
stirred the same way (a premium to enter on, a discount to exit on) and the same faults
(the spot venue's websockets stalled for 6 s every 20 s, so that incidents open and
resolve and their alerts go to the sink). The decision lag is the strategy's own: from
a quote's arrival to its orders sent, the intents' commit included, one sample per
placement. The hanging webhook holds every attempt for 60 s (the sink's timeout), so
alerts pile up in its retries the whole run.

Run: ``.venv/bin/python -m bench.alert_sink_bench [SECONDS_PER_RUN]``
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import attrs
import msgspec
import trio

from actors.cli.paper import open_paper_system
from actors.histogram import Histogram
from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from bench.stats import percentile
from protocols.model import Symbol

SECONDS = 60.0
HANG_S = 60.0
SYMBOLS = ("BTC/USDT", "ETH/USDT")
STALL_EVERY_S = 20.0
STALL_S = 6.0


@attrs.define
class LagSamples(Histogram):
    """A strategy's decision lag, every sample kept."""

    samples: list[float] = attrs.Factory(list)

    def observe(self, value: float) -> None:
        self.samples.append(value)
        super().observe(value)


@attrs.define
class Webhook:
    """A receiver on 127.0.0.1 that waits ``hang_s`` before taking each alert."""

    hang_s: float
    taken: int = 0

    async def handle(self, request: HttpRequest) -> HttpResponse:
        await trio.sleep(self.hang_s)
        self.taken += 1
        return HttpResponse(200, b"{}")


def config(webhook: dict | None) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": list(SYMBOLS),
            "http": {"port": 0},
            "venues": {"spot": {"kind": "mexc", "stale_after_s": 2.0}},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 0.0},
            "alerts": {} if webhook is None else {"webhook": webhook},
        },
        SystemConfig,
    )


async def stir(sim: SimServers) -> None:
    while True:
        for size in (0.012, -0.015):
            for symbol in SYMBOLS:
                sim.dislocate(Symbol.parse(symbol), size)
            await trio.sleep(1.0)


async def stall(sim: SimServers) -> None:
    while True:
        await trio.sleep(STALL_EVERY_S - STALL_S)
        sim.mexc.stall_websockets(STALL_S)
        await trio.sleep(STALL_S)


@attrs.frozen
class Run:
    samples: list[float]
    delivered: int
    """Alert deliveries the sink took."""
    pending: int
    """Alert deliveries still waiting for the sink at the end."""


async def measure(hang_s: float | None, seconds: float) -> Run:
    async with trio.open_nursery() as nursery:
        webhook_config = None
        if hang_s is not None:
            receiver = Webhook(hang_s)
            port = await nursery.start(HttpServer(receiver.handle, name="webhook").serve)
            webhook_config = {
                "url": f"http://127.0.0.1:{port}/alerts",
                "timeout_s": max(hang_s, 1.0) + 1.0,
            }
        system_config = config(webhook_config)
        sim = SimServers(system_config.simulated())
        urls = await nursery.start(sim.run)
        with tempfile.TemporaryDirectory() as data_dir:
            async with open_paper_system(system_config, Path(data_dir), venues=urls) as system:
                lags = []
                for handle in system.strategies.values():
                    lag = handle.actor.lag = LagSamples()
                    lags.append(lag)
                async with trio.open_nursery() as faults:
                    faults.start_soon(stir, sim)
                    faults.start_soon(stall, sim)
                    await trio.sleep(seconds)
                    faults.cancel_scope.cancel()
                actor = system.alert_actor
                samples = [s for lag in lags for s in lag.samples]
                run = Run(samples, actor.delivered, actor.statistics().pending)
        nursery.cancel_scope.cancel()
    return run


def ms(samples: list[float], fraction: float) -> float:
    return percentile(samples, fraction) * 1000 if samples else float("nan")


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("basis.alerts").setLevel(logging.CRITICAL)  # the faults' own alerts
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS
    print(
        f"== decision lag with alert sinks: {seconds:g} s per run, {len(SYMBOLS)} symbols, "
        f"spot websockets stalled {STALL_S:g} s every {STALL_EVERY_S:g} s"
    )
    runs = {
        "no sink": await measure(None, seconds),
        f"webhook hanging {HANG_S:g} s": await measure(HANG_S, seconds),
        "webhook answering at once": await measure(0.0, seconds),
    }
    base = runs["no sink"].samples
    base50, base99 = ms(base, 0.5), ms(base, 0.99)
    print(f"{'':<28} {'n':>4} {'p50':>9} {'p99':>9} {'p50 ratio':>10} {'p99 ratio':>10}  alerts")
    for name, run in runs.items():
        p50, p99 = ms(run.samples, 0.5), ms(run.samples, 0.99)
        alerts = "-" if name == "no sink" else f"{run.delivered} delivered, {run.pending} pending"
        print(
            f"{name:<28} {len(run.samples):>4} {p50:>6.2f} ms {p99:>6.2f} ms "
            f"{p50 / base50:>9.2f}x {p99 / base99:>9.2f}x  {alerts}"
        )


if __name__ == "__main__":
    trio.run(main)
