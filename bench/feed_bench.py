"""Feed throughput: book-ticker frames decoded and published per second, per venue,
against a bare receive loop on the same websocket client over the same frames in the same
run.

The frames come from ``bench.frame_server`` in its own process.
Run: ``.venv/bin/python -m bench.feed_bench``
"""

from __future__ import annotations

import subprocess
import sys
import time

import trio

from actors.runtime.market.feed import Feed
from actors.runtime.market.websocket import open_websocket
from actors.venues.gateio import GateioFeedCodec
from actors.venues.mexc import MexcFeedCodec
from actors.venues.rest import RestClient
from bench.frame_server import CONTRACT_SIZES, SYMBOLS
from bench.stats import median
from protocols.model import VenueRules
from supervision import Incarnation

FRAMES = 100_000
ROUNDS = 3


class CountingSubscriber:
    """Stands where a strategy's address would: counts what the feed publishes."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = trio.Event()

    def put_latest(self, key: object, value: object) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


def subscription(venue: str) -> str:
    rest = RestClient("http://127.0.0.1:9")  # never used: no depth, rules given
    codec = MexcFeedCodec(rest) if venue == "mexc" else GateioFeedCodec(rest)
    return codec.subscriptions(SYMBOLS[:1], False, time.time())[0]


async def bare(url: str, venue: str) -> float:
    async with open_websocket(url) as ws:
        await ws.send_message(subscription(venue))
        began = time.perf_counter()
        await ws.get_message()  # the ack
        for _ in range(FRAMES):
            await ws.get_message()
        return time.perf_counter() - began


async def through_feed(url: str, venue: str) -> float:
    rest = RestClient("http://127.0.0.1:9")
    if venue == "mexc":
        codec = MexcFeedCodec(rest)
    else:
        codec = GateioFeedCodec(rest)
        for symbol in SYMBOLS:
            codec.rules[symbol] = VenueRules(contract_size=CONTRACT_SIZES[symbol.base])
            codec.contract_sizes[symbol] = CONTRACT_SIZES[symbol.base]
    counter = CountingSubscriber(FRAMES)
    feed = Feed(f"feed-{venue}", codec, url, {symbol: [counter] for symbol in SYMBOLS[:1]})
    # One subscription ack, then FRAMES pushes for three symbols: publish all three.
    feed.subscribers = {symbol: [counter] for symbol in SYMBOLS}
    began = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
        await counter.done.wait()
        elapsed = time.perf_counter() - began
        nursery.cancel_scope.cancel()
    await rest.aclose()
    return elapsed


def start_server(venue: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.frame_server", venue, str(FRAMES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(server.stdout.readline())
    return server, f"ws://127.0.0.1:{port}/ws"


async def main() -> None:
    print(f"== feed: {FRAMES:,} book-ticker frames from a server process, median of {ROUNDS}")
    for venue in ("mexc", "gateio"):
        server, url = start_server(venue)
        try:
            bare_rates, feed_rates = [], []
            for _ in range(ROUNDS):  # interleaved, so both see the same machine
                bare_rates.append(FRAMES / await bare(url, venue))
                feed_rates.append(FRAMES / await through_feed(url, venue))
        finally:
            server.terminate()
            server.wait()
        b, f = median(bare_rates), median(feed_rates)
        print(f"  {venue:7} bare receive loop: {b:>9,.0f} frames/s")
        print(f"  {venue:7} feed (decode+publish): {f:>9,.0f} frames/s  ratio {f / b:.2f}")


if __name__ == "__main__":
    trio.run(main)
