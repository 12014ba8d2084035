"""RestClient speaking to its transport directly, without httpx's request and response
objects: the same bytes on the wire as through httpx, and the same failures sorted into
"not sent" and "outcome unknown", on loopback sockets."""

from __future__ import annotations

import functools
import socket
import struct

import httpx
import pytest
import trio

from actors.venues.http_transport import H11Transport
from actors.venues.rest import OutcomeUnknown, RequestNotSent, RestClient
from protocols.venue import RestRequest

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\n{}"
SIGNED = RestRequest(
    "POST",
    "/api/v3/order",
    "symbol=BTCUSDT&x=%2F&signature=ab",
    b'{"a":1}',
    (("Accept", "application/json"), ("X-K", "v"), ("Content-Type", "application/json")),
)


async def serve_raw(nursery, conversation) -> int:
    """A TCP server on 127.0.0.1 running ``conversation(stream)`` per connection."""
    listeners = await nursery.start(
        functools.partial(trio.serve_tcp, conversation, 0, host="127.0.0.1")
    )
    return listeners[0].socket.getsockname()[1]


async def read_head(stream: trio.SocketStream, body_bytes: int = 0) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < body_bytes:
        data = await stream.receive_some(65536)
        if not data:
            break
        received += data
    return received


def direct(client: RestClient, monkeypatch) -> RestClient:
    """``client``, failing the test if a request of it goes through httpx."""

    async def through_httpx(*args, **kwargs):
        raise AssertionError("went through httpx")

    monkeypatch.setattr(client._client, "request", through_httpx)
    return client


def answering(received: list[bytes]):
    """A conversation answering every request with ``ANSWER``, keeping each as it came."""

    async def record(stream: trio.SocketStream) -> None:
        async with stream:
            while request := await read_head(stream, len(SIGNED.body)):
                received.append(request)
                await stream.send_all(ANSWER)

    return record


def reset(stream: trio.SocketStream) -> None:
    """Close with a reset (RST) rather than an orderly end."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def test_the_same_request_goes_out_byte_for_byte_as_through_httpx(nursery, monkeypatch):
    received: list[bytes] = []
    url = f"http://127.0.0.1:{await serve_raw(nursery, answering(received))}"
    async with (
        RestClient(url) as client,
        RestClient(url, transport=H11Transport()) as through_httpx,
    ):
        answers = [await direct(client, monkeypatch).send(SIGNED), await through_httpx.send(SIGNED)]
        monkeypatch.undo()
        # A path httpx would re-encode is left to httpx, so it goes out as it always did.
        await client.send(RestRequest("POST", "/api/v3/a b", "q=1", SIGNED.body))
    assert received[0] == received[1]
    assert b"\r\nAccept: application/json\r\n" in received[0]
    assert b"*/*" not in received[0]
    assert received[2].startswith(b"POST /api/v3/a%20b?q=1 HTTP/1.1\r\n")
    assert answers[0] == answers[1]
    assert answers[0].header("x-a") == "1, 2"


async def test_a_refused_connection_is_not_sent(monkeypatch):
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        direct(client, monkeypatch)
        with pytest.raises(RequestNotSent, match="ConnectError"):
            await client.send(SIGNED)
    assert client.failures == 1


async def test_a_reset_after_the_request_was_read_is_an_unknown_outcome(nursery, monkeypatch):
    async def read_then_reset(stream):
        await read_head(stream, len(SIGNED.body))
        reset(stream)
        await stream.aclose()

    port = await serve_raw(nursery, read_then_reset)
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        direct(client, monkeypatch)
        with pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
            await client.send(SIGNED)


async def test_no_answer_in_time_is_an_unknown_outcome_and_the_connection_is_not_reused(
    nursery, monkeypatch
):
    connections = []

    async def silent_then_answering(stream):
        connections.append(stream)
        await read_head(stream, len(SIGNED.body))
        if len(connections) == 1:
            await trio.sleep_forever()
        await stream.send_all(ANSWER)
        await trio.sleep_forever()

    port = await serve_raw(nursery, silent_then_answering)
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        direct(client, monkeypatch)
        # As a test may set it, on the client: the direct path reads it at each request.
        client._client.timeout = httpx.Timeout(0.2)
        with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
            await client.send(SIGNED)
        assert (await client.send(SIGNED)).status == 200
    assert len(connections) == 2


async def test_a_kept_connection_the_venue_closed_makes_the_next_request_unknown(
    nursery, monkeypatch
):
    """The request is written into a connection the venue has let go: it may or may not
    have read it, so the outcome is unknown (never silently resent)."""

    async def answer_once_then_close(stream):
        await read_head(stream, len(SIGNED.body))
        await stream.send_all(ANSWER)
        await stream.aclose()

    port = await serve_raw(nursery, answer_once_then_close)
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        direct(client, monkeypatch)
        assert (await client.send(SIGNED)).status == 200
        await trio.sleep(0.05)
        with pytest.raises(OutcomeUnknown):
            await client.send(SIGNED)


async def test_no_connection_free_in_time_is_not_sent(nursery, monkeypatch):
    """With every connection busy, a request waits for one up to the pool timeout, and
    is then not sent at all."""
    arrived = []

    async def slow(stream):
        arrived.append(await read_head(stream, len(SIGNED.body)))
        await trio.sleep(1.0)
        await stream.send_all(ANSWER)
        await trio.sleep_forever()

    port = await serve_raw(nursery, slow)
    async with RestClient(f"http://127.0.0.1:{port}", max_connections=1) as client:
        direct(client, monkeypatch)
        client._client.timeout = httpx.Timeout(5.0, pool=0.1)
        async with trio.open_nursery() as requests:
            requests.start_soon(client.send, SIGNED)
            await trio.sleep(0.05)
            with pytest.raises(RequestNotSent, match="PoolTimeout"):
                await client.send(SIGNED)
    assert len(arrived) == 1


async def test_a_write_on_a_kept_open_connection_goes_out_before_its_answer_is_awaited(
    nursery, monkeypatch
):
    received: list[bytes] = []
    url = f"http://127.0.0.1:{await serve_raw(nursery, answering(received))}"
    async with RestClient(url, max_connections=1) as client:
        direct(client, monkeypatch)
        # No connection kept open yet: nothing is written until the answer is awaited.
        deferred = await client.write(SIGNED)
        await trio.testing.wait_all_tasks_blocked()
        assert received == []
        assert (await deferred()).status == 200
        # Now one is: written at once, answered to whichever task awaits it.
        answer = await client.write(SIGNED)
        await trio.testing.wait_all_tasks_blocked()
        assert len(received) == 2 and received[1] == received[0]
        replies: list = []

        async def await_it():
            replies.append(await answer())

        async with trio.open_nursery() as other:
            other.start_soon(await_it)
        assert replies[0].status == 200 and replies[0].body == b"{}"
        # Its connection's one slot is free again, and the connection kept.
        with trio.fail_after(1):
            assert (await client.send(SIGNED)).status == 200
        assert client.sent == 3 and client._transport.connects == 1
