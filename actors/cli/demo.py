"""``basis demo arbitrage|recovery|stress``: three demonstrations of the system.

* ``arbitrage`` — one strategy (BTC/USDT) against the simulated venues, with the
  perpetual jumping away from spot often enough to see entries and exits in minutes,
  and funding settled every minute (``DEMO_FUNDING_INTERVAL_S``), so that the funding
  table and status lines show the rate, the next settlement and what the short received;
* ``recovery`` — a run that is stopped and started again on the same store while the
  simulated venues keep their state: the strategy comes back where it was;
* ``stress`` — many strategies at once (50 symbols by default) against simulated venues
  in a process of their own (``venue_process``), reporting how far the system keeps up:
  quotes per second, the feeds' connections and book resyncs during the run, decision
  lag, each process's CPU (per 1,000 quotes too), every group of mailboxes' peak depth
  over the run and its last quarter, memory.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import trio

from actors.cli.args import positive_count, positive_seconds
from actors.cli.paper import SimulatedVenues, open_paper_system
from actors.cli.run import claim_data_dir, run_system, run_tree
from actors.cli.venue_process import venue_process
from actors.histogram import Histogram
from actors.runtime.ops.status import build_status, one_line
from actors.runtime.system import TradingSystem
from actors.sim.config import DEFAULT_SYMBOLS, symbol_config
from actors.system_config import SystemConfig
from protocols.model import Symbol
from supervision import Mailbox

log = logging.getLogger("basis.demo")

DEMO_FUNDING_INTERVAL_S = 60.0
"""The venues settle funding every 8 h; a demo shows some settlements in minutes."""


def add_demo_commands(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="show the system at work: arbitrage, recovery or stress",
        description="Demo modes against the simulated venues, with a throwaway store unless "
        "--data-dir is given.",
        epilog="Example: basis demo recovery",
    )
    demo.add_argument("mode", choices=("arbitrage", "recovery", "stress"))
    demo.add_argument("--duration", type=positive_seconds, metavar="S", help="how long to run")
    demo.add_argument(
        "--symbols", type=positive_count, default=50, metavar="N", help="stress: how many"
    )
    demo.add_argument("--data-dir", metavar="DIR", help="keep the store here")
    demo.set_defaults(handler=command_demo)


def demo_config(
    symbols: list[str], dislocations_per_hour: float, tick_s: float = 0.1
) -> SystemConfig:
    config = msgspec.convert(
        {
            "symbols": symbols,
            "http": {"port": 0},
            "status_every_s": 10.0,
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 5.0},
            "paper": {"dislocations_per_hour": dislocations_per_hour},
            "sim": {
                "servers": {"tick_s": tick_s},
                # Room for every strategy to enter at once.
                "spot": {"balances": {"USDT": 1_000.0 * len(symbols) + 10_000.0}},
                "futures": {"balance_usdt": 1_000.0 * len(symbols) + 10_000.0},
            },
        },
        SystemConfig,
    )
    simulated = tuple(
        msgspec.structs.replace(
            symbol_config(Symbol.parse(symbol)), funding_interval_s=DEMO_FUNDING_INTERVAL_S
        )
        for symbol in symbols
    )
    sim = msgspec.structs.replace(config.sim, symbols=simulated)
    return msgspec.structs.replace(config, sim=sim)


def stress_symbols(count: int) -> list[str]:
    named = [str(config.symbol) for config in DEFAULT_SYMBOLS]
    return (named + [f"COIN{n:03d}/USDT" for n in range(1, count + 1)])[:count]


def command_demo(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="basis-demo-") as scratch:
        data_dir = Path(args.data_dir or scratch)
        with claim_data_dir(data_dir):
            return _demo(args, data_dir)


def _demo(args: argparse.Namespace, data_dir: Path) -> int:
    if args.mode == "arbitrage":
        config = demo_config(["BTC/USDT"], dislocations_per_hour=120.0)
        view = sys.stdout.isatty()
        return run_tree(lambda: run_system(config, data_dir, args.duration, view, []))
    if args.mode == "recovery":
        return run_tree(lambda: recovery_demo(data_dir, args.duration or 20.0))
    report = trio.run(stress, args.symbols, args.duration or 30.0, data_dir)
    print(report)
    return 0


async def recovery_demo(data_dir: Path, phase_s: float) -> None:
    config = demo_config(["BTC/USDT", "ETH/USDT"], dislocations_per_hour=120.0)
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(SimulatedVenues(config).run)
        async with open_paper_system(config, data_dir, venues=urls) as first:
            log.info("demo: first run for %g s", phase_s)
            await trio.sleep(phase_s)
            before = {h.task_id: h.actor.ctx for h in first.strategies.values()}
        log.info("demo: stopped; the venues keep their state; starting again from the store")
        async with open_paper_system(config, data_dir, venues=urls) as second:
            for handle in second.strategies.values():
                old = before.get(handle.task_id)
                now = handle.actor.ctx
                log.info(
                    "demo: %s %s: was %s with %g held, came back %s with %g held",
                    handle.task_id,
                    handle.symbol,
                    old.state.value if old else "-",
                    old.positions.spot.qty if old else 0.0,
                    now.state.value,
                    now.positions.spot.qty,
                )
            await trio.sleep(phase_s)
        nursery.cancel_scope.cancel()


async def stress(count: int, duration_s: float, data_dir: Path) -> str:
    """Run ``count`` strategies at 20 quotes/s per leg, the simulated venues in a process
    of their own; the figures as text."""
    config = demo_config(stress_symbols(count), dislocations_per_hour=20.0, tick_s=0.05)
    rss_before = _rss_mb()
    async with (
        venue_process(config.simulated()) as venues,
        open_paper_system(config, data_dir, venues=venues.urls) as system,
    ):
        rss_started = _rss_mb()
        await trio.sleep(2.0)  # warm: every feed fresh, first entries sent
        quotes_at, cpu_at, wall_at = _quotes(system), time.process_time(), time.monotonic()
        churn_at = _feed_churn(system)
        venues_cpu_at = venues.cpu_s()
        lag_at, decide_at = _lag(system), _lag(system, "decide_lag")
        quote_lag_at = _lag(system, "quote_lag")
        journal_at = _lag(system, "journal_lag")
        depths = MailboxDepths(system)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(depths.sample_every, MAILBOX_SAMPLE_S)
            while time.monotonic() - wall_at < duration_s:
                await trio.sleep(min(10.0, duration_s - (time.monotonic() - wall_at)))
                log.info("%s", one_line(build_status(system))[:300])
            nursery.cancel_scope.cancel()
        quotes = _quotes(system) - quotes_at
        connects, resyncs = (n - m for n, m in zip(_feed_churn(system), churn_at, strict=True))
        cpu = time.process_time() - cpu_at
        venues_cpu = venues.cpu_s() - venues_cpu_at
        wall = time.monotonic() - wall_at
        lag, decide = _lag(system), _lag(system, "decide_lag")
        journal = _lag(system, "journal_lag")
        quote_lag = _lag(system, "quote_lag")
    quote_lag_p99 = _percentile_from(quote_lag, quote_lag_at, 0.99)
    lag_p99 = _percentile_from(lag, lag_at, 0.99)
    journal_p99 = _percentile_from(journal, journal_at, 0.99)
    decide_p99 = _percentile_from(decide, decide_at, 0.99)
    per_1k = max(quotes, 1) / 1000
    return "\n".join(
        [
            f"== stress: {count} strategies, sim ticking every 50 ms in its own process, "
            f"{wall:.0f} s measured",
            f"  quotes received: {quotes / wall:,.0f}/s ({quotes / wall / count / 2:.1f} per leg"
            f" per symbol; the venues send 20)",
            # A venue drops a connection that falls its backlog behind; the feed then
            # reconnects and resyncs every book from a paced snapshot, quoting nothing
            # meanwhile: quotes short of 20 with churn here come from that, not the path.
            f"  feeds: {connects} connections opened, {resyncs} books resynced during the run",
            f"  decision lag p99, every quote (received -> decided on): {_ms(quote_lag_p99)}"
            " (goal < 2 ms)",
            f"  decision lag p99, orders placed (received -> decision): {_ms(decide_p99)}",
            f"  journal commit p99 (orders handed -> intents committed): {_ms(journal_p99)}",
            f"  p99 to orders out (the journal commit included): {_ms(lag_p99)}",
            f"  decisions that placed orders: {decide.n - decide_at.n}",
            f"  CPU, trading process: {cpu / wall * 100:.0f}% of one core; "
            f"{cpu / per_1k * 1e3:.1f} ms per 1k quotes",
            f"  CPU, venues' process: {venues_cpu / wall * 100:.0f}% of one core; "
            f"{venues_cpu / per_1k * 1e3:.1f} ms per 1k quotes",
            *depths.lines(),
            f"  memory: {rss_started - rss_before:.1f} MB for the system, "
            f"{(rss_started - rss_before) / count:.2f} MB per strategy",
        ]
    )


MAILBOX_SAMPLE_S = 0.1


class MailboxDepths:
    """The depth of every mailbox of ``system`` (strategies, routers, the writer), sampled:
    the peak of each group over the run and over its last quarter, so that growth shows."""

    def __init__(self, system: TradingSystem) -> None:
        self.groups: dict[str, list[Mailbox]] = {
            "strategies": [handle.mailbox for handle in system.strategies.values()],
            "routers": [link.router_mailbox for link in system.venues.values()],
            "writer": [system.writer_mailbox],
        }
        self.samples: dict[str, list[int]] = {group: [] for group in self.groups}

    def sample(self) -> None:
        for group, mailboxes in self.groups.items():
            self.samples[group].append(max((len(m) for m in mailboxes), default=0))

    async def sample_every(self, interval_s: float) -> None:
        while True:
            self.sample()
            await trio.sleep(interval_s)

    def lines(self) -> list[str]:
        lines = []
        for group, samples in self.samples.items():
            last_quarter = samples[len(samples) * 3 // 4 :]
            lines.append(
                f"  mailbox depth, {group} (deepest one): peak {max(samples, default=0)}, "
                f"last quarter's peak {max(last_quarter, default=0)}, "
                f"{len(samples)} samples"
            )
        return lines


def _quotes(system: TradingSystem) -> int:
    return sum(f.status.quotes for links in system.venues.values() for f in links.feeds)


def _feed_churn(system: TradingSystem) -> tuple[int, int]:
    """Connections opened and books resynced so far, every feed together."""
    feeds = [f.status for links in system.venues.values() for f in links.feeds]
    return sum(f.connects for f in feeds), sum(f.resyncs for f in feeds)


def _lag(system: TradingSystem, which: str = "lag") -> Histogram:
    merged = Histogram()
    for handle in system.strategies.values():
        histogram = getattr(handle.actor, which)
        for i, count in enumerate(histogram.counts):
            merged.counts[i] += count
        merged.n += histogram.n
    return merged


def _percentile_from(now: Histogram, before: Histogram, fraction: float) -> float | None:
    """The bucket bound below which ``fraction`` of the observations since ``before`` lie."""
    counts = [a - b for a, b in zip(now.counts, before.counts, strict=True)]
    total = sum(counts)
    if not total:
        return None
    running = 0
    for bound, count in zip((*now.bounds, float("inf")), counts, strict=True):
        running += count
        if running >= fraction * total:
            return bound
    return None


def _ms(seconds: float | None) -> str:
    """A histogram bucket's bound: the value is at most this."""
    return "-" if seconds is None else f"<= {seconds * 1e3:g} ms"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
