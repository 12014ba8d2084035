"""One port on 127.0.0.1 for a simulated venue's REST API and its websockets.

Real venues put REST and websockets on different hosts; the simulator gives each venue
one port and tells them apart by the first request on a connection: a websocket upgrade
goes to the websocket endpoint, anything else to the HTTP server (paths do not collide:
``/api/v3/...`` and ``/ws``, ``/api/v4/...`` and ``/v4/ws/usdt``). The bytes read to
decide are replayed to whichever takes the connection.

While the venue refuses connections (a fault), each is closed as soon as it arrives.
"""

from __future__ import annotations

import logging
import re

import attrs
import trio

from actors.sim.http_server import HttpServer
from actors.sim.wire_faults import WireFaults
from actors.sim.ws_server import WebsocketEndpoint

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16384
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

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free port); started with the bound port."""
        listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
        bound = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._connection, listeners)
            task_status.started(bound)

    async def _connection(self, stream: trio.SocketStream) -> None:
        try:
            if self.faults.refusing:
                self.faults.count("refused_connection")
                return
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
