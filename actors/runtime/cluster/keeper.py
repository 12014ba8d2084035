"""The lease keeper: this instance's share of a cluster's symbols, held while it is healthy
and let go of as soon as it may not be.

Every ``renew_every_s`` the keeper renews the leases it holds, then claims free symbols up
to its fair share (``LeaseBook.claim``), then hands back what is over its share now that
another instance has joined. A symbol it is granted is traded once the system has taken
it over (the strategy restored from the shared store, the orders of earlier grants looked
up at the venues and cancelled: ``ClusterTrading.start_symbol``); a symbol it hands back
is stopped first and released after, so the next holder finds its last snapshot.

What it knows of its leases it counts on its own clock, never the database's: a lease is
valid here until the moment its renewal was sent plus the lease's length, less
``LEASE_MARGIN_S``, which is never later than the database's expiry (the database counts
from when it received the renewal). So:

- A renewal that fails (the database unreachable, too slow, refusing) stops entries on
  every symbol held at once (``may_enter``); the positions are still managed.
- A symbol whose lease ends here before a renewal succeeded is stopped at that moment, by
  a task of its own that no database call can hold up (``_expiries``).
- A renewal that finds a lease gone (taken over after it expired) stops the symbol at once.

The database refuses every write of a symbol whose lease this instance no longer holds
(``epochs`` is the writer's fence), so whatever it does late, it cannot write over the
next holder; orders that a decision journaled just before the lease ended are checked
against the local lease again before they leave (``holds``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

import attrs
import msgspec
import psycopg
import trio

log = logging.getLogger("basis.cluster")

T = TypeVar("T")

LEASE_MARGIN_S = 0.5
"""How much sooner than the database this instance counts a lease as ended: room for a
renewal's reply travelling back and for the two clocks' rates differing over a lease's
length (parts per million), so that nothing is done under a lease the database has
already given away."""
DB_FAILURES = (psycopg.Error, OSError, trio.TooSlowError)
"""What a database call that did not succeed raises: unreachable, refusing, too slow (the
pool's timeouts are ``psycopg.OperationalError``s). Anything else is a bug and crashes."""
DB_THREADS = 2
"""Worker threads the keeper's database calls may take at once: a renewal is never
queued behind a status read."""


class Grant(Protocol):
    symbol: str
    epoch: int


class Leases(Protocol):
    """The lease table (``leases.LeaseBook``): synchronous calls, made on worker threads."""

    def join(self, name: str, capacity: int) -> str: ...

    def claim(
        self, name: str, symbols: Sequence[str], capacity: int, ttl_s: float
    ) -> Sequence[Grant]: ...

    def renew(self, name: str, held: Mapping[str, int], ttl_s: float) -> Mapping[str, Grant]: ...

    def excess(self, name: str, symbols: Sequence[str], capacity: int, ttl_s: float) -> int: ...

    def release(self, name: str, symbols: Sequence[str], held: Mapping[str, int]) -> None: ...

    def leave(self, name: str, held: Mapping[str, int]) -> None: ...

    def close(self) -> None: ...


class ClusterTrading(Protocol):
    """What the keeper asks of the trading system."""

    async def start_symbol(self, symbol: str, epoch: int) -> bool:
        """Take ``symbol`` over under lease ``epoch`` and trade it; ``False`` when it
        could not be taken over (the lease is then let go of)."""
        ...

    async def stop_symbol(self, symbol: str, *, lease_over: bool) -> None:
        """Stop trading ``symbol``. ``lease_over``: the lease has ended, so nothing waits
        for the store (whose writes of it are refused by now); otherwise the symbol's last
        snapshot is stored before this returns."""
        ...


class ClusterStatistics(msgspec.Struct, frozen=True):
    """This instance in its cluster, for ``/status``."""

    name: str
    instance_id: str | None
    """Its id in the cluster, once joined."""
    held: dict[str, int]
    """Symbol -> the epoch of its lease, for every lease held."""
    lame: list[str]
    """Symbols held whose renewal failed: no entries on them until it succeeds."""
    renewal_failing: str | None
    """Why the last renewal failed, while it does."""
    lease_ttl_s: float
    expires_in_s: dict[str, float]
    """Symbol -> seconds until this instance stops counting its lease as held."""


@attrs.define(eq=False)
class HeldLease:
    epoch: int
    valid_until: float
    """On ``trio.current_time()``: when this instance stops counting the lease as held."""


@attrs.define(eq=False)
class LeaseKeeper:
    leases: Leases
    name: str
    capacity: int
    symbols: tuple[str, ...]
    ttl_s: float
    renew_every_s: float
    trading: ClusterTrading
    held: dict[str, HeldLease] = attrs.field(factory=dict)
    lame: str | None = None
    """Why the last renewal failed, while entries are stopped for it; ``None`` otherwise."""
    instance_id: str | None = None
    """This instance's id in the cluster, once joined."""
    run_sync: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None
    """How a database call is made; by default on a worker thread (``DB_THREADS`` at
    once), abandoned if it outlasts a renewal period."""
    _epochs: Mapping[str, int] = attrs.field(factory=dict)
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _granted: list[tuple[str, int]] = attrs.field(factory=list)
    _to_start: trio.Event = attrs.field(factory=trio.Event)

    # ------------------------------------------------------------- what others read

    def epochs(self) -> Mapping[str, int]:
        """Symbol -> the epoch of its lease, for every lease held: the store's fence, read
        on the writer's thread (a mapping replaced whole on every change, never changed)."""
        return self._epochs

    def may_enter(self, symbol: str) -> bool:
        """Whether a strategy on ``symbol`` may enter now: its lease held and renewing."""
        return self.lame is None and self.holds(symbol)

    def holds(self, symbol: str) -> bool:
        """Whether this instance counts ``symbol``'s lease as held, now."""
        lease = self.held.get(symbol)
        return lease is not None and trio.current_time() < lease.valid_until

    def statistics(self) -> ClusterStatistics:
        now = trio.current_time()
        return ClusterStatistics(
            self.name,
            self.instance_id,
            dict(self._epochs),
            sorted(self.held) if self.lame is not None else [],
            self.lame,
            self.ttl_s,
            {symbol: lease.valid_until - now for symbol, lease in self.held.items()},
        )

    # ------------------------------------------------------------------- running

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Join, then keep the leases until cancelled; hands every symbol back at the end
        (the system has stopped its strategies by then)."""
        while self.instance_id is None:
            try:
                self.instance_id = await self._db(self.leases.join, self.name, self.capacity)
            except DB_FAILURES as error:
                self._lamed(error)
                await trio.sleep(self.renew_every_s)
        self._reached()
        log.info("cluster: joined as %s (instance %s)", self.name, self.instance_id)
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._expiries)
                nursery.start_soon(self._starter)
                while True:
                    await self._round()
                    await trio.sleep(self.renew_every_s)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self.renew_every_s):
                await self._leave()

    async def _db(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` on a worker thread, given up after a renewal period: a call
        that takes longer is as good as failed (its thread is abandoned, and a grant it
        may still make is never renewed, so it lapses)."""
        if self.run_sync is None:
            self.run_sync = partial(
                trio.to_thread.run_sync,
                limiter=trio.CapacityLimiter(DB_THREADS),
                abandon_on_cancel=True,
            )
        with trio.fail_after(self.renew_every_s):
            return await self.run_sync(partial(call, *args))

    async def _round(self) -> None:
        if self.held and not await self._renew():
            return  # nothing claimed while the database cannot be reached
        try:
            sent = trio.current_time()
            grants = await self._db(
                self.leases.claim, self.name, self.symbols, self.capacity, self.ttl_s
            )
            for grant in grants:
                self._hold(grant.symbol, grant.epoch, sent)
                self._granted.append((grant.symbol, grant.epoch))
                self._to_start.set()
            over = await self._db(
                self.leases.excess, self.name, self.symbols, self.capacity, self.ttl_s
            )
        except DB_FAILURES as error:
            self._lamed(error)
            return
        self._reached()
        if over > 0:
            await self._hand_back(over)

    async def _renew(self) -> bool:
        sent = trio.current_time()
        asked = {symbol: lease.epoch for symbol, lease in self.held.items()}
        try:
            still = await self._db(self.leases.renew, self.name, asked, self.ttl_s)
        except DB_FAILURES as error:
            self._lamed(error)
            return False
        self._reached()
        for symbol, epoch in asked.items():
            lease = self.held.get(symbol)
            if lease is None or lease.epoch != epoch:
                continue  # let go of meanwhile
            if symbol in still:
                lease.valid_until = sent + self.ttl_s - LEASE_MARGIN_S
            else:
                await self._lose(symbol, "its lease is no longer this instance's")
        self._changed.set()
        return True

    def _reached(self) -> None:
        if self.lame is not None:
            log.warning("cluster: the leases are reached again (%s before)", self.lame)
            self.lame = None

    def _lamed(self, error: BaseException) -> None:
        cause = str(error) or type(error).__name__
        if isinstance(error, trio.TooSlowError):
            cause = f"the database did not answer within {self.renew_every_s:g} s"
        if self.lame is None:
            log.error(
                "cluster: cannot reach the leases (%s): no entries on %d symbol(s); each "
                "stops trading when its lease ends",
                cause,
                len(self.held),
            )
        self.lame = cause

    def _hold(self, symbol: str, epoch: int, sent: float) -> None:
        self.held[symbol] = HeldLease(epoch, sent + self.ttl_s - LEASE_MARGIN_S)
        self._epochs = {s: lease.epoch for s, lease in self.held.items()}
        self._changed.set()

    def _forget(self, symbol: str) -> HeldLease | None:
        lease = self.held.pop(symbol, None)
        self._epochs = {s: held.epoch for s, held in self.held.items()}
        self._changed.set()
        return lease

    async def _lose(self, symbol: str, why: str) -> None:
        if self._forget(symbol) is None:
            return
        log.error("cluster: %s: %s; stopped trading it", symbol, why)
        await self.trading.stop_symbol(symbol, lease_over=True)

    async def _expiries(self) -> None:
        """Stop each symbol at its lease's end here, whatever the database calls do."""
        while True:
            self._changed = trio.Event()
            now = trio.current_time()
            for symbol, lease in list(self.held.items()):
                if now >= lease.valid_until:
                    await self._lose(symbol, "its lease ended before it could be renewed")
            ends = [lease.valid_until for lease in self.held.values()]
            with trio.move_on_at(min(ends, default=math.inf)):
                await self._changed.wait()

    async def _starter(self) -> None:
        """Take granted symbols over one at a time, apart from the renewals (a takeover
        asks the venues, which may take longer than a renewal period)."""
        while True:
            await self._to_start.wait()
            self._to_start = trio.Event()
            granted, self._granted = self._granted, []
            for symbol, epoch in granted:
                lease = self.held.get(symbol)
                if lease is None or lease.epoch != epoch or not self.holds(symbol):
                    continue  # lost before it started
                log.info("cluster: %s granted (epoch %d); taking it over", symbol, epoch)
                if not await self.trading.start_symbol(symbol, epoch):
                    # Not renewed, it lapses: granted again, it is taken over afresh.
                    self._forget(symbol)

    async def _hand_back(self, count: int) -> None:
        """Give ``count`` symbols back so that the instances hold even shares: each
        stopped, its last snapshot stored, then released."""
        for symbol in sorted(self.held, reverse=True)[:count]:
            epoch = self.held[symbol].epoch
            log.info("cluster: handing %s back (over this instance's share)", symbol)
            await self.trading.stop_symbol(symbol, lease_over=False)
            self._forget(symbol)
            try:
                await self._db(self.leases.release, self.name, [symbol], {symbol: epoch})
            except DB_FAILURES as error:
                # Unreleased, it lapses at the end of its lease instead.
                log.warning("cluster: %s not released (%s); its lease will lapse", symbol, error)

    async def _leave(self) -> None:
        held = dict(self._epochs)
        for symbol in list(self.held):
            self._forget(symbol)
        try:
            await self._db(self.leases.leave, self.name, held)
        except DB_FAILURES as error:
            log.warning("cluster: leases not handed back (%s); they will lapse", error)
        else:
            log.info("cluster: %d symbol(s) handed back", len(held))
