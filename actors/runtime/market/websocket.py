"""Client websocket connections whose TCP stream Basis owns.

trio-websocket's ``open_websocket_url`` leaves the client socket open when the server is
the one that closes (seen with trio-websocket 0.12: a ResourceWarning per dropped
connection). A feed that reconnects for weeks must not leak a socket per drop, so the
stream is opened here, handed to ``wrap_client_stream``, and always closed here.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio
import trio_websocket

CLOSE_TIMEOUT_S = 1.0


@asynccontextmanager
async def open_websocket(
    url: str,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    connect_timeout_s: float = 10.0,
    message_queue_size: int = 64,
    max_message_size: int = 4 << 20,
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """Connect to ``url`` (``ws://`` or ``wss://``); on exit close the connection and
    its socket, whoever ended it.

    Connecting and the handshake are each bounded by ``connect_timeout_s``
    (:class:`trio_websocket.ConnectionTimeout`); a refusal raises
    :class:`trio_websocket.ConnectionRejected`, a network error :class:`OSError`. The
    connection runs in a nursery: the handshake's errors and those from inside the block
    come out in exception groups, as from any nursery (match them with ``except*``);
    failing to connect raises bare.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a websocket URL: {url!r} (expected ws://HOST/... or wss://...)")
    secure = parts.scheme == "wss"
    host = parts.hostname
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream] | None = None
    with trio.move_on_after(connect_timeout_s):
        if secure:
            stream = await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context(), https_compatible=True
            )
        else:
            stream = await trio.open_tcp_stream(host, port)
    if stream is None:
        raise trio_websocket.ConnectionTimeout(
            f"connecting to {url} took over {connect_timeout_s:g} s"
        )
    async with stream, trio.open_nursery() as nursery:
        ws = None
        with trio.move_on_after(connect_timeout_s):
            ws = await trio_websocket.wrap_client_stream(
                nursery,
                stream,
                host,
                resource,
                extra_headers=list(headers),
                message_queue_size=message_queue_size,
                max_message_size=max_message_size,
            )
        if ws is None:
            raise trio_websocket.ConnectionTimeout(
                f"the handshake with {url} took over {connect_timeout_s:g} s"
            )
        polite = True
        try:
            yield ws
        except* trio.Cancelled:
            # Being stopped: nobody waits for a closing handshake; the socket still
            # closes below.
            polite = False
            raise
        finally:
            if polite:
                with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_TIMEOUT_S):
                    await ws.aclose()
            nursery.cancel_scope.cancel()
