"""Client websocket connections read in their reader's own task.

wsproto keeps the protocol's state; this module moves its bytes. :meth:`WebSocket.get_message`
reads the stream and feeds wsproto in the task that awaits it, with no reader task and
no channel between, so a venue's frame reaches the feed's decoder without a task switch.
What a background reader would do besides, it does on the way: it answers the venue's
pings (a feed reads all the time, so they are answered as promptly) and its close.

The stream is opened here and always closed here, whoever ended the connection: a feed
that reconnects for weeks must not leak a socket per drop.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import RemoteProtocolError

CLOSE_TIMEOUT_S = 1.0
"""How long a polite close waits for the venue to answer our close frame."""

RECEIVE_BYTES = 65536
"""The most read from the stream at once: a burst of frames is parsed from one read."""

ABNORMAL_CLOSURE = CloseReason.ABNORMAL_CLOSURE
"""The code of a connection that ended without a close frame (the stream ended or broke)."""

Stream = trio.SocketStream | trio.SSLStream[trio.SocketStream]


class WebSocketClosed(Exception):
    """The connection is closed: by the venue (its code and reason), by us (a message
    over the size limit: 1009; a protocol error in the venue's frames: its code), or by
    the network (1006, ``ABNORMAL_CLOSURE``: no close frame came)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = int(code)
        self.reason = reason

    @property
    def name(self) -> str:
        """The code's name in RFC 6455 (``NORMAL_CLOSURE``, ...), or the range it is in."""
        try:
            return CloseReason(self.code).name
        except ValueError:
            if 1000 <= self.code <= 2999:
                return "RFC_RESERVED"
            if 3000 <= self.code <= 3999:
                return "IANA_RESERVED"
            if 4000 <= self.code <= 4999:
                return "PRIVATE_RESERVED"
            return "INVALID_CODE"

    def __str__(self) -> str:
        said = f": {self.reason}" if self.reason else ""
        return f"websocket closed with {self.code} {self.name}{said}"


class HandshakeFailed(Exception):
    """The connection never opened: the message says why (the server ended or broke the
    connection during the handshake, or answered it with something not HTTP or not a
    websocket's acceptance)."""


class HandshakeRejected(HandshakeFailed):
    """The server answered the handshake with an HTTP status other than 101."""

    def __init__(self, status_code: int, body: bytes) -> None:
        excerpt = body[:200].decode("utf-8", "replace")
        said = f": {excerpt}" if excerpt else ""
        super().__init__(f"the server refused the websocket with HTTP {status_code}{said}")
        self.status_code = status_code
        self.body = body
        """What of the answer's body came with its head."""


class HandshakeTimedOut(HandshakeFailed):
    """Connecting, or the handshake after it, took longer than allowed."""


class WebSocket:
    """An open client connection. One task at a time reads (:meth:`get_message`); any
    task may send (:meth:`send_message`) meanwhile."""

    def __init__(self, stream: Stream, protocol: Connection, max_message_size: int) -> None:
        self._stream = stream
        self._protocol = protocol
        self._max_message_size = max_message_size
        self._events: deque[Event] = deque(protocol.events())
        """Parsed from the stream and not yet acted on: a read may hold many frames."""
        self._parts: list[Any] = []
        """The message being read, when it came in more than one piece."""
        self._size = 0
        self._closed: WebSocketClosed | None = None
        """Why the connection closed, once it did (or once we began closing it)."""
        self._broken = False
        """A send stopped partway (cancelled or failed): the stream may carry half a frame,
        so nothing more is written to it, and the connection counts as closed (1006)."""
        self._send_lock = trio.Lock()

    async def get_message(self) -> str | bytes:
        """The next whole message: ``str`` for a text message, ``bytes`` for a binary one.

        Reads the stream in the caller's task, answering pings with pongs and the venue's
        close with ours on the way. Raises :class:`WebSocketClosed` once the connection
        is closed, and from then on; a message longer than the size limit (characters
        for text, bytes for binary) closes it with 1009. Cancelling it loses nothing: the
        frames read and the message half-read wait for the next call.
        """
        if self._closed is not None:
            raise WebSocketClosed(self._closed.code, self._closed.reason)
        events = self._events
        if events:
            # Read with earlier ones, it comes after a turn for every other task, as a
            # read from the stream would: a burst of frames in one read must not hold the
            # strategies of the quotes already published until the whole burst is decoded.
            await trio.lowlevel.checkpoint()
        while True:
            while events:
                event: Any = events.popleft()
                kind = type(event)
                if kind is TextMessage or kind is BytesMessage:
                    data = event.data
                    if event.message_finished and not self._parts:
                        if len(data) > self._max_message_size:
                            await self._too_big()
                        return data
                    self._parts.append(data)
                    self._size += len(data)
                    if self._size > self._max_message_size:
                        await self._too_big()
                    if event.message_finished:
                        parts, self._parts, self._size = self._parts, [], 0
                        return "".join(parts) if kind is TextMessage else b"".join(parts)
                elif kind is Ping:
                    if self._protocol.state is ConnectionState.OPEN:
                        await self._send(self._protocol.send(event.response()))
                elif kind is CloseConnection:
                    await self._on_close(event)
            await self._receive()

    async def send_message(self, message: str | bytes) -> None:
        """Send ``message``, as a text message if ``str``, binary if ``bytes``. Safe beside
        a task in :meth:`get_message` (which may be writing a pong). Raises
        :class:`WebSocketClosed` once the connection is closed."""
        if self._closed is not None:
            raise WebSocketClosed(self._closed.code, self._closed.reason)
        message_event = TextMessage(message) if isinstance(message, str) else BytesMessage(message)
        await self._send(self._protocol.send(message_event))

    async def _receive(self) -> None:
        try:
            data = await self._stream.receive_some(RECEIVE_BYTES)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        # No data: the stream ended; wsproto then closes with 1006.
        self._protocol.receive_data(data or None)
        self._events.extend(self._protocol.events())

    async def _on_close(self, event: CloseConnection) -> None:
        self._closed = WebSocketClosed(event.code, event.reason or "")
        state = self._protocol.state
        if state is ConnectionState.REMOTE_CLOSING:
            await self._send_close(event.response())
        elif state is ConnectionState.OPEN:
            # wsproto found the venue's frames malformed: we close, with its code.
            await self._send_close(event)
        raise WebSocketClosed(self._closed.code, self._closed.reason)

    async def _too_big(self) -> None:
        reason = f"a message over {self._max_message_size} bytes"
        self._closed = WebSocketClosed(CloseReason.MESSAGE_TOO_BIG, reason)
        self._parts, self._size = [], 0
        await self._send_close(CloseConnection(self._closed.code, reason))
        raise WebSocketClosed(self._closed.code, reason)

    async def _send_close(self, event: CloseConnection) -> None:
        # Why the connection closed says more than a stream that broke as it did.
        with suppress(WebSocketClosed):
            await self._send(self._protocol.send(event))

    async def _send(self, data: bytes) -> None:
        async with self._send_lock:
            if self._broken:
                raise WebSocketClosed(ABNORMAL_CLOSURE)
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._break()
                raise WebSocketClosed(ABNORMAL_CLOSURE) from None
            except BaseException:
                self._break()
                raise

    def _break(self) -> None:
        self._broken = True
        if self._closed is None:
            self._closed = WebSocketClosed(ABNORMAL_CLOSURE)

    async def _close_politely(self) -> None:
        """Send our close frame, then read until the venue's answers it or the stream
        ends. The caller bounds the wait."""
        if self._broken or self._protocol.state is not ConnectionState.OPEN:
            return
        self._closed = WebSocketClosed(CloseReason.NORMAL_CLOSURE)
        try:
            await self._send(self._protocol.send(CloseConnection(CloseReason.NORMAL_CLOSURE)))
        except WebSocketClosed:
            return
        events = self._events
        while self._protocol.state is ConnectionState.LOCAL_CLOSING:
            while events:
                if type(events.popleft()) is CloseConnection:
                    return
            await self._receive()


@asynccontextmanager
async def open_websocket(
    url: str,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    connect_timeout_s: float = 10.0,
    max_message_size: int = 4 << 20,
) -> AsyncIterator[WebSocket]:
    """Connect to ``url`` (``ws://`` or ``wss://``, TLS with the default context); on
    exit close the connection and its socket, whoever ended it.

    Connecting and the handshake are each bounded by ``connect_timeout_s``
    (:class:`HandshakeTimedOut`); an HTTP answer other than 101 raises
    :class:`HandshakeRejected`, any other failed handshake :class:`HandshakeFailed`, a
    network error while connecting :class:`OSError`. Leaving the block sends our close
    frame and waits up to ``CLOSE_TIMEOUT_S`` for the venue's, unless the block was
    cancelled (a stop waits for nobody) or the connection is already closed; the socket
    closes in every case.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a websocket URL: {url!r} (expected ws://HOST/... or wss://...)")
    secure = parts.scheme == "wss"
    host = parts.hostname
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stream: Stream | None = None
    with trio.move_on_after(connect_timeout_s):
        if secure:
            stream = await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context(), https_compatible=True
            )
        else:
            stream = await trio.open_tcp_stream(host, port)
    if stream is None:
        raise HandshakeTimedOut(f"connecting to {url} took over {connect_timeout_s:g} s")
    async with stream:
        ws = None
        with trio.move_on_after(connect_timeout_s):
            ws = await _handshake(stream, host, resource, headers, max_message_size)
        if ws is None:
            raise HandshakeTimedOut(f"the handshake with {url} took over {connect_timeout_s:g} s")
        polite = True
        try:
            yield ws
        except* trio.Cancelled:
            # Being stopped: nobody waits for a closing handshake; the socket still
            # closes (leaving ``async with stream``).
            polite = False
            raise
        finally:
            if polite:
                with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT_S):
                    await ws._close_politely()


async def _handshake(
    stream: Stream,
    host: str,
    resource: str,
    headers: Sequence[tuple[bytes, bytes]],
    max_message_size: int,
) -> WebSocket:
    """Ask ``stream``'s server for a websocket at ``resource``; the open connection, with
    any frames that came with the server's acceptance."""
    handshake = WSConnection(ConnectionType.CLIENT)
    request = Request(host=host, target=resource, extra_headers=list(headers))
    try:
        await stream.send_all(handshake.send(request))
        while True:
            data = await stream.receive_some(RECEIVE_BYTES)
            if not data:
                raise HandshakeFailed("the server closed the connection during the handshake")
            handshake.receive_data(data)
            rejected: RejectConnection | None = None
            body = b""
            # Stops at the acceptance: frames that came with it stay in the connection.
            for event in handshake.events():
                if isinstance(event, AcceptConnection):
                    assert handshake.connection is not None
                    return WebSocket(stream, handshake.connection, max_message_size)
                if isinstance(event, RejectConnection):
                    rejected = event
                elif isinstance(event, RejectData):
                    body += event.data
            if rejected is not None:
                # The body as far as it came with the head: enough to say why, and a
                # server that keeps the connection open must not hold us.
                raise HandshakeRejected(rejected.status_code, body)
    except trio.BrokenResourceError as error:
        raise HandshakeFailed(
            f"the connection broke during the handshake: {error.__cause__ or error}"
        ) from error
    except RemoteProtocolError as error:
        raise HandshakeFailed(f"the server's answer is no websocket's: {error}") from error
