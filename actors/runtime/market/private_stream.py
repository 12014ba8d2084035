"""A router's private websocket: the venue's own reports of our orders and trades.

While it is up, order state follows it and the router polls only as a safety net; while
it is down, the router polls at full rate. It reconnects with backoff after a drop, a
stall (no frame, not even a pong, for ``stale_after_s``), a refused subscription or an
upgrade notice, and renews what the venue needs renewed (MEXC's listen key).

A venue that closes every connection after a while (``codec.max_lifetime_s``: Binance's
and MEXC's 24 hours) never gets to: ``renew_before_s`` ahead of it, the stream opens and
subscribes a new connection while the old one still reads, and closes the old one
``OVERLAP_S`` after the new one is subscribed. The stream stays up throughout, so the
router never falls back to polling for it; a report both connections carry while they
overlap is handed over once.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import attrs
import msgspec
import trio

from actors.runtime.market.reconnect import (
    RECONNECT_BACKOFF,
    SERVED_FOR_S,
    Reconnect,
    stay_connected,
)
from actors.runtime.market.websocket import WebSocket, open_websocket
from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols.venue import (
    FuturesPosition,
    MalformedMessage,
    OrderUpdate,
    PositionReducedByVenue,
    SubscriptionResult,
    Trade,
    UpgradeNotice,
)
from supervision import Backoff

log = logging.getLogger("basis.private")

OVERLAP_S = 5.0
"""How long the old connection still reads once the new one is subscribed: a report the
venue sent on it just before is not lost on its way, whichever connection is slower."""
HANDOVER_S = 60.0
"""How long after the old connection closed a report may still come twice: the old
connection's copy was read, the new one's is still on its way."""


class PrivateStreamCodec(Protocol):
    """A venue's private stream. Each connection uses a copy of the codec, so what a
    codec keeps (a listen key, a subscription id) is its connection's, and two
    connections can overlap."""

    ping_interval_s: float
    renew_interval_s: float | None
    max_lifetime_s: float | None
    """How long the venue lets a connection live before it closes it (``None``: it
    documents no limit)."""
    handshake_headers: Sequence[tuple[bytes, bytes]]

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        """The URL to connect to (MEXC first creates a listen key)."""

    async def renew(self, rest: RestClient, now: float) -> None:
        """Keep the stream's credentials alive (MEXC extends its listen key)."""

    def subscriptions(self, now: float) -> list[str]: ...

    def ping(self, now: float) -> str: ...

    def decode(self, frame: str | bytes, recv_ts: float) -> Sequence[Any]: ...


class PrivateStreamStatistics(msgspec.Struct, frozen=True):
    """What a private stream reports of itself (:meth:`PrivateStream.statistics`)."""

    name: str
    up: bool
    """Subscribed and reading: order state follows the stream."""
    connects: int
    last_reason: str
    """Why it last went down (empty if it never did)."""


@attrs.define(eq=False)
class PrivateStream:
    name: str
    codec: PrivateStreamCodec
    rest: RestClient
    ws_url: str
    on_order: Callable[[OrderUpdate], Awaitable[None]]
    on_trade: Callable[[Trade], Awaitable[None]]
    on_position: Callable[[FuturesPosition], None] | None = None
    """Told each position the venue pushes, as it is read (it must not wait)."""
    on_reduction: Callable[[PositionReducedByVenue], None] | None = None
    """Told each reduction the venue reports having made by itself (a liquidation, an
    auto-deleveraging), as it is read (it must not wait)."""
    stale_after_s: float = 60.0
    backoff: Backoff = RECONNECT_BACKOFF
    served_for_s: float = SERVED_FOR_S
    """How long a connection must go on after it served to start the backoff again."""
    renew_before_s: float = 3600.0
    """How long before the venue's ``max_lifetime_s`` the connection is replaced."""
    rng: random.Random = attrs.field(factory=random.Random)
    wall_clock: Callable[[], float] = time.time
    up: bool = False
    connects: int = 0
    last_reason: str = ""
    _reports: trio.MemorySendChannel[OrderUpdate | Trade] = attrs.field(init=False)
    """Where the reading hands the venue's reports to :meth:`_hand_over`."""
    _handover: dict[Any, int] = attrs.field(init=False, factory=dict)
    """While two connections overlap and for ``HANDOVER_S`` after: each report passed
    on, and the connection it came by."""
    _handover_until: float = attrs.field(init=False, default=-math.inf)

    def statistics(self) -> PrivateStreamStatistics:
        """This stream's state now, as a value that no later change touches."""
        return PrivateStreamStatistics(self.name, self.up, self.connects, self.last_reason)

    async def run(self) -> None:
        """Keep the stream connected until cancelled. Reports are handed over in the order
        they came, one at a time, by a task of their own: handling one may wait on the
        venue (a lookup of its fees), and the stream keeps reading meanwhile, so its
        stall clock counts only the venue's silence, and reports queued across a
        reconnect are still handed over."""
        send, receive = trio.open_memory_channel[OrderUpdate | Trade](math.inf)
        self._reports = send
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._hand_over, receive)
            await stay_connected(
                self._connection,
                backoff=self.backoff,
                rng=self.rng,
                ended="the stream ended",
                on_down=self._on_down,
                served_for_s=self.served_for_s,
            )

    async def _hand_over(self, reports: trio.MemoryReceiveChannel[OrderUpdate | Trade]) -> None:
        async for report in reports:
            if isinstance(report, OrderUpdate):
                await self.on_order(report)
            else:
                await self.on_trade(report)

    def _on_down(self, why: str, delay_s: float) -> None:
        self.up = False
        self.last_reason = why
        log.warning("%s: private stream down (%s); reconnecting in %.2f s", self.name, why, delay_s)

    async def _connection(self, served: Callable[[], None]) -> None:
        """One connection, and each that replaces it before the venue would close it."""
        async with trio.open_nursery() as nursery:
            number = 1
            opened_at = trio.current_time()
            current = await nursery.start(self._serve, served, number)
            lifetime_s = self.codec.max_lifetime_s
            while lifetime_s is not None:
                await trio.sleep_until(opened_at + max(lifetime_s - self.renew_before_s, 0.0))
                number += 1
                log.info(
                    "%s: replacing the private stream's connection before the venue "
                    "closes it (%g s)",
                    self.name,
                    lifetime_s,
                )
                self._handover.clear()
                self._handover_until = math.inf
                opened_at = trio.current_time()
                successor = await nursery.start(self._serve, served, number)
                await trio.sleep(OVERLAP_S)
                current.cancel()
                self._handover_until = trio.current_time() + HANDOVER_S
                current = successor

    async def _serve(
        self,
        served: Callable[[], None],
        number: int,
        *,
        task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connection ``number``, started once subscribed with the scope that closes it."""
        codec = copy.copy(self.codec)
        try:
            url = await codec.open_url(self.rest, self.ws_url, self.wall_clock())
        except VENUE_FAILURES as error:
            raise Reconnect(f"cannot open the private stream: {error}") from error
        self.connects += 1
        async with open_websocket(url, headers=codec.handshake_headers) as ws:
            requests = codec.subscriptions(self.wall_clock())
            for request in requests:
                await ws.send_message(request)
            # Cancelled when replaced: the reading stops, and the connection is closed
            # with the closing handshake.
            with trio.CancelScope() as scope:

                def subscribed() -> None:
                    served()
                    task_status.started(scope)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._keepalive, ws, codec)
                    if codec.renew_interval_s is not None:
                        nursery.start_soon(self._renew, codec, codec.renew_interval_s)
                    await self._read(ws, codec, number, len(requests), subscribed)

    async def _keepalive(self, ws: WebSocket, codec: PrivateStreamCodec) -> None:
        while True:
            await trio.sleep(codec.ping_interval_s)
            await ws.send_message(codec.ping(self.wall_clock()))

    async def _renew(self, codec: PrivateStreamCodec, interval_s: float) -> None:
        while True:
            await trio.sleep(interval_s)
            try:
                await codec.renew(self.rest, self.wall_clock())
            except VENUE_FAILURES as error:
                raise Reconnect(f"cannot renew the private stream: {error}") from error

    def _first_copy(self, event: Any, number: int) -> bool:
        """Whether ``event``, read on connection ``number``, is new: not the copy of
        one another connection already passed on while they overlapped."""
        if trio.current_time() >= self._handover_until:
            self._handover.clear()
            return True
        other = self._handover.pop(event, None)
        if other is not None and other != number:
            return False
        self._handover[event] = number
        return True

    async def _read(
        self,
        ws: WebSocket,
        codec: PrivateStreamCodec,
        number: int,
        pending_acks: int,
        subscribed: Callable[[], None],
    ) -> None:
        """Read connection ``number``'s frames until it must be replaced;
        ``subscribed()`` once every subscription was acknowledged: a private stream
        carries data only when we trade, so being subscribed is what shows the venue
        serves it."""
        stall = trio.CancelScope(deadline=trio.current_time() + self.stale_after_s)
        with stall:
            while True:
                frame = await ws.get_message()
                stall.deadline = trio.current_time() + self.stale_after_s
                for event in codec.decode(frame, self.wall_clock()):
                    if isinstance(event, (OrderUpdate, Trade)):
                        if self._first_copy(event, number):
                            self._reports.send_nowait(event)
                    elif isinstance(event, FuturesPosition):
                        if self.on_position is not None:
                            self.on_position(event)
                    elif isinstance(event, PositionReducedByVenue):
                        if self.on_reduction is not None and self._first_copy(event, number):
                            self.on_reduction(event)
                    elif isinstance(event, SubscriptionResult):
                        if not event.ok:
                            raise Reconnect(f"private subscription refused: {event.message}")
                        pending_acks -= 1
                        if pending_acks == 0:
                            if not self.up:
                                log.info("%s: private stream up", self.name)
                            self.up = True
                            subscribed()
                    elif isinstance(event, UpgradeNotice):
                        raise Reconnect(f"upgrade notice: {event.message}")
                    elif isinstance(event, MalformedMessage):
                        log.warning("%s: unreadable private frame: %s", self.name, event.reason)
        raise Reconnect(f"private stream silent for {self.stale_after_s:g} s")
