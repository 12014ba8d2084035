"""A local order book kept in sync from a REST snapshot and a websocket diff stream.

Both venues publish absolute level quantities (0 deletes a level) in diffs that cover a
range of book versions ``first..last``. Their sync rules (docs/venues.md), in one form:

* until a snapshot arrives, diffs are buffered (a bounded number of them);
* with a snapshot at version ``V``, buffered diffs ending at or before ``V`` are dropped
  and the first applied must cover ``V + 1``;
* after that each diff must start at most one past the last applied version; one that
  starts later means updates were lost: a gap, and the book must be resynced from a new
  snapshot. A diff entirely at or before the last version is a harmless repeat;
* a snapshot may also come on the stream (Gate.io's ``full: true`` update): it replaces
  the whole book, unless the book is already at or past its version.

Pure: no I/O, no clock. The feed fetches snapshots and decides when to resync.

The feed asks for the top levels after every diff: each side's are kept until a change
reaches them (a level at or better than the worst one kept, or any change while the side
has fewer levels than asked), so a diff deep in the book rebuilds nothing.
"""

from __future__ import annotations

import enum
import math
from collections import deque

from protocols.model import BookDepth
from protocols.venue import BookLevel, DepthDiff, DepthSnapshot

MAX_BUFFERED_DIFFS = 1000


class Outcome(enum.Enum):
    APPLIED = "applied"
    BUFFERED = "buffered"
    """Waiting for a snapshot."""
    REPEAT = "repeat"
    """Already covered by the book; ignored."""
    GAP = "gap"
    """Versions were skipped: fetch a new snapshot (the book is unsynced until then)."""


class OrderBook:
    def __init__(self) -> None:
        self.version: int | None = None
        """The last version applied; ``None`` while unsynced."""
        self.bids: dict[float, float] = {}
        """Price to quantity; changed only by the book itself (the top levels kept rely
        on it)."""
        self.asks: dict[float, float] = {}
        self._buffer: deque[DepthDiff] = deque(maxlen=MAX_BUFFERED_DIFFS)
        self.gaps = 0
        self._top_levels = -1
        """How many levels of each side ``_top_bids`` and ``_top_asks`` hold at most."""
        self._top_bids: tuple[tuple[float, float], ...] | None = None
        """The best bids as ``top`` last gave them; ``None`` once a change reached them."""
        self._top_asks: tuple[tuple[float, float], ...] | None = None
        self._bid_edge = math.inf
        """A bid change at or above this price reaches ``_top_bids``."""
        self._ask_edge = -math.inf
        """An ask change at or below this price reaches ``_top_asks``."""
        self._depth: BookDepth | None = None
        """``top``'s last answer, while neither side's top levels changed."""

    @property
    def synced(self) -> bool:
        return self.version is not None

    def on_diff(self, diff: DepthDiff) -> Outcome:
        if self.version is None:
            self._buffer.append(diff)
            return Outcome.BUFFERED
        if diff.last_version <= self.version:
            return Outcome.REPEAT
        if diff.first_version > self.version + 1:
            self._lose_sync()
            self._buffer.append(diff)
            return Outcome.GAP
        self._apply(diff)
        return Outcome.APPLIED

    def on_snapshot(self, snapshot: DepthSnapshot) -> Outcome:
        """Start from ``snapshot`` and replay what was buffered after it. ``GAP`` if the
        buffer does not connect to it (the snapshot is older than the stream has moved
        on, or a diff is missing): fetch another. ``REPEAT`` if the book is synced at or
        past the snapshot's version already (a fetched snapshot that a newer one from the
        stream overtook)."""
        if self.version is not None and snapshot.version <= self.version:
            return Outcome.REPEAT
        self.bids = {level.price: level.qty for level in snapshot.bids if level.qty > 0.0}
        self.asks = {level.price: level.qty for level in snapshot.asks if level.qty > 0.0}
        self._forget_top()
        self.version = snapshot.version
        buffered, self._buffer = self._buffer, deque(maxlen=MAX_BUFFERED_DIFFS)
        for diff in buffered:
            if self.on_diff(diff) is Outcome.GAP:
                self._buffer.extend(d for d in buffered if d.first_version > diff.first_version)
                return Outcome.GAP
        return Outcome.APPLIED

    def _lose_sync(self) -> None:
        self.gaps += 1
        self.version = None
        self.bids.clear()
        self.asks.clear()
        self._forget_top()

    def _forget_top(self) -> None:
        self._top_bids = self._top_asks = self._depth = None

    def _apply(self, diff: DepthDiff) -> None:
        if diff.bids:
            if self._top_bids is not None:
                edge = self._bid_edge
                for level in diff.bids:
                    if level.price >= edge:
                        self._top_bids = self._depth = None
                        break
            _update(self.bids, diff.bids)
        if diff.asks:
            if self._top_asks is not None:
                edge = self._ask_edge
                for level in diff.asks:
                    if level.price <= edge:
                        self._top_asks = self._depth = None
                        break
            _update(self.asks, diff.asks)
        self.version = diff.last_version

    def best(self) -> tuple[float, float, float, float]:
        """(bid, bid_qty, ask, ask_qty); an empty side is (0, 0)."""
        bid = max(self.bids) if self.bids else 0.0
        ask = min(self.asks) if self.asks else 0.0
        return bid, self.bids.get(bid, 0.0), ask, self.asks.get(ask, 0.0)

    def top(self, levels: int) -> BookDepth:
        """The best ``levels`` levels of each side, best first."""
        if levels != self._top_levels:
            self._top_levels = levels
            self._forget_top()
        depth = self._depth
        if depth is not None:
            return depth
        bids = self._top_bids
        if bids is None:
            # Sorting the whole side in C beats a partial sort in Python at book sizes.
            bids = self._top_bids = tuple(sorted(self.bids.items(), reverse=True)[:levels])
            # Any change reaches a side with fewer levels than asked.
            self._bid_edge = bids[-1][0] if bids and len(bids) == levels else -math.inf
        asks = self._top_asks
        if asks is None:
            asks = self._top_asks = tuple(sorted(self.asks.items())[:levels])
            self._ask_edge = asks[-1][0] if asks and len(asks) == levels else math.inf
        depth = self._depth = BookDepth(bids, asks)
        return depth


def _update(side: dict[float, float], levels: tuple[BookLevel, ...]) -> None:
    for level in levels:
        qty = level.qty
        if qty > 0.0:
            side[level.price] = qty
        else:
            side.pop(level.price, None)
