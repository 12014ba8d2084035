"""Keeping a websocket connection up: connect, run until it ends, wait, connect again.

The market-data feed and a router's private stream share this loop; each says what a
connection is and what to do when one goes down.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import NoReturn

import trio

from actors.runtime.market.websocket import (
    HandshakeFailed,
    HandshakeRejected,
    HandshakeTimedOut,
    WebSocketClosed,
)
from supervision import Backoff

RECONNECT_BACKOFF = Backoff(min_s=0.2, max_s=5.0)
"""The feeds' and private streams' delays between connections: 0.2 s after a connection
that served, doubling while the venue refuses us or never serves, up to 5 s. Neither
venue's documentation sets a limit on connection attempts; one attempt per connection
every 5 s at most keeps a venue that is down from being pressed, and a venue back from
an outage is noticed within 5 s (2.5 s on average, measured in ``bench/RESULTS.md``)."""


SERVED_FOR_S = 1.0
"""How long a connection must go on after it served for its end to start the count of
reconnections again: a venue that drops every connection as soon as it has served it
(a subscription limit, say) is still asked less and less often."""


class Reconnect(Exception):
    """The connection must be replaced; the message says why."""


RECOVERABLE = (
    Reconnect,
    HandshakeFailed,
    WebSocketClosed,
    OSError,
)
"""What ends a connection that a new one may cure: a reason of our own, a refused or
failed handshake, a closed connection, a network error."""


async def stay_connected(
    connection: Callable[[Callable[[], None]], Awaitable[object]],
    *,
    backoff: Backoff,
    rng: random.Random,
    ended: str,
    on_down: Callable[[str, float], object],
    served_for_s: float = SERVED_FOR_S,
) -> NoReturn:
    """Await ``connection(served)`` again and again, until cancelled.

    Each time it ends, the loop says why — ``ended`` when it returned, the
    :func:`why_reconnect` of its errors when it raised only :data:`RECOVERABLE` ones —
    calls ``on_down(why, delay_s)`` and waits ``delay_s`` before connecting again. The
    ``n``-th consecutive reconnection (``n`` from 0) waits ``backoff.delay(n, rng)``.

    A connection calls ``served()`` once it has shown that the venue serves us (the
    feed: market data arrived; a private stream: its subscriptions were acknowledged);
    a connection that then went on for ``served_for_s`` or longer starts the count
    again from 0: a venue that drops a working connection is asked again at once (after
    the backoff's shortest delay), however often it did so before. A venue that refuses
    us, accepts and then drops or starves the connection before serving it, or drops it
    as soon as it served, is asked less and less often, up to ``backoff.max_s`` apart.

    Anything else ``connection()`` raises propagates — a cancellation, a bug — even when
    it comes in one exception group with recoverable errors. A loop being cancelled
    neither reports the connection down nor waits: a stop can surface as a failed close,
    which is no reason to reconnect.
    """
    attempt = 0
    served_at: float | None = None

    def served() -> None:
        nonlocal served_at
        served_at = trio.current_time()

    while True:
        why = ended
        served_at = None
        try:
            await connection(served)
        except* RECOVERABLE as group:
            why = why_reconnect(group)
        await trio.lowlevel.checkpoint_if_cancelled()
        if served_at is not None and trio.current_time() - served_at >= served_for_s:
            attempt = 0
        delay_s = backoff.delay(attempt, rng)
        attempt += 1
        on_down(why, delay_s)
        await trio.sleep(delay_s)


def why_reconnect(error: BaseException) -> str:
    """Why a connection ended, in words, for an error of a :data:`RECOVERABLE` kind; for
    an exception group, each of its errors, joined by ``"; "``."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(why_reconnect(inner) for inner in error.exceptions)
    if isinstance(error, Reconnect):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot connect: {error.strerror or error}"
    if isinstance(error, WebSocketClosed):
        said = f": {error.reason}" if error.reason else ""
        return f"connection closed ({error.code} {error.name}{said})"
    if isinstance(error, HandshakeRejected):
        return f"connection rejected with HTTP {error.status_code}"
    if isinstance(error, HandshakeTimedOut):
        return "connection timed out"
    return f"handshake failed: {error!r}"
