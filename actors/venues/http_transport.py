"""An httpx transport speaking HTTP/1.1 with h11 straight over trio streams.

httpx's default transport (httpcore on anyio) costs about as much per request as the
whole round trip on loopback; routers sit on the tick-to-order path, so they use this
one. It keeps a pool of kept-alive connections per origin, honours httpx's timeouts, and
maps failures onto httpx's exceptions so that callers can tell a connection that was
never made (``ConnectError``, ``ConnectTimeout``) from a request whose fate is unknown
(``ReadTimeout``, ``RemoteProtocolError``, ``WriteError``). It never retries: whether a
request may be sent again is for the caller to decide.
"""

from __future__ import annotations

import math
import ssl
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping

import attrs
import h11
import httpx
import trio

from actors import hot_path

RECEIVE_BYTES = 65536
IDLE_LIMIT_S = 30.0
"""A connection idle longer than this is not reused: servers close idle ones eventually,
and a request sent on a connection the server just closed has an unknown outcome."""

Origin = tuple[str, str, int]


@attrs.frozen
class Outgoing:
    """A request as this transport writes it: where it goes, and its head and body."""

    origin: Origin
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


class _Connection:
    def __init__(self, stream: trio.abc.Stream, host: str) -> None:
        self.stream = stream
        self.host = host
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = trio.current_time()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            await self.stream.aclose()


class H11Transport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int = 8, ssl_context: ssl.SSLContext | None = None):
        self._limit = trio.CapacityLimiter(max_connections)
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)
        self._ssl = ssl_context
        self.connects = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"connection"]
        outgoing = Outgoing(
            _origin(url), request.method.encode(), url.raw_path, headers, await request.aread()
        )
        response, content = await self.exchange(outgoing, request.extensions.get("timeout", {}))
        # As a stream, so that httpx decodes a compressed body by its Content-Encoding.
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def exchange(
        self, request: Outgoing, timeouts: Mapping[str, float | None]
    ) -> tuple[h11.Response, bytes]:
        """One request on a kept-alive connection to ``origin`` (one made if none is
        idle), written in a single ``send_all``; the answer's head and body as received.
        Raises httpx's exceptions, as :meth:`handle_async_request` does."""
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            # A free slot is taken without yielding: on the order path a yield here lets
            # every other ready task run before the request is written.
            self._limit.acquire_nowait()
        except trio.WouldBlock:
            with trio.move_on_after(_seconds(timeouts.get("pool"))) as waiting:
                await self._limit.acquire()
            if waiting.cancelled_caught:
                raise httpx.PoolTimeout("no connection free in time") from None
        try:
            origin = request.origin
            connection = await self._reuse(origin) or await self._connect(origin, timeouts)
            await self._write(connection, request, timeouts)
            return await self._answer(request.origin, connection, timeouts)
        finally:
            self._limit.release()

    async def write_now(
        self, request: Outgoing, timeouts: Mapping[str, float | None]
    ) -> Callable[[], Awaitable[tuple[h11.Response, bytes]]] | None:
        """The first half of :meth:`exchange`, done only if it needs no waiting: with a
        slot free and a kept-alive connection idle, the request written, and what awaits
        its answer returned (to be awaited once, perhaps by another task); otherwise
        nothing done, and ``None``. Raises as :meth:`exchange` does when writing."""
        await trio.lowlevel.checkpoint_if_cancelled()
        origin = request.origin
        if not self._has_idle(origin):
            return None
        # The slot is held for the request, not for a task: another may await the answer.
        borrower = object()
        try:
            self._limit.acquire_on_behalf_of_nowait(borrower)
        except trio.WouldBlock:
            return None
        try:
            connection = await self._reuse(origin)
            assert connection is not None, "an idle connection was checked for"
            await self._write(connection, request, timeouts)
        except BaseException:
            self._limit.release_on_behalf_of(borrower)
            raise

        async def answer() -> tuple[h11.Response, bytes]:
            try:
                return await self._answer(origin, connection, timeouts)
            finally:
                self._limit.release_on_behalf_of(borrower)

        return answer

    def _has_idle(self, origin: Origin) -> bool:
        """Whether :meth:`_reuse` would give a connection without closing any."""
        idle = self._idle.get(origin)
        return bool(idle) and trio.current_time() - idle[-1].idle_since < IDLE_LIMIT_S

    async def _write(
        self, connection: _Connection, request: Outgoing, timeouts: Mapping[str, float | None]
    ) -> None:
        """The request written in a single ``send_all``, before this first yields."""
        conn = connection.h11
        try:
            head = h11.Request(
                method=request.method, target=request.target, headers=request.headers
            )
            data = conn.send(head)
            if request.body:
                data += conn.send(h11.Data(data=request.body))
            data += conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            await connection.aclose()
            raise httpx.LocalProtocolError(str(error)) from error
        try:
            with trio.fail_after(_seconds(timeouts.get("write"))):
                hot_path.mark("wire", (request.method, request.target))
                await connection.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError) as error:
            await connection.aclose()
            raise httpx.WriteError(f"sending failed: {error!r}") from error
        except BaseException:
            await connection.aclose()  # cancelled mid-request: it cannot be reused
            raise

    async def _answer(
        self, origin: Origin, connection: _Connection, timeouts: Mapping[str, float | None]
    ) -> tuple[h11.Response, bytes]:
        """The answer to the request just written; the connection kept for the next one
        if both sides are done with this one."""
        conn = connection.h11
        try:
            with trio.fail_after(_seconds(timeouts.get("read"))):
                answer = await self._receive(connection)
        except trio.TooSlowError:
            await connection.aclose()
            raise httpx.ReadTimeout("no answer in time") from None
        except (trio.BrokenResourceError, h11.RemoteProtocolError) as error:
            await connection.aclose()
            raise httpx.RemoteProtocolError(f"bad answer: {error}") from error
        except BaseException:
            # Cancelled while waiting for the answer (the caller crashed or gave up): the
            # connection is mid-response and can never be reused.
            await connection.aclose()
            raise
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            connection.idle_since = trio.current_time()
            self._idle[origin].append(connection)
        else:
            await connection.aclose()
        return answer

    async def _receive(self, connection: _Connection) -> tuple[h11.Response, bytes]:
        conn = connection.h11
        response: h11.Response | None = None
        content = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await connection.stream.receive_some(RECEIVE_BYTES)
                if not data and conn.their_state is not h11.SEND_BODY:
                    raise h11.RemoteProtocolError("the server closed the connection unanswered")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                content += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return response, bytes(content)
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("the server closed the connection unanswered")

    async def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle[origin]
        now = trio.current_time()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < IDLE_LIMIT_S:
                return connection
            await connection.aclose()
        return None

    async def _connect(self, origin: Origin, timeouts: Mapping[str, float | None]) -> _Connection:
        scheme, host, port = origin
        try:
            with trio.fail_after(_seconds(timeouts.get("connect"))):
                stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
                if scheme == "https":
                    context = self._ssl or ssl.create_default_context()
                    tls = trio.SSLStream(
                        stream, context, server_hostname=host, https_compatible=True
                    )
                    await tls.do_handshake()
                    stream = tls
        except trio.TooSlowError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} took too long") from None
        except (OSError, trio.BrokenResourceError) as error:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {error}") from error
        self.connects += 1
        return _Connection(stream, host)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()


def _origin(url: httpx.URL) -> Origin:
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


def _seconds(value: float | None) -> float:
    return math.inf if value is None else value
