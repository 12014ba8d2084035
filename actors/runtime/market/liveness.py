"""Whether one market-data connection is live: heard from within a short bound.

A venue that pushes a symbol's best bid and ask only when it changes may say nothing for
a while on a quiet symbol, so the age of a quote cannot tell a quiet market from a dead
connection. Any frame can: data, an acknowledgement or the answer to an application
ping. A connection is live while its last frame is at most ``bound_s`` old; to keep a
quiet but healthy connection live, it is pinged once it has been quiet for half the
bound, so the venue's answer arrives within the bound unless the connection (or the
venue behind it) has stopped answering. Pings at the websocket protocol level do not
count: a library answers them on its own, even for a venue that sends no data.

Each period of liveness has a start, ``live_since``: a quote received before it was
received before a silence, across which the venue may have changed it unseen.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import attrs
import trio


@attrs.define(eq=False)
class ConnectionLiveness:
    """The liveness of one connection, from when it opens until it ends."""

    bound_s: float
    """The longest a connection may go without a frame and still be live."""
    last_frame: float = -math.inf
    """Trio time of the last frame."""
    live_since: float | None = None
    """Wall-clock time the current live period began; ``None`` while not live (at first,
    until a frame comes)."""
    _heard: trio.Event = attrs.field(factory=trio.Event)
    """Set by the first frame after a silence."""

    def on_frame(self, recv_ts: float) -> bool:
        """Note a frame received now, at wall-clock time ``recv_ts`` (that of the quotes
        it holds); ``True`` when it begins a live period."""
        self.last_frame = trio.current_time()
        if self.live_since is not None:
            return False
        self.live_since = recv_ts
        self._heard.set()
        return True

    async def watch(
        self,
        ping: Callable[[], Awaitable[None]],
        on_change: Callable[[float | None], None],
    ) -> None:
        """Ping the connection once it has been quiet for half the bound, and end its
        live period (``on_change(None)``) once it has been quiet for the whole bound; runs
        until cancelled. A live period's start is told by whoever calls ``on_frame``."""
        half = self.bound_s / 2.0
        while True:
            if self.live_since is None:
                await self._heard.wait()
                continue
            await trio.sleep_until(self.last_frame + half)
            if trio.current_time() - self.last_frame < half:
                continue  # heard from meanwhile
            await ping()
            await trio.sleep_until(self.last_frame + self.bound_s)
            if trio.current_time() - self.last_frame >= self.bound_s:
                self.live_since = None
                self._heard = trio.Event()
                on_change(None)
