"""The feed actor against a scripted websocket server on 127.0.0.1.

The venue here speaks a toy JSON format through a toy codec, so each test controls the
server exactly: what it acknowledges, when it goes quiet, when it drops the connection.
The real venues' formats are exercised against the simulated venues elsewhere.
"""

from __future__ import annotations

import json
import random

import attrs
import pytest
import trio
import trio_websocket

from actors.runtime.market.feed import Feed
from actors.runtime.orders.rate_limit import TokenBucket
from actors.venues.rest import RequestNotSent
from protocols.messages import FeedHealth, FundingRateUpdate, MarketQuote
from protocols.model import Leg, Quote, Symbol
from protocols.venue import (
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    FundingRate,
    MalformedMessage,
    Pong,
    SubscriptionResult,
    UpgradeNotice,
    VenueError,
    VenueUnavailable,
)
from supervision import Backoff, Incarnation, Mailbox
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")


class ToyCodec:
    exchange = "toy"
    leg = Leg.SPOT
    ping_interval_s = 0.05
    handshake_headers = ((b"x-toy", b"1"),)

    async def prepare(self, symbols):
        pass

    def funding_rates(self, now):
        """BTC's funding, as a venue's contract data gives it before connecting."""
        return [FundingRate(BTC, 0.0001, 3600.0, 7200.0)]

    def subscriptions(self, symbols, depth, now):
        return [json.dumps({"sub": str(s), "depth": depth}) for s in symbols]

    def ping(self, now):
        return '{"ping":1}'

    def decode(self, frame, recv_ts):
        try:
            message = json.loads(frame)
        except ValueError:
            return (MalformedMessage.about("not JSON", frame),)
        kind = message["t"]
        if kind == "q":
            s, bid, ask = message["q"]
            return (Quote(Symbol.parse(s), bid, 1.0, ask, 1.0, recv_ts, recv_ts),)
        if kind == "ack":
            return (SubscriptionResult(message["ok"], message["ch"], message.get("why", "")),)
        if kind == "f":
            rate, next_ts = message["f"]
            return (FundingRate(BTC, rate, 3600.0, next_ts),)
        if kind == "pong":
            return (Pong(),)
        if kind == "upgrade":
            return (UpgradeNotice("server restarting"),)
        if kind == "book":  # a venue's whole book pushed on the stream
            version, bid = message["v"]
            return (
                DepthSnapshot(BTC, version, (BookLevel(bid, 1.0),), (BookLevel(bid + 1, 1.0),)),
            )
        if kind == "diff":
            first, last, bid = message["v"]
            level = (BookLevel(bid, 1.0),)
            return (DepthDiff(BTC, first, last, level, (BookLevel(bid + 1, 1.0),), recv_ts),)
        raise AssertionError(kind)


@attrs.define
class ToyVenue:
    """Answers subscriptions as told and lets a test push frames to the newest client."""

    ack: bool = True
    url: str = ""
    connections: int = 0
    subscriptions: list[str] = attrs.field(factory=list)
    pings: int = 0
    headers_seen: list = attrs.field(factory=list)
    current: trio_websocket.WebSocketConnection | None = None
    connected: trio.Event = attrs.field(factory=trio.Event)

    async def handler(self, request):
        self.headers_seen.append(dict(request.headers))
        ws = await request.accept()
        self.connections += 1
        self.current = ws
        self.connected.set()
        try:
            while True:
                message = json.loads(await ws.get_message())
                if "sub" in message:
                    self.subscriptions.append(message["sub"])
                    ack = {"t": "ack", "ok": self.ack, "ch": message["sub"], "why": "Blocked!"}
                    await ws.send_message(json.dumps(ack))
                elif "ping" in message:
                    self.pings += 1
                    await ws.send_message('{"t":"pong"}')
        except trio_websocket.ConnectionClosed:
            pass

    async def next_connection(self):
        self.connected = trio.Event()
        await self.connected.wait()
        return self.current

    async def quote(self, symbol, bid, ask):
        await self.current.send_message(json.dumps({"t": "q", "q": [str(symbol), bid, ask]}))


@pytest.fixture
async def venue(nursery):
    venue = ToyVenue()
    server = await nursery.start(
        trio_websocket.serve_websocket, venue.handler, "127.0.0.1", 0, None
    )
    venue.url = f"ws://127.0.0.1:{server.port}/ws"
    return venue


def start_feed(nursery, venue, **options):
    mailbox = Mailbox("strategy-btc")
    other = Mailbox("strategy-eth")
    feed = Feed(
        "feed-toy",
        ToyCodec(),
        venue.url,
        {BTC: [mailbox.address], ETH: [other.address]},
        backoff=Backoff(min_s=0.01, max_s=0.05),
        rng=random.Random(1),
        **options,
    )
    nursery.start_soon(feed.run, Incarnation("feed-toy", 0, None, None))
    return feed, mailbox, other


def drain(mailbox):
    messages = []
    while True:
        try:
            messages.append(mailbox.receive_nowait())
        except trio.WouldBlock:
            return messages


async def test_quotes_reach_each_symbols_strategy_newest_only(nursery, venue):
    feed, btc, eth = start_feed(nursery, venue)
    await venue.next_connection()
    await wait_until(lambda: len(venue.subscriptions) == 2)
    assert venue.headers_seen[0][b"x-toy"] == b"1"
    for i in range(50):
        await venue.quote(BTC, 100.0 + i, 101.0 + i)
    await venue.quote(ETH, 10.0, 11.0)
    await wait_until(lambda: feed.status.quotes == 51)
    got = drain(btc)
    quotes = [m for m in got if isinstance(m, MarketQuote)]
    assert [(q.leg, q.quote.bid) for q in quotes] == [(Leg.SPOT, 149.0)]
    assert btc.stats().superseded >= 49
    assert FeedHealth in {type(m) for m in got}
    assert [m.quote.ask for m in drain(eth) if isinstance(m, MarketQuote)] == [11.0]
    assert feed.status.state == "fresh"


async def test_funding_reaches_the_symbols_strategies_at_connection_and_when_it_moves(
    nursery, venue
):
    feed, btc, eth = start_feed(nursery, venue)
    await venue.next_connection()
    await wait_until(lambda: len(venue.subscriptions) == 2)
    funding = [m for m in drain(btc) if isinstance(m, FundingRateUpdate)]
    assert [(f.rate, f.interval_s, f.next_ts) for f in funding] == [(0.0001, 3600.0, 7200.0)]
    for rate in (-0.0002, 0.0003):
        await venue.current.send_message(json.dumps({"t": "f", "f": [rate, 10800.0]}))
    await venue.quote(BTC, 100.0, 101.0)
    await wait_until(lambda: feed.status.quotes == 1)
    funding = [m for m in drain(btc) if isinstance(m, FundingRateUpdate)]
    assert [(f.rate, f.next_ts) for f in funding] == [(0.0003, 10800.0)]  # the newest only
    assert not [m for m in drain(eth) if isinstance(m, FundingRateUpdate)]


async def test_a_dropped_connection_is_replaced_and_resubscribed(nursery, venue):
    feed, btc, _ = start_feed(nursery, venue)
    ws = await venue.next_connection()
    await wait_until(lambda: len(venue.subscriptions) == 2)
    await venue.quote(BTC, 100.0, 101.0)
    await wait_until(lambda: feed.status.state == "fresh")
    drain(btc)
    await ws.aclose()
    await venue.next_connection()
    await wait_until(lambda: len(venue.subscriptions) == 4)
    health = [m for m in drain(btc) if isinstance(m, FeedHealth)]
    assert [h.fresh for h in health] == [False]
    assert "connection closed" in health[0].detail
    await venue.quote(BTC, 102.0, 103.0)
    await wait_until(lambda: feed.status.state == "fresh")
    got = drain(btc)
    assert [m.quote.bid for m in got if isinstance(m, MarketQuote)] == [102.0]
    assert [m.fresh for m in got if isinstance(m, FeedHealth)] == [True]


async def test_a_silent_connection_is_detected_as_stalled(nursery, venue):
    feed, btc, _ = start_feed(nursery, venue, stale_after_s=0.2)
    await venue.next_connection()
    await venue.quote(BTC, 100.0, 101.0)
    await wait_until(lambda: feed.status.state == "fresh")
    # The server keeps the connection open and answers pings, but sends no data.
    await venue.next_connection()
    health = [m for m in drain(btc) if isinstance(m, FeedHealth)]
    assert any(not h.fresh and "stalled: no market data for 0.2 s" in h.detail for h in health)
    assert venue.pings >= 1


async def test_a_refused_subscription_reconnects(nursery, venue):
    venue.ack = False
    _, btc, _ = start_feed(nursery, venue)
    await venue.next_connection()
    await venue.next_connection()
    health = [m for m in drain(btc) if isinstance(m, FeedHealth)]
    assert health[-1].detail == "subscription refused: Blocked!"
    assert not health[-1].fresh


async def test_an_upgrade_notice_reconnects(nursery, venue):
    start_feed(nursery, venue)
    ws = await venue.next_connection()
    await ws.send_message('{"t":"upgrade"}')
    await venue.next_connection()
    assert venue.connections == 2


async def test_the_connection_is_rotated_before_the_venues_limit(nursery, venue, caplog):
    start_feed(nursery, venue, rotate_after_s=0.1)
    await venue.next_connection()
    await trio.sleep(0.15)
    await venue.quote(BTC, 100.0, 101.0)
    await venue.next_connection()
    assert "rotating the connection after 0.1 s" in caplog.text


async def test_unreadable_frames_are_counted_not_fatal(nursery, venue):
    feed, _, _ = start_feed(nursery, venue)
    ws = await venue.next_connection()
    await ws.send_message("{{{")
    await venue.quote(BTC, 100.0, 101.0)
    await wait_until(lambda: feed.status.quotes == 1)
    assert feed.status.malformed == 1
    assert venue.connections == 1


async def test_a_depth_gap_unsyncs_the_book_until_a_snapshot_resyncs_it(nursery, venue):
    snapshots = []

    async def fetch_snapshot(symbol):
        version = 10 if not snapshots else 20
        snapshots.append(version)
        return DepthSnapshot(symbol, version, (BookLevel(90.0, 1.0),), (BookLevel(91.0, 1.0),))

    feed, btc, _ = start_feed(
        nursery, venue, depth=True, book_levels=2, fetch_snapshot=fetch_snapshot
    )
    ws = await venue.next_connection()

    async def diff(first, last, bid):
        await ws.send_message(json.dumps({"t": "diff", "v": [first, last, bid]}))

    await diff(11, 11, 95.0)  # buffered; the first snapshot (10) then syncs the book
    await wait_until(lambda: feed.status.quotes >= 1)
    await diff(12, 12, 96.0)
    await wait_until(lambda: feed.status.quotes >= 2)
    quotes = [m.quote for m in drain(btc) if isinstance(m, MarketQuote)]
    assert (quotes[-1].bid, quotes[-1].ask) == (96.0, 91.0)
    # A depth-mode quote carries the top book_levels of each side, best first.
    assert quotes[-1].depth.bids == ((96.0, 1.0), (95.0, 1.0))
    assert quotes[-1].depth.asks == ((91.0, 1.0), (96.0, 1.0))
    await diff(15, 20, 97.0)  # 13 and 14 never came
    await wait_until(lambda: feed.status.gaps == 1)
    await wait_until(lambda: snapshots == [10, 20] and feed.status.state == "fresh")
    await diff(21, 21, 98.0)
    await wait_until(lambda: feed.status.quotes >= 4)
    quotes = [m.quote for m in drain(btc) if isinstance(m, MarketQuote)]
    assert quotes[-1].bid == 98.0
    assert venue.connections == 1  # a gap resyncs the book, not the connection


async def test_a_whole_book_on_the_stream_syncs_the_book_and_an_older_fetched_one_is_ignored(
    nursery, venue
):
    fetched = trio.Event()
    release = trio.Event()

    async def fetch_snapshot(symbol):
        fetched.set()
        await release.wait()  # slower than the stream: the venue's whole book comes first
        return DepthSnapshot(symbol, 5, (BookLevel(90.0, 1.0),), (BookLevel(91.0, 1.0),))

    feed, btc, _ = start_feed(nursery, venue, depth=True, fetch_snapshot=fetch_snapshot)
    ws = await venue.next_connection()
    await ws.send_message(json.dumps({"t": "diff", "v": [11, 11, 95.0]}))  # unsynced: fetch
    await fetched.wait()
    await ws.send_message(json.dumps({"t": "book", "v": [12, 80.0]}))
    await wait_until(lambda: feed.status.quotes >= 1)
    assert [(m.quote.bid, m.quote.ask) for m in drain(btc) if isinstance(m, MarketQuote)] == [
        (80.0, 81.0)
    ]
    release.set()
    await wait_until(lambda: feed.status.state == "fresh" and feed.status.resyncs == 1)
    await ws.send_message(json.dumps({"t": "diff", "v": [13, 13, 85.0]}))
    await wait_until(lambda: feed.status.quotes >= 2)
    assert [(m.quote.bid, m.quote.ask) for m in drain(btc) if isinstance(m, MarketQuote)] == [
        (85.0, 81.0)
    ]
    assert feed.status.gaps == 0


async def test_a_venue_that_refuses_connections_is_retried_with_backoff(nursery, caplog):
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()  # nothing listens there now
    closed = ToyVenue(url=f"ws://127.0.0.1:{port}/ws")
    feed, btc, _ = start_feed(nursery, closed)
    await wait_until(lambda: caplog.text.count("cannot connect") >= 3)
    assert feed.status.state == "reconnecting"
    [health] = [m for m in drain(btc) if isinstance(m, FeedHealth)]
    assert not health.fresh and health.detail.startswith("cannot connect")


async def test_a_restarted_feed_says_it_is_reconnecting_until_data_flows_again(nursery, venue):
    btc = Mailbox("strategy-btc")
    feed = Feed("feed-toy", ToyCodec(), venue.url, {BTC: [btc.address]})
    first_run = trio.CancelScope()

    async def crashing_run():
        with first_run:
            await feed.run(Incarnation("feed-toy", 0, None, None))

    nursery.start_soon(crashing_run)
    await venue.next_connection()
    await venue.quote(BTC, 100.0, 101.0)
    await wait_until(lambda: feed.status.state == "fresh")
    first_fresh = feed.status.fresh_at
    first_run.cancel()  # the crash: the same feed object is run again by its supervisor
    drain(btc)
    nursery.start_soon(feed.run, Incarnation("feed-toy", 1, RuntimeError("boom"), None))
    await venue.next_connection()
    assert feed.status.state == "reconnecting"
    assert [(h.fresh, h.detail) for h in drain(btc) if isinstance(h, FeedHealth)] == [
        (False, "reconnecting")
    ]
    await venue.quote(BTC, 102.0, 103.0)
    await wait_until(lambda: feed.status.state == "fresh")
    assert feed.status.fresh_at is not None and feed.status.fresh_at >= first_fresh
    assert [h.fresh for h in drain(btc) if isinstance(h, FeedHealth)] == [True]


async def test_a_venue_error_while_resyncing_is_tried_again(nursery, venue, monkeypatch):
    monkeypatch.setattr("actors.runtime.market.feed.RESYNC_RETRY_S", 0.01)
    answers = [VenueUnavailable("toy", None, "down", 503), RequestNotSent("refused")]

    async def fetch_snapshot(symbol):
        if answers:
            raise answers.pop(0)
        return DepthSnapshot(symbol, 10, (BookLevel(90.0, 1.0),), (BookLevel(91.0, 1.0),))

    feed, _, _ = start_feed(nursery, venue, depth=True, fetch_snapshot=fetch_snapshot)
    ws = await venue.next_connection()
    await ws.send_message(json.dumps({"t": "diff", "v": [11, 11, 95.0]}))
    await wait_until(lambda: feed.status.quotes == 1)
    assert answers == []
    assert venue.connections == 1


async def test_a_429_while_resyncing_holds_the_snapshot_pace_for_the_venues_retry_after(
    nursery, venue, monkeypatch
):
    monkeypatch.setattr("actors.runtime.market.feed.RESYNC_RETRY_S", 0.01)
    fetches = []

    async def fetch_snapshot(symbol):
        fetches.append(symbol)
        raise VenueError("toy", 429, "Too many requests", 429, retry_after_s=30.0)

    pace = TokenBucket(1_000.0, 1_000.0)  # plenty: only the venue's word holds it
    feed, _, _ = start_feed(
        nursery, venue, depth=True, fetch_snapshot=fetch_snapshot, snapshot_pace=pace
    )
    ws = await venue.next_connection()
    await ws.send_message(json.dumps({"t": "diff", "v": [11, 11, 95.0]}))
    # The retry 10 ms later waits for the 30 s the venue asked instead of asking again.
    await wait_until(lambda: pace.waits == 1)
    assert fetches == [BTC]
    assert pace.waited_s > 29.0
    assert feed.status.state == "resyncing"


async def test_a_bug_while_resyncing_fails_the_feed_rather_than_being_retried(nursery, venue):
    calls = []

    async def fetch_snapshot(symbol):
        calls.append(symbol)
        raise TypeError("a codec bug")

    feed = Feed(
        "feed-toy",
        ToyCodec(),
        venue.url,
        {BTC: [Mailbox("strategy-btc").address]},
        depth=True,
        fetch_snapshot=fetch_snapshot,
    )

    async def diff_after_connecting():
        ws = await venue.next_connection()
        await ws.send_message(json.dumps({"t": "diff", "v": [11, 11, 95.0]}))

    nursery.start_soon(diff_after_connecting)
    with trio.fail_after(5), pytest.RaisesGroup(TypeError, flatten_subgroups=True):
        await feed.run(Incarnation("feed-toy", 0, None, None))
    assert calls == [BTC]  # once: its supervisor restarts the feed


def reconnect_delays(caplog) -> list[float]:
    return [
        float(r.getMessage().split("reconnecting in ")[1].split(" s")[0])
        for r in caplog.records
        if "reconnecting in" in r.getMessage()
    ]


def start_doubling_feed(nursery, venue, **options):
    """A feed whose reconnect delays double from 0.02 s without jitter, so the log shows
    where the count stands; a connection that served starts the count again however soon
    it ends (how long it must serve is the loop's to test, on trio's MockClock)."""
    feed = Feed(
        "feed-toy",
        ToyCodec(),
        venue.url,
        {BTC: [Mailbox("strategy-btc").address]},
        backoff=Backoff(min_s=0.02, max_s=5.0, jitter=0.0),
        served_for_s=0.0,
        **options,
    )
    nursery.start_soon(feed.run, Incarnation("feed-toy", 0, None, None))
    return feed


async def test_a_venue_that_drops_the_feed_after_data_flowed_is_asked_again_at_once(
    nursery, venue, caplog
):
    feed = start_doubling_feed(nursery, venue)
    for _ in range(4):
        ws = await venue.next_connection()
        await venue.quote(BTC, 100.0, 101.0)
        await wait_until(lambda: feed.status.state == "fresh")
        await ws.aclose()
        await wait_until(lambda: feed.status.state == "reconnecting")
    assert reconnect_delays(caplog) == [0.02] * 4


async def test_acknowledgements_and_pongs_without_data_do_not_reset_the_backoff(
    nursery, venue, caplog
):
    # The venue acknowledges every subscription and answers every ping, and sends no data.
    start_doubling_feed(nursery, venue, stale_after_s=0.1)
    for _ in range(4):
        await venue.next_connection()
    assert venue.pings >= 1
    assert reconnect_delays(caplog)[:3] == [0.02, 0.04, 0.08]
