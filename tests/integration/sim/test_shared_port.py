"""What the simulated venues' ports do at the protocol level, driven byte by byte over raw
sockets on 127.0.0.1: one keep-alive connection may serve REST requests and then become
a websocket, as a client that reuses its pooled connection for the upgrade does, and
Gate.io's websocket server pings its clients itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import h11
import pytest
import trio
import wsproto
from wsproto.events import AcceptConnection, Ping, Request, TextMessage

from protocols import gateio_rest, mexc_rest
from protocols.venue import Pong

from .support import COIN, WAIT_S, start, still
from .venue_clients import VenueClients


@pytest.fixture(params=["mexc", "gateio"])
def venue(request, still_sim):
    return VenueClients(request.param, still_sim, rest=None)


def rules_request(name: str):
    if name == "mexc":
        return mexc_rest.exchange_info_request(COIN)
    return gateio_rest.contract_request(COIN)


async def rest_exchange(stream: trio.SocketStream, client: h11.Connection, host: str, request):
    """Send ``request`` on ``stream`` and read its whole answer; its status."""
    headers = [("Host", host), *request.headers]
    await stream.send_all(
        client.send(h11.Request(method=request.method, target=request.target, headers=headers))
    )
    await stream.send_all(client.send(h11.EndOfMessage()))
    status = None
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.EndOfMessage):
            client.start_next_cycle()
            return status


async def test_a_websocket_upgrade_after_rest_on_the_same_connection_is_served(venue):
    url = urlsplit(venue.ws_url)
    host = url.netloc
    with trio.fail_after(WAIT_S):
        stream = await trio.open_tcp_stream("127.0.0.1", url.port)
        async with stream:
            client = h11.Connection(h11.CLIENT)
            for _ in range(2):
                assert await rest_exchange(stream, client, host, rules_request(venue.name)) == 200
            # The same connection, still open, now asks for the venue's websocket.
            ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
            await stream.send_all(ws.send(Request(host=host, target=url.path)))
            accepted = False
            pong = None
            while pong is None:
                ws.receive_data(await stream.receive_some(65536))
                for event in ws.events():
                    if isinstance(event, AcceptConnection):
                        accepted = True
                        await stream.send_all(ws.send(TextMessage(venue.ping_message())))
                    elif isinstance(event, TextMessage):
                        pong = next(
                            (e for e in venue.decode(event.data, 0.0) if isinstance(e, Pong)), None
                        )
    assert accepted and pong == Pong()


async def open_raw_websocket(ws_url: str) -> tuple[trio.SocketStream, wsproto.WSConnection]:
    """A websocket to ``ws_url`` whose protocol-level frames the test sees and answers
    itself (or not): opened, handshake done."""
    url = urlsplit(ws_url)
    stream = await trio.open_tcp_stream("127.0.0.1", url.port)
    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host=url.netloc, target=url.path)))
    while True:
        ws.receive_data(await stream.receive_some(65536))
        if any(isinstance(event, AcceptConnection) for event in ws.events()):
            return stream, ws


async def test_gateio_pings_at_the_protocol_level_and_drops_a_client_that_does_not_answer(
    nursery,
):
    sim = await start(nursery, still(gateio_ping_interval_s=0.2, gateio_pong_timeout_s=1.0))
    answering, answering_ws = await open_raw_websocket(sim.urls.gateio_ws)
    silent, silent_ws = await open_raw_websocket(sim.urls.gateio_ws)
    pinged_silent = 0

    async def stay_silent() -> None:
        nonlocal pinged_silent
        while data := await silent.receive_some(65536):
            silent_ws.receive_data(data)
            pinged_silent += sum(isinstance(event, Ping) for event in silent_ws.events())

    async def answer(pings: int) -> None:
        while pings > 0:
            answering_ws.receive_data(await answering.receive_some(65536))
            for event in answering_ws.events():
                assert isinstance(event, Ping)
                await answering.send_all(answering_ws.send(event.response()))
                pings -= 1

    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as clients:
            clients.start_soon(stay_silent)  # ends when the venue cuts it off
            # Eight pings take 1.6 s, past the pong timeout: answered, it lives on (a pong
            # may lag a second behind its ping on a loaded machine).
            clients.start_soon(answer, 8)
    assert pinged_silent >= 1
    await silent.aclose()
    await answering.aclose()
