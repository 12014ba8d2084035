"""A private stream against a websocket venue on 127.0.0.1 speaking a toy JSON dialect:
reports are handed over in the order they came, and one whose handling waits on the
venue longer than the stall limit does not make the stream look silent."""

from __future__ import annotations

import json
import random

import trio
from trio_websocket import ConnectionClosed, serve_websocket

from actors.runtime.market.private_stream import PrivateStream
from actors.venues.rest import RestClient
from protocols.model import OrderStatus, Symbol
from protocols.venue import OrderUpdate, SubscriptionResult
from supervision import Backoff
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
STALE_AFTER_S = 0.3
BEAT_S = 0.05


class ToyPrivateCodec:
    ping_interval_s = 10.0
    renew_interval_s = None
    max_lifetime_s = None
    handshake_headers = ()

    async def open_url(self, rest, ws_url, now):
        return ws_url

    async def renew(self, rest, now):
        raise AssertionError("the toy stream needs no renewal")

    def subscriptions(self, now):
        return ['{"subscribe":"orders"}']

    def ping(self, now):
        return '{"ping":1}'

    def decode(self, frame, recv_ts):
        message = json.loads(frame)
        if "ack" in message:
            return (SubscriptionResult(True, "orders", ""),)
        if "order" in message:
            return (OrderUpdate(BTC, message["order"], "v-" + message["order"], OrderStatus.NEW),)
        return ()  # a heartbeat


async def venue(request) -> None:
    """Acknowledge the subscription, push two orders' reports, then a heartbeat every
    ``BEAT_S``: the venue is never silent."""
    ws = await request.accept()
    try:
        await ws.get_message()
        await ws.send_message('{"ack":true}')
        await ws.send_message('{"order":"slow"}')
        await ws.send_message('{"order":"next"}')
        while True:
            await trio.sleep(BEAT_S)
            await ws.send_message('{"beat":1}')
    except ConnectionClosed:
        pass  # the stream went away (as it does when it thinks the venue silent)


async def test_a_report_handled_longer_than_the_stall_limit_does_not_reconnect(nursery):
    server = await nursery.start(serve_websocket, venue, "127.0.0.1", 0, None)
    handled: list[str] = []
    both = trio.Event()

    async def on_order(update: OrderUpdate) -> None:
        if update.client_id == "slow":
            await trio.sleep(3 * STALE_AFTER_S)  # a lookup at a slow venue
        handled.append(update.client_id)
        if len(handled) == 2:
            both.set()

    async def on_trade(trade) -> None:
        raise AssertionError("the toy venue pushes no trades")

    async with RestClient("http://127.0.0.1:1") as rest:
        stream = PrivateStream(
            "toy-private",
            ToyPrivateCodec(),
            rest,
            f"ws://127.0.0.1:{server.port}/",
            on_order,
            on_trade,
            stale_after_s=STALE_AFTER_S,
            backoff=Backoff(min_s=0.01, max_s=0.05),
            rng=random.Random(1),
        )
        async with trio.open_nursery() as streams:
            streams.start_soon(stream.run)
            with trio.fail_after(5):
                await both.wait()
            streams.cancel_scope.cancel()
    assert handled == ["slow", "next"]
    assert (stream.connects, stream.last_reason) == (1, "")


def reconnect_delays(caplog) -> list[str]:
    return [
        r.getMessage().split("reconnecting in ")[1]
        for r in caplog.records
        if "reconnecting in" in r.getMessage()
    ]


async def test_the_backoff_starts_again_only_after_the_subscription_was_acknowledged(
    nursery, caplog
):
    acknowledge = [True] * 3 + [False] * 3

    async def dropping_venue(request) -> None:
        """Accept, acknowledge the subscription (or not), and drop the connection."""
        ws = await request.accept()
        await ws.get_message()
        if acknowledge.pop(0):
            await ws.send_message('{"ack":true}')
        await trio.sleep(0.02)
        await ws.aclose()

    server = await nursery.start(serve_websocket, dropping_venue, "127.0.0.1", 0, None)

    async def unexpected(report) -> None:
        raise AssertionError("the toy venue pushes no reports")

    async with RestClient("http://127.0.0.1:1") as rest:
        stream = PrivateStream(
            "toy-private",
            ToyPrivateCodec(),
            rest,
            f"ws://127.0.0.1:{server.port}/",
            unexpected,
            unexpected,
            backoff=Backoff(min_s=0.02, max_s=5.0, jitter=0.0),
            served_for_s=0.0,
        )
        async with trio.open_nursery() as streams:
            streams.start_soon(stream.run)
            await wait_until(lambda: len(reconnect_delays(caplog)) >= 6, 5)
            streams.cancel_scope.cancel()
    delays = reconnect_delays(caplog)
    # Acknowledged streams come back at the shortest delay; unacknowledged ones back off.
    assert delays[:6] == ["0.02 s", "0.02 s", "0.02 s", "0.04 s", "0.08 s", "0.16 s"]
