"""Websocket connections of a simulated venue, on trio-websocket.

The library does the protocol; this module owns each connection's TCP stream so that a
fault can drop it abruptly (no close frame: what a client sees when a venue's edge dies),
and sends every outgoing frame through the connection's own queue, so that frames can be
delayed or held back (a stall) without ever blocking whoever produced them: the market
timer and the matching engine's listeners hand frames over synchronously. A client that
falls ``backlog_frames`` behind is dropped, as venues drop slow consumers.

The frames queued together (a tick's pushes, a hundred or more on a connection that
follows many symbols) go out in one write: the sender frames them itself (a server's
frames are the few header bytes RFC 6455 gives, unmasked) rather than one library call,
lock and system call each. The library's own writes (pongs, the closing handshake) and
the sender's take turns on the stream (``_TakingTurns``), so neither cuts into the other.

A stall silences what the venue sends; pings at the websocket protocol level are still
answered by trio-websocket, which does not let a server withhold them (the venues'
clients here use application-level pings, which a stall does silence).

An endpoint may also ping each client at the protocol level itself, as Gate.io's does,
and drop one whose pong does not come back in time; and it may close each connection
once it has lived as long as the venue lets one live (Binance's and MEXC's 24 hours).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

import attrs
import trio
import trio_websocket

from actors.sim.wire_faults import WireFaults

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 10.0
LONGEST_CONNECTION_S = 24 * 3600.0
"""The longest a connection lives at Binance (market streams, WebSocket API, user data
streams) and at MEXC: each documents a close at the 24-hour mark."""
MAX_MESSAGE_BYTES = 1 << 20

Frame = str | bytes


@attrs.define(eq=False)
class WsClient:
    """One accepted websocket connection, as a venue's session sees it."""

    target: str
    """The request target: path and query (``/ws?listenKey=...``)."""
    _ws: trio_websocket.WebSocketConnection
    _outbox: trio.MemorySendChannel[tuple[float, Frame]]
    _scope: trio.CancelScope
    _faults: WireFaults
    dropped_why: str | None = None

    @property
    def query(self) -> dict[str, str]:
        """The target's query parameters (the first value of each)."""
        return {name: values[0] for name, values in parse_qs(urlsplit(self.target).query).items()}

    def send(self, frame: Frame) -> None:
        """Queue ``frame``; never blocks. Nothing is sent while the venue is stalled; a
        client whose queue is full is dropped."""
        if self._faults.stalled or self.dropped_why is not None:
            return
        delay_s = self._faults.frame_delay_s
        # Due at once (0) unless a fault delays it: no clock read per frame otherwise.
        due = trio.current_time() + delay_s if delay_s else 0.0
        try:
            self._outbox.send_nowait((due, frame))
        except trio.WouldBlock:
            log.warning("%s: dropping a client too slow to read its frames", self.target)
            self.drop("too slow: its backlog of frames is full")
        except trio.ClosedResourceError:
            pass  # the connection is ending

    async def messages(self) -> AsyncIterator[Frame]:
        """The client's frames until the connection closes."""
        while True:
            try:
                yield await self._ws.get_message()
            except trio_websocket.ConnectionClosed:
                return

    def drop(self, why: str) -> None:
        """Cut the connection without a closing handshake."""
        if self.dropped_why is None:
            self.dropped_why = why
            self._scope.cancel()


def encoded(frame: Frame) -> bytes:
    """``frame`` as one unfragmented websocket message from a server (RFC 6455 5.2: no
    mask): text for ``str``, binary for ``bytes``."""
    if isinstance(frame, str):
        head, payload = 0x81, frame.encode()
    else:
        head, payload = 0x82, frame
    size = len(payload)
    if size < 126:
        return bytes((head, size)) + payload
    if size < 1 << 16:
        return bytes((head, 126)) + size.to_bytes(2, "big") + payload
    return bytes((head, 127)) + size.to_bytes(8, "big") + payload


class _TakingTurns(trio.abc.Stream):
    """``stream`` whose writes take turns: the library's and the sender's, whole each."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        self._turn = trio.StrictFIFOLock()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        async with self._turn:
            await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._stream.aclose()


def send_to_each(clients: Iterable[WsClient], frame: Frame) -> None:
    """Queue ``frame`` on each of ``clients`` (a snapshot of them: sending may drop one)."""
    for client in list(clients):
        client.send(frame)


Session = Callable[[WsClient], Awaitable[None]]


@attrs.define(eq=False)
class WebsocketEndpoint:
    """Serves ``session`` to each websocket connection whose path is ``path``; others
    are refused with 404. Connections come from a ``SharedPort``."""

    session: Session
    path: str
    faults: WireFaults
    backlog_frames: int = 1000
    ping_interval_s: float | None = None
    """Ping each client at the protocol level this often (``None``: never)..."""
    pong_timeout_s: float = 60.0
    """...and drop one whose pong has not come back this long after a ping."""
    max_lifetime_s: float | None = None
    """Close each connection this long after it was accepted (``None``: never), as a
    venue that documents a longest connection does."""
    clients: set[WsClient] = attrs.field(factory=set, init=False)

    def serves(self, path: str) -> bool:
        """Whether a websocket at ``path`` is this endpoint's: ``path`` itself, or any
        path under it when ``path`` ends with ``/`` (a venue that names streams in the
        path, as Binance's ``/ws/<stream>``)."""
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))

    def drop_all(self, why: str) -> int:
        """Cut every open connection; returns how many there were."""
        clients = list(self.clients)
        for client in clients:
            client.drop(why)
        return len(clients)

    def broadcast(self, frame: Frame) -> int:
        """Queue ``frame`` on every open connection; returns how many."""
        clients = list(self.clients)
        send_to_each(clients, frame)
        return len(clients)

    async def handle_connection(self, stream: trio.abc.Stream) -> None:
        """Run one connection to its end; the caller closes ``stream``."""
        with trio.CancelScope() as scope:
            try:
                async with trio.open_nursery() as nursery:
                    await self._converse(stream, nursery, scope)
                    nursery.cancel_scope.cancel()
            except* (
                trio_websocket.ConnectionClosed,
                trio.BrokenResourceError,
                trio.ClosedResourceError,
            ):
                pass  # the client went away, during the handshake or after
            except* Exception:
                # A session bug ends its connection, not the venue.
                log.exception("%s: a websocket session failed", self.path)

    async def _converse(
        self, stream: trio.abc.Stream, nursery: trio.Nursery, scope: trio.CancelScope
    ) -> None:
        request = None
        stream = _TakingTurns(stream)
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            request = await trio_websocket.wrap_server_stream(
                nursery, stream, max_message_size=MAX_MESSAGE_BYTES
            )
        if request is None:
            return
        if not self.serves(urlsplit(request.path).path):
            await request.reject(404, body=f"no websocket at {request.path}".encode())
            return
        ws = await request.accept()
        outbox, queued = trio.open_memory_channel[tuple[float, Frame]](self.backlog_frames)
        client = WsClient(request.path, ws, outbox, scope, self.faults)
        nursery.start_soon(self._send_queued, ws, stream, queued, client)
        if self.ping_interval_s is not None:
            nursery.start_soon(self._ping, ws, client, self.ping_interval_s)
        if self.max_lifetime_s is not None:
            nursery.start_soon(self._close_after, ws, client, self.max_lifetime_s)
        self.clients.add(client)
        try:
            await self.session(client)
        finally:
            self.clients.discard(client)
            outbox.close()

    async def _ping(
        self, ws: trio_websocket.WebSocketConnection, client: WsClient, interval_s: float
    ) -> None:
        # A stall silences pings too: the venue sends nothing at all.
        while True:
            await trio.sleep(interval_s)
            if self.faults.stalled:
                continue
            with trio.move_on_after(self.pong_timeout_s) as waiting:
                await ws.ping()
            if waiting.cancelled_caught:
                client.drop(f"no pong within {self.pong_timeout_s:g} s of a ping")
                return

    @staticmethod
    async def _close_after(
        ws: trio_websocket.WebSocketConnection, client: WsClient, lifetime_s: float
    ) -> None:
        await trio.sleep(lifetime_s)
        log.info("%s: closing a connection %g s old", client.target, lifetime_s)
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S):
            await ws.aclose(1000, "connection lifetime reached")
        client.drop("connection lifetime reached")

    @staticmethod
    async def _send_queued(
        ws: trio_websocket.WebSocketConnection,
        stream: trio.abc.Stream,
        queued: trio.MemoryReceiveChannel[tuple[float, Frame]],
        client: WsClient,
    ) -> None:
        async def write(frames: bytearray) -> None:
            if ws.closed is not None:
                raise trio_websocket.ConnectionClosed(ws.closed)
            await stream.send_all(frames)

        try:
            async for due, frame in queued:
                frames = bytearray()
                while True:
                    # Frames are due at once unless a fault delays them: a sleep that need
                    # not wait would cost a cancel scope per frame, thousands a second.
                    if due and due > trio.current_time():
                        if frames:
                            await write(frames)
                            frames = bytearray()
                        await trio.sleep_until(due)
                    frames += encoded(frame)
                    try:
                        due, frame = queued.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                await write(frames)
        except (
            trio_websocket.ConnectionClosed,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
        ):
            client.drop("closed by the client")
