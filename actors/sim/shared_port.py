"""One port on 127.0.0.1 for a simulated venue's REST API and its websockets.

Real venues put REST and websockets on different hosts; the simulator gives each venue
one port, and its HTTP server hands a connection to the websocket endpoint when a request
on it asks to switch to the websocket protocol, be it the connection's first request or
one after REST requests on the same keep-alive connection (paths do not collide:
``/api/v3/...`` and ``/ws``, ``/api/v4/...`` and ``/v4/ws/usdt``).

While the venue refuses connections (a fault), the port is closed.
"""

from __future__ import annotations

import socket

import attrs
import trio

from actors.http_server import HttpServer
from actors.sim.wire_faults import WireFaults

LISTEN_BACKLOG = 128


@attrs.define(eq=False)
class SharedPort:
    http: HttpServer
    """Answers REST, and hands websocket upgrades to the venue's websocket endpoint."""
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
            await self.http.handle_connection(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(stream)


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
