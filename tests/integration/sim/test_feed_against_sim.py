"""The feed actor against the simulated venues: the venues' faults, as the feed meets
them. A skipped depth update resyncs the book on the same connection; a stall, a drop
and an upgrade notice each replace the connection, after which quotes flow again. A
market held still keeps the feed fresh with the same quotes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from actors.runtime.market.feed import Feed
from actors.sim import SimServers
from actors.venues.gateio import GateioFeedCodec
from actors.venues.mexc import MexcFeedCodec
from actors.venues.rest import RestClient
from protocols.messages import MarketQuote
from supervision import Backoff, Incarnation, Mailbox

from .support import BTC, WAIT_S

STALE_AFTER_S = 0.3


async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll ``predicate``: the state it reads lives in the feed, which signals nothing."""
    with trio.fail_after(WAIT_S):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.01)


def latest_quote(mailbox: Mailbox) -> MarketQuote | None:
    latest = None
    while True:
        try:
            message = mailbox.receive_nowait()
        except trio.WouldBlock:
            return latest
        if isinstance(message, MarketQuote):
            latest = message


@asynccontextmanager
async def running_feed(sim: SimServers, venue: str) -> AsyncIterator[tuple[Feed, Mailbox]]:
    """A depth feed of BTC on ``venue``, fresh, with its strategy's mailbox."""
    rest_url = sim.urls.mexc_rest if venue == "mexc" else sim.urls.gateio_rest
    ws_url = sim.urls.mexc_ws if venue == "mexc" else sim.urls.gateio_ws
    async with RestClient(rest_url) as rest:
        codec = MexcFeedCodec(rest) if venue == "mexc" else GateioFeedCodec(rest)
        mailbox = Mailbox("strategy-btc")
        feed = Feed(
            f"feed-{venue}",
            codec,
            ws_url,
            {BTC: [mailbox.address]},
            stale_after_s=STALE_AFTER_S,
            backoff=Backoff(min_s=0.01, max_s=0.05),
            depth=True,
            fetch_snapshot=codec.fetch_snapshot,
            rng=random.Random(1),
        )
        async with trio.open_nursery() as running:
            running.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
            await wait_for(lambda: feed.status.state == "fresh" and feed.status.quotes >= 3)
            yield feed, mailbox
            running.cancel_scope.cancel()


@pytest.fixture(params=["mexc", "gateio"])
async def feed(request, moving_sim: SimServers):
    async with running_feed(moving_sim, request.param) as (feed, mailbox):
        yield feed, moving_sim.exchange(request.param), mailbox


async def quotes_flow_again(feed: Feed) -> None:
    quotes = feed.status.quotes
    await wait_for(lambda: feed.status.state == "fresh" and feed.status.quotes > quotes + 2)


async def test_a_skipped_depth_update_resyncs_the_book_on_the_same_connection(feed):
    feed, server, mailbox = feed
    resyncs = feed.status.resyncs
    server.skip_depth_update(BTC)
    await wait_for(lambda: feed.status.gaps == 1 and feed.status.resyncs > resyncs)
    await quotes_flow_again(feed)
    assert feed.status.connects == 1
    quote = latest_quote(mailbox).quote
    assert 0.0 < quote.bid < quote.ask


async def test_a_stalled_venue_is_left_and_rejoined_when_it_speaks_again(feed):
    feed, server, _ = feed
    server.stall_websockets(3600)
    await wait_for(lambda: "stalled" in feed.status.detail)
    server.stall_websockets(0)
    await quotes_flow_again(feed)
    assert feed.status.connects >= 2


async def test_a_dropped_connection_is_replaced(feed):
    feed, server, _ = feed
    assert server.drop_websockets() == 1
    await wait_for(lambda: feed.status.connects == 2)
    await quotes_flow_again(feed)


async def test_refused_connections_are_retried_until_the_venue_takes_them(feed):
    feed, server, _ = feed
    server.refuse_connections(3600)
    server.drop_websockets()
    await wait_for(lambda: feed.status.detail.startswith("cannot connect"))
    server.refuse_connections(0)
    await quotes_flow_again(feed)


async def test_a_gateio_upgrade_notice_makes_the_feed_reconnect(moving_sim):
    async with running_feed(moving_sim, "gateio") as (feed, _):
        assert moving_sim.gateio.send_upgrade_notice() == 1
        await wait_for(lambda: feed.status.connects == 2)
        await quotes_flow_again(feed)


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_a_market_held_still_keeps_pushing_the_same_book_and_the_feed_stays_fresh(
    moving_sim, venue
):
    async with running_feed(moving_sim, venue) as (feed, mailbox):
        held_until = moving_sim.hold(1.5)
        assert held_until == pytest.approx(moving_sim.clock.now() + 1.5, abs=0.01)
        # What the last tick before the hold pushed may still be on its way.
        await trio.sleep(0.2)
        first = latest_quote(mailbox)
        quotes, held = feed.status.quotes, []
        # A second, three times the feed's stale_after_s: without pushes it goes stale.
        for _ in range(10):
            await trio.sleep(0.1)
            assert feed.status.state == "fresh"
            latest = latest_quote(mailbox)
            if latest is not None:
                held.append(latest.quote)
        assert feed.status.quotes >= quotes + 10  # a tick every 20 ms, each pushed
        assert {(q.bid, q.bid_qty, q.ask, q.ask_qty) for q in held} == {
            (first.quote.bid, first.quote.bid_qty, first.quote.ask, first.quote.ask_qty)
        }
        assert len({q.recv_ts for q in held}) == len(held)  # each one new
        # The hold over, the market moves on from where it stood.
        await trio.sleep_until(trio.current_time() + held_until - moving_sim.clock.now())
        await wait_for(
            lambda: (q := latest_quote(mailbox)) is not None and q.quote.bid != first.quote.bid
        )
