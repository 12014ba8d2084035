"""One port on 127.0.0.1 for a simulated venue's REST API and its websockets.

Real venues put REST and websockets on different hosts; the simulator gives each venue
one port and tells them apart by the first request on a connection: a websocket upgrade
goes to the websocket endpoint, anything else to the HTTP server (paths do not collide:
``/api/v3/...`` and ``/ws``, ``/api/v4/...`` and ``/v4/ws/usdt``). The bytes read to
decide are replayed to whichever takes the connection.

While the venue refuses connections (a fault), the port is closed.
"""

from __future__ import annotations

import logging
import re
import socket

import attrs
import trio

from actors.http_server import HttpServer
from actors.sim.wire_faults import WireFaults
from actors.sim.ws_server import WebsocketEndpoint

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16384
LISTEN_BACKLOG = 128
HEAD_TIMEOUT_S = 10.0
_UPGRADE = re.compile(rb"^upgrade:[ \t]*websocket[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


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


@attrs.define(eq=False)
class SharedPort:
    http: HttpServer
    websockets: WebsocketEndpoint
    faults: WireFaults
    name: str = "venue"
    _port: int = attrs.field(default=0, init=False)
    _listener: trio.SocketListener | None = attrs.field(default=None, init=False)
    _listener_opened: trio.Event = attrs.field(factory=trio.Event, init=False)

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free port); started with the bound port.
        While the venue refuses connections the port is closed, so that connecting fails
        at once (connection refused), as with a venue whose front end is down; open
        connections live on."""
        self._listener = _listen(port)
        self._port = self._listener.socket.getsockname()[1]
        async with trio.open_nursery() as connections:
            task_status.started(self._port)
            while True:
                listener = self._listener
                if listener is None:
                    with trio.move_on_at(self.faults.refusing_until):
                        await self._listener_opened.wait()
                    self._listener_opened = trio.Event()
                    if self._listener is None and not self.faults.refusing:
                        self._listener = _listen(self._port)
                    continue
                try:
                    await trio.serve_listeners(
                        self._connection, [listener], handler_nursery=connections
                    )
                except* trio.ClosedResourceError:
                    pass  # closed by refusal_changed: the venue refuses connections

    def refusal_changed(self) -> None:
        """The venue's refusal was switched: close or reopen the port now, so that the
        next connection attempt already sees the change."""
        if self.faults.refusing and self._listener is not None:
            self._listener.socket.close()
            self._listener = None
        elif not self.faults.refusing and self._listener is None and self._port:
            self._listener = _listen(self._port)
            self._listener_opened.set()

    async def _connection(self, stream: trio.SocketStream) -> None:
        try:
            head = await self._read_head(stream)
            if head is None:
                return
            replay = ReplayStream(stream, head)
            if _UPGRADE.search(head):
                await self.websockets.handle_connection(replay)
            else:
                await self.http.handle_connection(replay)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(stream)

    @staticmethod
    async def _read_head(stream: trio.SocketStream) -> bytes | None:
        """The first request's head (through its blank line), or ``None`` if the client
        went away or sent no head in time."""
        head = b""
        with trio.move_on_after(HEAD_TIMEOUT_S):
            while b"\r\n\r\n" not in head and len(head) < MAX_HEAD_BYTES:
                data = await stream.receive_some(MAX_HEAD_BYTES)
                if not data:
                    return None
                head += data
            return head
        return None


def _listen(port: int) -> trio.SocketListener:
    """A listener on 127.0.0.1:``port``, opened synchronously. ``SO_REUSEADDR`` lets the
    port be opened again at once after a refusal closed it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    return trio.SocketListener(trio.socket.from_stdlib_socket(sock))
