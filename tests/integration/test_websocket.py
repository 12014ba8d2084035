"""The client websocket connection against servers on 127.0.0.1: trio-websocket's (the
simulated venues' kind) and a scripted one that speaks wsproto frame by frame, so a test
can send fragments, pings and closes exactly when it wants and see what the client
answers. Every socket the client opens is closed by the end of each test, however the
connection ended."""

from __future__ import annotations

from collections import deque
from functools import partial

import pytest
import trio
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from actors.runtime.market.reconnect import why_reconnect
from actors.runtime.market.websocket import (
    HandshakeFailed,
    HandshakeRejected,
    HandshakeTimedOut,
    WebSocketClosed,
    open_websocket,
)


@pytest.fixture(autouse=True)
def sockets(monkeypatch):
    """The client's streams, each checked closed when the test ends."""
    opened: list[trio.SocketStream] = []
    open_tcp_stream = trio.open_tcp_stream

    async def recording(*args, **kwargs):
        stream = await open_tcp_stream(*args, **kwargs)
        opened.append(stream)
        return stream

    monkeypatch.setattr(trio, "open_tcp_stream", recording)
    yield opened
    assert opened
    assert all(stream.socket.fileno() == -1 for stream in opened)


class Peer:
    """The server's end of one connection, in wsproto events."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.events: deque[Event] = deque()

    async def accept(self) -> None:
        assert isinstance(await self.next_event(), Request)
        await self.send(AcceptConnection())

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def next_event(self) -> Event:
        while not self.events:
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data or None)
            self.events.extend(self.ws.events())
        return self.events.popleft()


async def raw_server(nursery: trio.Nursery, handler) -> int:
    """Serve each TCP connection with ``handler(stream)``; the port."""
    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    return listeners[0].socket.getsockname()[1]


async def scripted(nursery: trio.Nursery, script) -> str:
    """Serve each connection with ``script(peer)``; the URL to connect to."""

    async def handler(stream: trio.SocketStream) -> None:
        await script(Peer(stream))

    return f"ws://127.0.0.1:{await raw_server(nursery, handler)}/stream?x=1"


async def served_by_trio_websocket(nursery: trio.Nursery, handler) -> str:
    server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
    return f"ws://127.0.0.1:{server.port}/stream"


async def echo(request) -> None:
    ws = await request.accept()
    try:
        while True:
            await ws.send_message(await ws.get_message())
    except trio_websocket.ConnectionClosed:
        pass


async def test_text_and_binary_messages_arrive_whole_and_typed(nursery):
    url = await served_by_trio_websocket(nursery, echo)
    async with open_websocket(url, headers=[(b"x-key", b"1")]) as ws:
        await ws.send_message("hello")
        assert await ws.get_message() == "hello"
        await ws.send_message(b"\x00\x01\xff")
        assert await ws.get_message() == b"\x00\x01\xff"
        big = "q" * 200_000  # more than one read
        await ws.send_message(big)
        assert await ws.get_message() == big


async def test_the_handshake_sends_the_resource_and_headers(nursery):
    seen = []

    async def handler(request) -> None:
        seen.append((request.path, dict(request.headers)))
        await request.accept()

    url = await served_by_trio_websocket(nursery, handler)
    async with open_websocket(url + "?a=b", headers=[(b"x-key", b"1")]):
        pass
    assert seen[0][0] == "/stream?a=b"
    assert seen[0][1][b"x-key"] == b"1"


async def test_a_message_in_fragments_arrives_whole_with_a_ping_between_them(nursery):
    pongs = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        await peer.send(TextMessage("ab", message_finished=False))
        await peer.send(Ping(b"mid"))
        await peer.send(TextMessage("cé", message_finished=True))
        await peer.send(BytesMessage(b"\x01", message_finished=False))
        await peer.send(BytesMessage(b"\x02", message_finished=False))
        await peer.send(BytesMessage(b"\x03", message_finished=True))
        pongs.append(await peer.next_event())
        await peer.next_event()

    url = await scripted(nursery, script)
    async with open_websocket(url) as ws:
        assert await ws.get_message() == "abcé"
        assert await ws.get_message() == b"\x01\x02\x03"
    assert pongs == [Pong(b"mid")]


async def test_a_ping_is_answered_by_the_task_reading(nursery):
    async def script(peer: Peer) -> None:
        await peer.accept()
        await peer.send(Ping(b"are you there"))
        answer = await peer.next_event()
        await peer.send(TextMessage(f"got {answer!r}"))
        await peer.next_event()

    url = await scripted(nursery, script)
    async with open_websocket(url) as ws:
        assert await ws.get_message() == f"got {Pong(b'are you there')!r}"


async def test_the_servers_close_is_answered_and_raised_with_its_code_and_reason(nursery):
    answers = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        await peer.send(TextMessage("last"))
        await peer.send(CloseConnection(4001, "maintenance"))
        answers.append(await peer.next_event())

    url = await scripted(nursery, script)
    async with open_websocket(url) as ws:
        assert await ws.get_message() == "last"
        with pytest.raises(WebSocketClosed) as closed:
            await ws.get_message()
        with pytest.raises(WebSocketClosed):
            await ws.send_message("too late")
    assert (closed.value.code, closed.value.reason) == (4001, "maintenance")
    assert why_reconnect(closed.value) == "connection closed (4001 PRIVATE_RESERVED: maintenance)"
    assert answers == [CloseConnection(4001, "maintenance")]


async def test_trio_websockets_close_comes_through_the_same(nursery):
    async def handler(request) -> None:
        ws = await request.accept()
        await ws.aclose(code=1001, reason="going away")

    url = await served_by_trio_websocket(nursery, handler)
    async with open_websocket(url) as ws:
        with pytest.raises(WebSocketClosed) as closed:
            await ws.get_message()
    assert why_reconnect(closed.value) == "connection closed (1001 GOING_AWAY: going away)"


async def test_a_dropped_connection_closes_with_1006(nursery):
    async def script(peer: Peer) -> None:
        await peer.accept()  # and the server closes its socket without a close frame

    url = await scripted(nursery, script)
    async with open_websocket(url) as ws:
        with pytest.raises(WebSocketClosed) as closed:
            await ws.get_message()
    assert why_reconnect(closed.value) == "connection closed (1006 ABNORMAL_CLOSURE)"


async def test_a_refused_handshake_raises_the_http_status(nursery):
    async def handler(request) -> None:
        await request.reject(403, body=b"banned")

    url = await served_by_trio_websocket(nursery, handler)
    with pytest.raises(HandshakeRejected) as rejected:
        async with open_websocket(url):
            pass
    assert rejected.value.status_code == 403
    assert why_reconnect(rejected.value) == "connection rejected with HTTP 403"


async def test_a_server_that_says_nothing_times_the_handshake_out(nursery):
    async def handler(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    url = f"ws://127.0.0.1:{await raw_server(nursery, handler)}/"
    with pytest.raises(HandshakeTimedOut) as timed_out:
        async with open_websocket(url, connect_timeout_s=0.2):
            pass
    assert why_reconnect(timed_out.value) == "connection timed out"


async def test_a_server_that_ends_the_handshake_fails_it(nursery):
    async def handler(stream: trio.SocketStream) -> None:
        await stream.receive_some()

    url = f"ws://127.0.0.1:{await raw_server(nursery, handler)}/"
    with pytest.raises(HandshakeFailed) as failed:
        async with open_websocket(url):
            pass
    assert why_reconnect(failed.value).startswith("handshake failed:")


@pytest.mark.parametrize("pieces", [1, 3])
async def test_a_message_over_the_limit_closes_the_connection_with_1009(nursery, pieces):
    answers = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        for n in range(pieces):
            await peer.send(TextMessage("x" * (150 // pieces), message_finished=n == pieces - 1))
        answers.append(await peer.next_event())

    url = await scripted(nursery, script)
    async with open_websocket(url, max_message_size=100) as ws:
        with pytest.raises(WebSocketClosed) as closed:
            await ws.get_message()
    assert closed.value.code == 1009
    assert [(type(a), a.code) for a in answers] == [(CloseConnection, 1009)]


async def test_leaving_the_block_closes_politely(nursery):
    closes = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        close = await peer.next_event()
        closes.append(close)
        await peer.send(close.response())

    url = await scripted(nursery, script)
    async with open_websocket(url):
        pass
    assert [(type(c), c.code) for c in closes] == [(CloseConnection, 1000)]


async def test_leaving_the_block_by_an_error_closes_politely_too(nursery):
    closes = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        closes.append(await peer.next_event())

    url = await scripted(nursery, script)
    with pytest.raises(LookupError):
        async with open_websocket(url):
            raise LookupError
    assert [(type(c), c.code) for c in closes] == [(CloseConnection, 1000)]


async def test_a_cancelled_block_closes_the_socket_without_a_closing_handshake(nursery):
    seen = []
    done = trio.Event()

    async def script(peer: Peer) -> None:
        await peer.accept()
        seen.append(await peer.next_event())
        done.set()

    url = await scripted(nursery, script)
    with trio.move_on_after(0.05):
        async with open_websocket(url) as ws:
            await ws.get_message()
    await done.wait()
    assert [(type(e), e.code) for e in seen] == [(CloseConnection, 1006)]  # the stream ended


async def test_sending_while_another_task_reads_and_answers_pings(nursery):
    rounds = 200
    received = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        for n in range(rounds):
            await peer.send(Ping(str(n).encode()))
        pongs = 0
        while pongs < rounds or len(received) < rounds:
            event = await peer.next_event()
            if isinstance(event, Pong):
                pongs += 1
            else:
                assert isinstance(event, TextMessage), event
                received.append(event.data)
        await peer.send(TextMessage("done"))
        await peer.next_event()

    url = await scripted(nursery, script)
    async with open_websocket(url) as ws, trio.open_nursery() as inner:

        async def send_all():
            for n in range(rounds):
                await ws.send_message(f"m{n}" * 100)

        inner.start_soon(send_all)
        assert await ws.get_message() == "done"
    assert received == [f"m{n}" * 100 for n in range(rounds)]


async def test_wss_speaks_tls_and_a_server_that_does_not_fails_the_handshake(nursery):
    async def handler(stream: trio.SocketStream) -> None:
        await stream.receive_some()  # a TLS hello, answered in plain HTTP
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    url = f"wss://127.0.0.1:{await raw_server(nursery, handler)}/"
    with pytest.raises(HandshakeFailed) as failed:
        async with open_websocket(url):
            pass
    assert "the connection broke during the handshake" in str(failed.value)


async def test_each_message_of_a_burst_read_at_once_lets_the_other_tasks_run(nursery):
    async def script(peer: Peer) -> None:
        await peer.accept()
        # Ten messages in one write: the client reads them all at once.
        await peer.stream.send_all(b"".join(peer.ws.send(TextMessage(f"m{n}")) for n in range(10)))
        await peer.next_event()

    url = await scripted(nursery, script)
    turns = []
    async with open_websocket(url) as ws:
        first = await ws.get_message()
        await trio.testing.wait_all_tasks_blocked()  # the whole burst has arrived

        async def other() -> None:
            while True:
                turns.append(len(read))
                await trio.lowlevel.checkpoint()

        read = [first]
        async with trio.open_nursery() as others:
            others.start_soon(other)
            await trio.lowlevel.checkpoint()
            for _ in range(9):
                read.append(await ws.get_message())
            others.cancel_scope.cancel()
    assert read == [f"m{n}" for n in range(10)]
    # The other task had a turn for each message taken from the burst (taken without
    # one, the nine would have left it one or two).
    assert len(turns) >= 9
