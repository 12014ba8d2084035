"""A small HTTP/1.1 server on trio: the simulated venues' REST APIs and the status endpoint.

h11 does the protocol (sans-I/O); this module only moves bytes and calls the handler. It
keeps connections alive as clients expect, so httpx's pool behaves as it does against a
real venue. A handler fault can make the server answer slowly, fail, or close the
connection without an answer (what a client sees when a venue times out mid-request).

A request to switch to the websocket protocol, first on a connection or after others
on the same keep-alive connection, hands the connection to the ``upgrade`` handler, which
reads the request again from its first byte.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import attrs
import h11
import trio

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
RECEIVE_BYTES = 65536


@attrs.frozen
class HttpRequest:
    method: str
    path: str
    query_string: str
    """The raw query, exactly as sent: signatures are computed over it."""
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    peer: str = ""
    """The client's address, where the connection has one (``127.0.0.1``)."""

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.query_string, keep_blank_values=True))


@attrs.frozen
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class CloseWithoutAnswer(Exception):
    """Raised by a handler to drop the connection instead of answering."""


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]
UpgradeHandler = Callable[[trio.abc.Stream], Awaitable[None]]
"""Takes over a connection whose next request asks for the websocket protocol; the
stream it is given starts with that request."""


class ReplayStream(trio.abc.Stream):
    """``stream`` with ``head`` put back in front of what it receives next."""

    def __init__(self, stream: trio.abc.Stream, head: bytes) -> None:
        self._stream = stream
        self._head = head

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._head:
            size = len(self._head) if max_bytes is None else max_bytes
            data, self._head = self._head[:size], self._head[size:]
            await trio.lowlevel.checkpoint()
            return data
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._stream.aclose()


def _peer(stream: trio.abc.Stream) -> str:
    """The address of the other end of ``stream``, if it is a socket's."""
    sock = getattr(stream, "socket", None)
    try:
        return str(sock.getpeername()[0]) if sock is not None else ""
    except OSError:
        return ""


def _asks_for_websocket(head: h11.Request) -> bool:
    return any(
        name == b"upgrade" and value.strip().lower() == b"websocket" for name, value in head.headers
    )


def _request_bytes(head: h11.Request) -> bytes:
    """``head`` written back as it came (names in their sent case, in their order)."""
    lines = [b"%s %s HTTP/%s" % (head.method, head.target, head.http_version)]
    lines += [b"%s: %s" % (name, value) for name, value in head.headers.raw_items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@attrs.define
class HttpServer:
    """Serves ``handler`` on 127.0.0.1. Start with ``await nursery.start(server.serve)``,
    which returns the port; ``refusing`` makes it close new connections at once."""

    handler: Handler
    name: str = "http"
    upgrade: UpgradeHandler | None = None
    """Takes websocket upgrade requests; without it they get the handler's answer."""
    refusing: bool = False
    connections: int = 0

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free port) and serve until cancelled;
        started with the bound port. A port that cannot be had raises ``OSError``."""
        listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
        await self.serve_on(listeners, task_status=task_status)

    async def serve_on(
        self,
        listeners: list[trio.SocketListener],
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve on ``listeners`` already bound (a port claimed before anything else
        started) until cancelled; started with their port. They are closed at the end."""
        bound = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._connection, listeners)
            task_status.started(bound)

    async def _connection(self, stream: trio.SocketStream) -> None:
        try:
            if not self.refusing:
                await self.handle_connection(stream)
        finally:
            await stream.aclose()

    async def handle_connection(self, stream: trio.abc.Stream) -> None:
        """Answer requests on ``stream`` until either side ends the connection (or a
        handler closes it unanswered); the caller closes ``stream``."""
        self.connections += 1
        with contextlib.suppress(
            trio.BrokenResourceError, trio.ClosedResourceError, CloseWithoutAnswer
        ):
            await self._converse(stream, h11.Connection(h11.SERVER), _peer(stream))

    async def _converse(self, stream: trio.abc.Stream, conn: h11.Connection, peer: str) -> None:
        while True:
            try:
                request = await self._read_request(stream, conn, peer)
            except h11.RemoteProtocolError as error:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._send(
                        stream, conn, HttpResponse(400, str(error).encode(), "text/plain")
                    )
                return
            if request is None:
                return
            head, request = request
            if self.upgrade is not None and _asks_for_websocket(head):
                unread, _ = conn.trailing_data
                await self.upgrade(ReplayStream(stream, _request_bytes(head) + bytes(unread)))
                return
            try:
                response = await self.handler(request)
            except CloseWithoutAnswer:
                raise
            except Exception:
                log.exception(
                    "%s: the handler failed on %s %s", self.name, request.method, request.path
                )
                response = HttpResponse(500, b'{"error":"internal"}')
            await self._send(stream, conn, response)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()

    async def _read_request(
        self, stream: trio.abc.Stream, conn: h11.Connection, peer: str
    ) -> tuple[h11.Request, HttpRequest] | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(RECEIVE_BYTES)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    raise h11.RemoteProtocolError("request body too large")
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                target = head.target.decode("ascii", "replace")
                path, _, query = target.partition("?")
                headers = {
                    name.decode().lower(): value.decode("latin-1") for name, value in head.headers
                }
                request = HttpRequest(head.method.decode(), path, query, headers, bytes(body), peer)
                return head, request
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def _send(
        self, stream: trio.abc.Stream, conn: h11.Connection, response: HttpResponse
    ) -> None:
        headers = [
            ("content-type", response.content_type),
            ("content-length", str(len(response.body))),
            *response.headers,
        ]
        data = conn.send(h11.Response(status_code=response.status, headers=headers))
        data += conn.send(h11.Data(data=response.body)) if response.body else b""
        data += conn.send(h11.EndOfMessage())
        await stream.send_all(data)
