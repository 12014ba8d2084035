"""Tick to order: from a quote frame leaving the venue to the order request it causes
arriving there, through the real feed, strategy actor, intent journal (a SQLite store
behind the persistence writer, as ``basis run`` has it), state machine and router, logging
as ``basis run`` does.

The venue (``bench.tick_server``) runs in its own process and stamps both ends; the bench
process traces the points between (``actors/hot_path.py``), so the path is split into
segments. Between decisions the venue times a bare TCP round trip to this process: the
floor, measured in the same run, whose p99 the path's p99 is compared with.

Run: ``.venv/bin/python -m bench.tick_bench [--runs 5] [--decisions 4000] [--pin]``
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

from actors import hot_path
from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import new_context
from actors.runtime.market.feed import Feed
from actors.runtime.ops.gc_tuning import freeze_startup_objects
from actors.runtime.ops.logs import configure_console, configure_file, flush_logs
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.orders.router import Router
from actors.runtime.persistence.writer import Writer, WriterClient
from actors.venues.gateio import GateioFeedCodec, GateioRouterCodec
from actors.venues.mexc import MexcFeedCodec, MexcRouterCodec
from actors.venues.rest import RestClient
from bench.stats import percentile
from bench.tick_segments import SEGMENTS, split
from protocols.model import Leg, Symbol
from protocols.venue import ApiCredentials
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
KEYS = ApiCredentials("bench", "bench")
SPOT_ORDER = b"/api/v3/order?"
GOAL = "goal: p99 < 1 ms, p99.9 < 5 ms, p99 within 3x the floor's p99"


def is_spot_order(tag: object) -> bool:
    return isinstance(tag, tuple) and tag[0] == b"POST" and tag[1].startswith(SPOT_ORDER)


class Collections:
    """The collector's runs in this process: each generation and when it ran (ns)."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, int, int]] = []
        self._began = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter_ns()
        else:
            self.runs.append((info["generation"], self._began, time.perf_counter_ns()))


async def trade(urls: dict, store: Path, done: trio.Event, tune: Callable[[], None]) -> None:
    strategy_box = Mailbox("strategy")
    spot_box, futures_box = Mailbox("router-mexc"), Mailbox("router-gateio")
    writer_box = Mailbox("writer", capacity=4096)
    writer = WriterClient(writer_box.address)
    async with (
        RestClient(urls["mexc_rest"]) as mexc_rest,
        RestClient(urls["gateio_rest"]) as gate_rest,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(Writer(store).run, Incarnation("writer", 0, None, writer_box))
        owners = {"bench": strategy_box.address}
        subscribers = {BTC: [strategy_box.address]}
        for name, codec, rest, box in (
            ("router-mexc", MexcRouterCodec(KEYS), mexc_rest, spot_box),
            ("router-gateio", GateioRouterCodec(KEYS), gate_rest, futures_box),
        ):
            # The venues' order limits (~10/s) would queue decisions made this fast: lifted,
            # so that what is timed is the path, not the bucket.
            router = Router(
                name,
                codec,
                rest,
                owners,
                subscribers,
                order_bucket=TokenBucket(1e6, 1e6),
                query_bucket=TokenBucket(1e6, 1e6),
                poll_interval_s=0.001,
                # At a hundred decisions a second the default five minutes of finished
                # orders would be tens of thousands of objects for the collector to walk.
                keep_finished_s=5.0,
                journal=writer.order_event,
            )
            await nursery.start(router.run, Incarnation(name, 0, None, box))

        async def save(changed: object) -> None:
            writer.save(changed)

        ctx = new_context("bench", BTC, now=time.time())
        actor = StrategyActor(
            ctx,
            {Leg.SPOT: spot_box.address, Leg.FUTURES: futures_box.address},
            before_orders=writer.journal,
            on_change=save,
        )
        writer.save(ctx)
        await nursery.start(actor.run, Incarnation("strategy", 0, None, strategy_box))
        for name, codec, url in (
            ("feed-mexc", MexcFeedCodec(mexc_rest), urls["mexc_ws"]),
            ("feed-gateio", GateioFeedCodec(gate_rest), urls["gateio_ws"]),
        ):
            feed = Feed(name, codec, url, {BTC: [strategy_box.address]})
            nursery.start_soon(feed.run, Incarnation(name, 0, None, None))
        nursery.start_soon(echo_floor, urls["floor_port"])
        freeze_startup_objects()  # as the system does once it is up
        tune()
        await done.wait()
        nursery.cancel_scope.cancel()


async def echo_floor(port: int) -> None:
    """This process's end of the floor: each byte the venue sends goes straight back."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        while data := await stream.receive_some(1):
            await stream.send_all(data)


async def one_run(decisions: int, pin: bool, tune: Callable[[], None]) -> dict:
    # Started before anything runs; it is the far end, not part of what is timed.
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "bench.tick_server", str(decisions)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, {1})) if pin else None,
    )
    collections = Collections()
    try:
        urls = json.loads(server.stdout.readline())
        done = trio.Event()
        result: dict = {}
        with tempfile.TemporaryDirectory() as folder:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trade, urls, Path(folder) / "bench.sqlite3", done, tune)

                async def collect() -> None:
                    line = await trio.to_thread.run_sync(server.stdout.readline)
                    result.update(json.loads(line))
                    done.set()

                gc.callbacks.append(collections)
                hot_path.start()
                nursery.start_soon(collect)
            stamps = hot_path.stop()
    finally:
        if collections in gc.callbacks:
            gc.callbacks.remove(collections)
        server.terminate()
        server.wait()
    windows = [tuple(pair) for pair in result["decisions"]]
    segments, unmatched = split(windows, stamps, Leg.SPOT, is_spot_order)
    return {
        "path": [parsed - sent for sent, parsed in windows],
        "floor": result["floor"],
        "segments": segments,
        "unmatched": unmatched,
        "windows": windows,
        "collections": collections.runs,
    }


def figures(samples_ns: list[int]) -> tuple[float, float, float]:
    """p50, p99, p99.9 in microseconds."""
    us = [ns / 1e3 for ns in samples_ns]
    return percentile(us, 0.5), percentile(us, 0.99), percentile(us, 0.999)


def line(name: str, samples_ns: list[int]) -> str:
    if not samples_ns:
        return f"{name:<32} (no decision had every mark)"
    p50, p99, p999 = figures(samples_ns)
    return f"{name:<32} p50 {p50:7.0f} µs  p99 {p99:7.0f} µs  p99.9 {p999:7.0f} µs"


def collections_note(run: dict) -> str:
    """How often each generation ran, and how many of the slowest 1% of decisions had a
    collection inside their window."""
    counts, longest = [0, 0, 0], [0, 0, 0]
    for generation, began, ended in run["collections"]:
        counts[generation] += 1
        longest[generation] = max(longest[generation], ended - began)
    slowest = sorted(
        zip(run["path"], run["windows"], strict=True), key=lambda pair: pair[0], reverse=True
    )[: max(1, len(run["path"]) // 100)]
    hit = sum(
        1
        for _, (sent, parsed) in slowest
        if any(began < parsed and ended > sent for _, began, ended in run["collections"])
    )
    return (
        f"collections gen0/1/2: {counts[0]}/{counts[1]}/{counts[2]} (longest "
        f"{'/'.join(f'{ns / 1e3:.0f}' for ns in longest)} µs); "
        f"the slowest 1% ({len(slowest)}) overlapping one: {hit}"
    )


def report(n: int, run: dict) -> tuple[float, float, float]:
    path_p99 = figures(run["path"])[1]
    floor_p99 = figures(run["floor"])[1]
    ratio = path_p99 / floor_p99
    print(
        f"-- run {n}: {len(run['path']):,} decisions "
        f"({run['unmatched']} without every mark), {len(run['floor']):,} round trips"
    )
    for index, name in enumerate(SEGMENTS):
        print("  " + line(name, [segments[index] for segments in run["segments"]]))
    print("  " + line("whole path (frame -> parsed)", run["path"]))
    print("  " + line("floor (bare TCP round trip)", run["floor"]))
    print(f"  path p99 / floor p99 = {ratio:.1f}x;  {collections_note(run)}")
    return path_p99, figures(run["path"])[2], ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=4000)
    parser.add_argument(
        "--pin", action="store_true", help="this process on core 0, the venue on core 1"
    )
    parser.add_argument(
        "--gc-threshold",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="the collector's thresholds in this process once up (gc.set_threshold), e.g. "
        "50000,20,20",
    )
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval in this process (s)"
    )
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as console:
        # Logged as `basis run` logs: INFO lines to a console (one that takes them at
        # once) and JSON lines to a file; a decision and its orders log on the path.
        stderr, sys.stderr = sys.stderr, console
        try:
            configure_console(logging.INFO)
            configure_file(Path(folder) / "basis.jsonl")
            trio.run(runs, args, Path("/proc/loadavg").read_text().strip())
        finally:
            flush_logs()
            sys.stderr = stderr


async def runs(args: argparse.Namespace, loadavg: str) -> None:
    print(
        f"== tick to order: {args.runs} run(s) of {args.decisions:,} decisions, venue in its "
        f"own process{', pinned apart' if args.pin else ''}; loadavg "
        f"{loadavg}"
    )

    def tune() -> None:
        if args.gc_threshold:
            gc.set_threshold(*args.gc_threshold)
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval)

    print(
        f"   collector thresholds {gc.get_threshold()} then {args.gc_threshold or 'the same'}; "
        f"switch interval {args.switch_interval or sys.getswitchinterval()} s"
    )
    summary = []
    for n in range(1, args.runs + 1):
        summary.append(report(n, await one_run(args.decisions, args.pin, tune)))
    p99s, p999s, ratios = zip(*summary, strict=True)
    print(
        f"== over {args.runs} run(s): worst p99 {max(p99s):.0f} µs, worst p99.9 "
        f"{max(p999s):.0f} µs, worst ratio {max(ratios):.1f}x, best p99 {min(p99s):.0f} µs "
        f"({GOAL})"
    )


if __name__ == "__main__":
    main()
