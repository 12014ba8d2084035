"""The market-data feed actor: one websocket connection to one venue.

It connects, subscribes, decodes each frame with the venue's codec and offers every
symbol's newest quote on its strategies' conflating lanes, so a slow strategy never
stalls the feed and always decides on the latest quote. It keeps reading frames all the
time (reading is what answers the venue's pings), sends the venue's app-level ping, and
reconnects with backoff after a drop, a stall (no market data for ``stale_after_s``), a
refused subscription, an upgrade notice, or when the connection reaches
``rotate_after_s`` (venues close connections at 24 h). Health changes (fresh, stale,
reconnecting, resyncing) go to the same strategies, which stop entering while their feed
is not fresh.

Beside health, each connection's liveness (``liveness.py``): live while it has had a
frame of any kind within ``live_within_s``, pinged when quiet so that a healthy one
does. Its changes go to the strategies as ``FeedLiveness``; they enter only while both
legs' connections are live, on quotes received since they last became so.

A venue with funding (Gate.io's perpetuals) gives each symbol's funding rate, its
interval and next settlement at every connection and as they change; each goes to the
symbol's strategies as a ``FundingRateUpdate`` on the conflating lane, like quotes.

With ``depth`` on, quotes come from a local order book kept from the diff stream: a gap
in versions unsyncs the book and publishes nothing for that symbol until a snapshot
resyncs it, from REST or from the stream itself (a venue may push the whole book).
REST snapshots are paced by a token bucket the venue's feeds share (``snapshot_pace``),
below the venue's documented limit for its depth endpoint: a reconnection that unsyncs
every book of a connection, or many connections at once, queues its fetches instead of
spending the venue's allowance in a burst and retrying into its 429s. A 429 that comes
all the same closes the bucket for the ``Retry-After`` the venue asked.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import attrs
import msgspec
import trio

from actors import hot_path
from actors.runtime.market.liveness import ConnectionLiveness
from actors.runtime.market.order_book import OrderBook, Outcome
from actors.runtime.market.reconnect import (
    RECONNECT_BACKOFF,
    SERVED_FOR_S,
    Reconnect,
    stay_connected,
)
from actors.runtime.market.websocket import WebSocket, open_websocket
from actors.runtime.orders.rate_limit import TokenBucket
from actors.venues.rest import VENUE_FAILURES
from protocols.messages import FeedHealth, FeedLiveness, FundingRateUpdate, MarketQuote
from protocols.model import Leg, Quote, Symbol
from protocols.venue import (
    DepthDiff,
    DepthSnapshot,
    FundingRate,
    MalformedMessage,
    Pong,
    SubscriptionResult,
    UpgradeNotice,
    VenueError,
)
from supervision import Address, Backoff, Incarnation

log = logging.getLogger("basis.feed")

RESYNC_RETRY_S = 1.0


class FeedCodec(Protocol):
    """What a feed needs of a venue's market-data websocket."""

    leg: Leg
    ping_interval_s: float
    handshake_headers: Sequence[tuple[bytes, bytes]]

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Load what decoding needs (contract sizes, ...) before connecting; a failure is
        retried like a failed connection."""

    def funding_rates(self, now: float) -> Sequence[FundingRate]:
        """The funding known once ``prepare`` has run (none for spot)."""

    def subscriptions(self, symbols: Sequence[Symbol], depth: bool, now: float) -> list[str]:
        """Subscribe requests; the venue acknowledges each one."""

    def ping(self, now: float) -> str:
        """The app-level keepalive message."""

    def decode(self, frame: str | bytes, recv_ts: float) -> Sequence[Any]:
        """Quotes, depth diffs/snapshots, funding rates, acks, pongs, notices, or
        MalformedMessage."""


_CONNECTING = ("connecting", "reconnecting")
"""States that end once subscribed and data flows; "resyncing" ends with the snapshot."""


@attrs.define
class FeedStatus:
    """What status views show of a feed; counters only grow."""

    state: str = "connecting"
    detail: str = ""
    connects: int = 0
    messages: int = 0
    quotes: int = 0
    malformed: int = 0
    gaps: int = 0
    resyncs: int = 0
    last_data_at: float | None = None
    """Wall-clock time of the last market data."""
    fresh_at: float | None = None
    """Wall-clock time the feed last turned fresh (after connecting or resyncing)."""


class FeedStatistics(msgspec.Struct, frozen=True):
    """What a feed reports of itself (:meth:`Feed.statistics`): its :class:`FeedStatus`
    at one moment, with its name."""

    name: str
    state: str
    """connecting, fresh, reconnecting or resyncing."""
    detail: str
    """Why it is not fresh (empty when it is)."""
    connects: int
    messages: int
    """Frames received, whatever they held."""
    quotes: int
    """Quotes published to strategies."""
    malformed: int
    gaps: int
    resyncs: int
    last_data_at: float | None
    """Wall-clock time of the last market data."""
    fresh_at: float | None
    """Wall-clock time the feed last turned fresh."""


@attrs.define(eq=False)
class Feed:
    name: str
    codec: FeedCodec
    url: str
    subscribers: dict[Symbol, list[Address]]
    """Each symbol's strategy addresses."""
    stale_after_s: float = 10.0
    live_within_s: float = 1.0
    """A connection without a frame for this long is not live (``liveness.py``)."""
    rotate_after_s: float = 23 * 3600.0
    connect_timeout_s: float = 10.0
    backoff: Backoff = RECONNECT_BACKOFF
    served_for_s: float = SERVED_FOR_S
    """How long a connection must go on after it served to start the backoff again."""
    depth: bool = False
    book_levels: int = 10
    """Levels of each side of the local book a depth-mode quote carries (``Quote.depth``)."""
    fetch_snapshot: Callable[[Symbol], Awaitable[DepthSnapshot]] | None = None
    snapshot_pace: TokenBucket | None = None
    """Paces ``fetch_snapshot`` (shared by the venue's feeds); ``None``: unpaced."""
    rng: random.Random = attrs.field(factory=random.Random)
    wall_clock: Callable[[], float] = time.time
    status: FeedStatus = attrs.field(factory=FeedStatus)
    _books: dict[Symbol, OrderBook] = attrs.field(factory=dict)
    _resyncing: set[Symbol] = attrs.field(factory=set)
    _liveness: ConnectionLiveness | None = None
    """The current connection's, while there is one."""
    _told_live_since: float | None = None
    """What the strategies were last told of the liveness (``None``: not live)."""

    def statistics(self) -> FeedStatistics:
        """This feed's state and counters now, as a value that no later change touches."""
        s = self.status
        return FeedStatistics(
            self.name,
            s.state,
            s.detail,
            s.connects,
            s.messages,
            s.quotes,
            s.malformed,
            s.gaps,
            s.resyncs,
            s.last_data_at,
            s.fresh_at,
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """The actor's entry point: ready at once, then connected for as long as it runs."""
        task_status.started()
        # A restarted feed has no connection yet, whatever its last one was.
        self._set_state("reconnecting" if inc.is_restart else "connecting", "")
        with inc.cancel_on_stop():
            await stay_connected(
                self._connection,
                backoff=self.backoff,
                rng=self.rng,
                ended="the connection ended",
                on_down=self._on_down,
                served_for_s=self.served_for_s,
            )

    def _on_down(self, why: str, delay_s: float) -> None:
        self._set_state("reconnecting", why)
        log.warning("%s: reconnecting in %.2f s: %s", self.name, delay_s, why)

    async def _connection(self, served: Callable[[], None]) -> None:
        symbols = list(self.subscribers)
        try:
            await self.codec.prepare(symbols)
        except VENUE_FAILURES as error:
            raise Reconnect(f"cannot load the venue's rules: {error}") from error
        for funding in self.codec.funding_rates(self.wall_clock()):
            self._publish_funding(funding)
        self.status.connects += 1
        try:
            async with open_websocket(
                self.url,
                headers=self.codec.handshake_headers,
                connect_timeout_s=self.connect_timeout_s,
            ) as ws:
                self._books = (
                    {symbol: OrderBook() for symbol in self.subscribers} if self.depth else {}
                )
                self._resyncing.clear()
                requests = self.codec.subscriptions(symbols, self.depth, self.wall_clock())
                for request in requests:
                    await ws.send_message(request)
                log.info(
                    "%s: connected to %s, %d subscriptions", self.name, self.url, len(requests)
                )
                liveness = self._liveness = ConnectionLiveness(self.live_within_s)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._keepalive, ws)
                    nursery.start_soon(liveness.watch, lambda: self._ping(ws), self._tell_live)
                    await self._read(ws, nursery, len(requests), served)
        finally:
            self._liveness = None
            self._tell_live(None)

    async def _keepalive(self, ws: WebSocket) -> None:
        while True:
            await trio.sleep(self.codec.ping_interval_s)
            await self._ping(ws)

    async def _ping(self, ws: WebSocket) -> None:
        await ws.send_message(self.codec.ping(self.wall_clock()))

    # ---------------------------------------------------------------- reading

    async def _read(
        self,
        ws: WebSocket,
        nursery: trio.Nursery,
        pending_acks: int,
        served: Callable[[], None],
    ) -> None:
        """Read frames until the connection must be replaced; ``served()`` once market
        data came (acknowledgements and pongs do not count: the venue may answer those
        and still send no data)."""
        current_time = trio.current_time
        stale_after_s = self.stale_after_s
        rotate_at = current_time() + self.rotate_after_s
        decode = self.codec.decode
        clock = self.wall_clock
        status = self.status
        liveness = self._liveness
        assert liveness is not None
        had_data = False
        last_data = current_time()
        # The stall timer is re-armed only when it fires, from the last data time: moving
        # a cancel scope's deadline on every frame costs more than decoding the frame.
        while current_time() - last_data < stale_after_s:
            with trio.move_on_at(last_data + stale_after_s):
                while True:
                    frame = await ws.get_message()
                    status.messages += 1
                    data = False
                    recv_ts = clock()
                    if liveness.on_frame(recv_ts):
                        self._tell_live(recv_ts)
                    for event in decode(frame, recv_ts):
                        if type(event) is Quote:
                            if not self.depth:
                                self._publish(event)
                            data = True
                        elif isinstance(event, DepthDiff):
                            self._on_diff(event, nursery)
                            data = True
                        elif isinstance(event, DepthSnapshot):
                            self._on_snapshot(event)
                            data = True
                        elif isinstance(event, SubscriptionResult):
                            if not event.ok:
                                raise Reconnect(f"subscription refused: {event.message}")
                            pending_acks -= 1
                        elif type(event) is FundingRate:
                            self._publish_funding(event)
                        elif isinstance(event, UpgradeNotice):
                            raise Reconnect(f"upgrade notice: {event.message}")
                        elif isinstance(event, MalformedMessage):
                            self._on_malformed(event)
                        elif not isinstance(event, Pong):
                            log.debug("%s: ignored %r", self.name, event)
                    if data:
                        last_data = current_time()
                        status.last_data_at = recv_ts
                        if not had_data:
                            had_data = True
                            served()
                        if last_data >= rotate_at:
                            raise Reconnect(
                                f"rotating the connection after {self.rotate_after_s:g} s"
                            )
                    # Data flowing is what makes a feed fresh; an acknowledgement that never
                    # came (a venue may drop it) matters only if no data comes either.
                    if had_data and status.state in _CONNECTING:
                        self._set_state("fresh", "")
        if pending_acks > 0:
            raise Reconnect(f"no subscription answer within {stale_after_s:g} s")
        raise Reconnect(f"stalled: no market data for {stale_after_s:g} s")

    def _publish(self, quote: Quote) -> None:
        self.status.quotes += 1
        leg = self.codec.leg
        message = MarketQuote(leg, quote)
        key = (leg, quote.symbol)
        for address in self.subscribers.get(quote.symbol, ()):
            address.put_latest(key, message)
        hot_path.mark("quote", leg)

    def _publish_funding(self, funding: FundingRate) -> None:
        message = FundingRateUpdate(
            self.wall_clock(), funding.rate, funding.interval_s, funding.next_ts
        )
        key = ("funding", funding.symbol)
        for address in self.subscribers.get(funding.symbol, ()):
            address.put_latest(key, message)

    def _on_malformed(self, event: MalformedMessage) -> None:
        self.status.malformed += 1
        count = self.status.malformed
        # The first few and then every thousandth: a venue that changed its format must be
        # visible without flooding the log.
        if count <= 5 or count % 1000 == 0:
            log.warning(
                "%s: unreadable frame #%d: %s [%s]", self.name, count, event.reason, event.excerpt
            )

    # ------------------------------------------------------------------ depth

    def _on_diff(self, diff: DepthDiff, nursery: trio.Nursery) -> None:
        book = self._books.get(diff.symbol)
        if book is None:
            return
        outcome = book.on_diff(diff)
        if outcome is Outcome.APPLIED:
            self._publish_book(diff.symbol, book, diff.venue_ts)
        elif outcome is Outcome.GAP:
            self.status.gaps += 1
            log.warning(
                "%s: %s depth gap at version %d: resyncing",
                self.name,
                diff.symbol,
                diff.first_version,
            )
            self._resync(diff.symbol, nursery)
        elif outcome is Outcome.BUFFERED:
            self._resync(diff.symbol, nursery)

    def _on_snapshot(self, snapshot: DepthSnapshot) -> None:
        book = self._books.get(snapshot.symbol)
        if book is not None and book.on_snapshot(snapshot) is Outcome.APPLIED:
            self._publish_book(snapshot.symbol, book, self.wall_clock())

    def _publish_book(self, symbol: Symbol, book: OrderBook, venue_ts: float) -> None:
        depth = book.top(self.book_levels)  # one pass per side: the best is its first level
        bid, bid_qty = depth.bids[0] if depth.bids else (0.0, 0.0)
        ask, ask_qty = depth.asks[0] if depth.asks else (0.0, 0.0)
        self._publish(Quote(symbol, bid, bid_qty, ask, ask_qty, venue_ts, self.wall_clock(), depth))

    def _resync(self, symbol: Symbol, nursery: trio.Nursery) -> None:
        if symbol in self._resyncing or self.fetch_snapshot is None:
            return
        self._resyncing.add(symbol)
        # Not fresh from the moment the gap is seen, not from when the fetch first runs:
        # the book publishes nothing until it is synced again, and its last quote must
        # not age meanwhile with the strategies told the feed is fresh.
        self._set_state("resyncing", f"{symbol} depth")
        nursery.start_soon(self._fetch_until_synced, symbol)

    async def _fetch_until_synced(self, symbol: Symbol) -> None:
        assert self.fetch_snapshot is not None
        book = self._books[symbol]
        try:
            while not book.synced:
                if self.snapshot_pace is not None:
                    await self.snapshot_pace.acquire()
                try:
                    snapshot = await self.fetch_snapshot(symbol)
                except VENUE_FAILURES as error:  # the venue or the network: try again shortly
                    log.warning("%s: %s depth snapshot failed: %s", self.name, symbol, error)
                    if (
                        self.snapshot_pace is not None
                        and isinstance(error, VenueError)
                        and error.retry_after_s is not None
                    ):
                        self.snapshot_pace.close_for(error.retry_after_s)
                else:
                    self.status.resyncs += 1
                    if book.on_snapshot(snapshot) is Outcome.APPLIED:
                        self._publish_book(symbol, book, self.wall_clock())
                    if book.synced:  # by this snapshot, or by one the stream pushed meanwhile
                        break
                await trio.sleep(RESYNC_RETRY_S)
        finally:
            self._resyncing.discard(symbol)
        if not self._resyncing:
            self._set_state("fresh", "")

    # ----------------------------------------------------------------- health

    def _tell_live(self, live_since: float | None) -> None:
        """Tell the strategies the connection's liveness, when it changed."""
        if live_since == self._told_live_since:
            return
        self._told_live_since = live_since
        if live_since is None and self._liveness is not None:
            log.info("%s: no frame for %g s: not live", self.name, self.live_within_s)
        message = FeedLiveness(self.codec.leg, live_since)
        sent: set[int] = set()
        for addresses in self.subscribers.values():
            for address in addresses:
                if id(address) not in sent:
                    sent.add(id(address))
                    self.tell_liveness(address, message)

    def tell_liveness(self, address: Address, message: FeedLiveness | None = None) -> None:
        """Offer ``address`` the connection's liveness (a strategy that subscribes while
        the connection is live learns it here)."""
        if message is None:
            message = FeedLiveness(self.codec.leg, self._told_live_since)
        address.put_latest(("live", self.codec.leg), message)

    def _set_state(self, state: str, detail: str) -> None:
        status = self.status
        if (status.state, status.detail) == (state, detail):
            return
        status.state = state
        status.detail = detail
        now = self.wall_clock()
        if state == "fresh":
            status.fresh_at = now
        health = FeedHealth(now, self.codec.leg, state == "fresh", detail or state)
        key = ("health", self.codec.leg)
        sent: set[int] = set()
        for addresses in self.subscribers.values():
            for address in addresses:
                if id(address) not in sent:
                    sent.add(id(address))
                    address.put_latest(key, health)
        if state == "fresh":
            log.info("%s: fresh", self.name)
