"""Tick to order: from a quote frame leaving the venue to the order request it causes
arriving there, through the real feed, strategy actor, state machine and router.

The venue (``bench.tick_server``) runs in its own process and times both ends on its own
clock; its spot quote alternates between an entry and an exit opportunity.
Run: ``.venv/bin/python -m bench.tick_bench``
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import trio

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import new_context
from actors.runtime.market.feed import Feed
from actors.runtime.ops.gc_tuning import freeze_startup_objects
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.orders.router import Router
from actors.venues.gateio import GateioFeedCodec, GateioRouterCodec
from actors.venues.mexc import MexcFeedCodec, MexcRouterCodec
from actors.venues.rest import RestClient
from bench.stats import percentile
from protocols.model import Leg, Symbol
from protocols.venue import ApiCredentials
from supervision import Incarnation, Mailbox

DECISIONS = 10_000
BTC = Symbol("BTC", "USDT")
KEYS = ApiCredentials("bench", "bench")


async def trade(urls: dict[str, str], done: trio.Event) -> None:
    strategy_box = Mailbox("strategy")
    spot_box, futures_box = Mailbox("router-mexc"), Mailbox("router-gateio")
    async with (
        RestClient(urls["mexc_rest"]) as mexc_rest,
        RestClient(urls["gateio_rest"]) as gate_rest,
        trio.open_nursery() as nursery,
    ):
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
            )
            await nursery.start(router.run, Incarnation(name, 0, None, box))
        actor = StrategyActor(
            new_context("bench", BTC, now=time.time()),
            {Leg.SPOT: spot_box.address, Leg.FUTURES: futures_box.address},
        )
        await nursery.start(actor.run, Incarnation("strategy", 0, None, strategy_box))
        for name, codec, url in (
            ("feed-mexc", MexcFeedCodec(mexc_rest), urls["mexc_ws"]),
            ("feed-gateio", GateioFeedCodec(gate_rest), urls["gateio_ws"]),
        ):
            feed = Feed(name, codec, url, {BTC: [strategy_box.address]})
            nursery.start_soon(feed.run, Incarnation(name, 0, None, None))
        freeze_startup_objects()  # as the system does once it is up
        await done.wait()
        nursery.cancel_scope.cancel()


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    # Started once, before anything runs; it is the far end, not part of what is timed.
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "bench.tick_server", str(DECISIONS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(server.stdout.readline())
        done = trio.Event()

        async def wait_for_result() -> list[int]:
            line = await trio.to_thread.run_sync(server.stdout.readline)
            done.set()
            return json.loads(line)

        result: list[int] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trade, urls, done)

            async def collect() -> None:
                result.extend(await wait_for_result())

            nursery.start_soon(collect)
    finally:
        server.terminate()
        server.wait()
    samples = [ns / 1e9 for ns in result]
    print(f"== tick to order: {len(samples):,} decisions, venue in its own process")
    print(
        f"  p50 {percentile(samples, 0.5) * 1e6:.0f} µs  "
        f"p99 {percentile(samples, 0.99) * 1e6:.0f} µs  "
        f"p99.9 {percentile(samples, 0.999) * 1e6:.0f} µs  (goal: p99 under 1 ms)"
    )


if __name__ == "__main__":
    trio.run(main)
