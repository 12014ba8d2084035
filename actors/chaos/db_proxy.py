"""A partition between one trading process and its PostgreSQL, on demand: a TCP forwarder
on 127.0.0.1 that the process reaches its database through, which a chaos run can cut
and restore.

While it is whole, every connection made to it is forwarded byte for byte to the real
server (TLS included: the client and the server speak through it, it reads nothing).
:meth:`DbProxy.cut` closes every connection it forwards and black-holes the new ones, as
a partition does: a connection is taken and then hears nothing, so the client waits for
its own connect timeout. :meth:`DbProxy.restore` closes the connections it held and
forwards again.

The process is pointed at the proxy by its connection string (:func:`through`): the
server's ``host`` stays as it was (a certificate is checked against it, a password file
looked up by it) and ``hostaddr`` sends the connection to the proxy instead.
"""

from __future__ import annotations

import os

import attrs
import trio
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HOST = "127.0.0.1"
DEFAULT_PORT = 5432
CHUNK = 65536


class UnreachableDsn(ValueError):
    """A connection string the proxy cannot stand in the way of."""


@attrs.frozen
class Upstream:
    """Where the real server listens: a TCP host and port, or (``host`` a directory) the
    Unix socket PostgreSQL keeps there for that port."""

    host: str
    port: int

    @property
    def is_unix_socket(self) -> bool:
        return self.host.startswith("/")

    async def connect(self) -> trio.abc.Stream:
        if self.is_unix_socket:
            return await trio.open_unix_socket(f"{self.host}/.s.PGSQL.{self.port}")
        return await trio.open_tcp_stream(self.host, self.port)


def upstream_of(dsn: str) -> Upstream:
    """The server ``dsn`` connects to (libpq's ``PGHOST`` and ``PGPORT`` where it names
    none); ``UnreachableDsn`` for a string naming several servers or none."""
    params = conninfo_to_dict(dsn)
    host = params.get("hostaddr") or params.get("host") or os.environ.get("PGHOST", "")
    port = str(params.get("port") or os.environ.get("PGPORT", "") or DEFAULT_PORT)
    if not host:
        raise UnreachableDsn("the connection string names no host: add host=... to it")
    if "," in host or "," in port:
        raise UnreachableDsn(f"the connection string names several servers ({host}): name one")
    return Upstream(host, int(port))


def through(dsn: str, port: int) -> str:
    """``dsn`` reaching its server through the proxy listening on ``port``."""
    params = conninfo_to_dict(dsn)
    if upstream_of(dsn).is_unix_socket:
        return make_conninfo(dsn, host=HOST, hostaddr=None, port=str(port))
    if not params.get("host"):
        # hostaddr alone: the host it was is kept for what libpq checks against it.
        return make_conninfo(dsn, host=params["hostaddr"], hostaddr=HOST, port=str(port))
    return make_conninfo(dsn, hostaddr=HOST, port=str(port))


class DbProxy:
    """Forwards connections from ``127.0.0.1:<port>`` to ``upstream`` until cut. Started
    with ``port = await nursery.start(proxy.run)``; cancelling ``run`` closes it all."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.port = 0
        self.is_cut = False
        self.forwarded = 0
        """Connections forwarded so far."""
        self.closed_by_cuts = 0
        """Forwarded connections the cuts closed."""
        self.black_holed = 0
        """Connections taken while cut, never answered."""
        self._links: set[trio.CancelScope] = set()
        self._held: set[trio.CancelScope] = set()

    @property
    def open_links(self) -> int:
        return len(self._links)

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host=HOST)
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            task_status.started(self.port)
            await trio.serve_listeners(self._serve, listeners, handler_nursery=nursery)

    def cut(self) -> int:
        """Close every forwarded connection and black-hole new ones; how many it closed."""
        self.is_cut = True
        closed = len(self._links)
        for scope in self._links:
            scope.cancel()
        self.closed_by_cuts += closed
        return closed

    def restore(self) -> None:
        """Forward again; the connections held meanwhile are closed (their clients have
        given up on them or are about to)."""
        self.is_cut = False
        for scope in self._held:
            scope.cancel()

    async def _serve(self, client: trio.SocketStream) -> None:
        try:
            with trio.CancelScope() as scope:
                if self.is_cut:
                    self.black_holed += 1
                    self._held.add(scope)
                    try:
                        await trio.sleep_forever()
                    finally:
                        self._held.discard(scope)
                self._links.add(scope)
                try:
                    await self._forward(client)
                finally:
                    self._links.discard(scope)
        finally:
            await trio.aclose_forcefully(client)

    async def _forward(self, client: trio.SocketStream) -> None:
        try:
            server = await self.upstream.connect()
        except OSError:
            return  # the server is down: the client sees its connection closed
        self.forwarded += 1
        try:
            async with trio.open_nursery() as pumps:
                pumps.start_soon(_pump, client, server, pumps.cancel_scope)
                pumps.start_soon(_pump, server, client, pumps.cancel_scope)
        finally:
            await trio.aclose_forcefully(server)


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream, both: trio.CancelScope) -> None:
    """Copy ``source`` to ``sink`` until either ends; then end both directions (the
    protocol has no half-closed connections)."""
    try:
        while data := await source.receive_some(CHUNK):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        both.cancel()
