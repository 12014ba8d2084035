"""Recovery and reconciliation: what a start does with what an earlier run left.

Read top to bottom, this is the whole of it:

1. **Venues that are new** (paper mode's simulated venues, started for this run) hold none
   of an earlier run's positions: its active tasks are closed as *abandoned*
   (:meth:`Recovery.abandon_previous`) instead of resumed.
2. **Restore** (:meth:`Recovery.restored`): each symbol's newest active task comes back
   from its last snapshot, by task type through a registry (``RESTORERS``), so a store
   written under the older name ``mexc_gateio_arbitrage`` restores the same strategy. A
   snapshot that cannot be decoded, or of a type nobody restores, is quarantined with
   the reason (shown in status and ``basis state``) and the symbol starts afresh.
3. **Positions against the venues** (:meth:`Recovery.contradiction`): a restored task with
   nothing in flight has its positions checked: the spot account may hold more of the
   coin than the task (other holdings), never less; the futures short must match to
   within half a contract (``quarantine.disagreement``), unless another Basis instance
   trades the symbol on this account (its orders show it: :meth:`Recovery.other_instances`),
   in which case the venue's short may also be larger, the rest being taken as the other
   instance's. A task the venues contradict is quarantined (:meth:`Recovery.quarantine`)
   and its symbol waits for the operator: every later start skips it
   (:meth:`Recovery.held`) until ``basis quarantine resolve``.
4. **Orders in flight** (:meth:`Recovery.reconcile_in_flight`): each order the snapshot
   still had in flight is handed to its router as a ``ReconcileOrder``; the router looks
   it up at the venue (by the venue's id when the journal has it, else by client id and,
   failing that, in the venue's order lists), cancels it if still open, and tells the
   strategy what became of it (filled, partly filled, cancelled, or never arrived:
   rejected) before the strategy trades on. Orders a restarted router itself had in
   flight are followed from its own memory (``Router.run``).

Every change to the store goes through the persistence writer; this module only reads it,
on a connection of its own.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TypeVar

import attrs
import msgspec
import trio

from actors.arbitrage.context import (
    FUNDING_CARRY,
    LEGACY_TASK_TYPES,
    SCHEMA_VERSION,
    TASK_TYPE,
    ArbitrageContext,
    LegRules,
)
from actors.runtime.other_instances import OtherInstance, other_instances
from actors.runtime.persistence.source import StoreSource, source_of
from actors.runtime.persistence.store import QuarantineRow, Store, TaskRow
from actors.runtime.persistence.writer import WriterClient
from actors.runtime.quarantine import Holdings, disagreement, venue_holdings
from actors.runtime.retry import retry
from actors.venues.kinds import futures_venue, spot_venue
from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols.messages import ReconcileOrder
from protocols.model import Leg, Symbol
from protocols.venue import ApiCredentials
from supervision import Address, Backoff

log = logging.getLogger("basis.recovery")

T = TypeVar("T")

POSITION_CHECK_ATTEMPTS = 8
POSITION_CHECK_BACKOFF = Backoff(min_s=0.2, max_s=5.0)
"""About 20 s in all: longer than a burst of errors, short enough not to hold up a start."""

_decode_context = msgspec.json.Decoder(ArbitrageContext).decode


def _restorer(task_type: str) -> Callable[[TaskRow], ArbitrageContext]:
    """How a stored task of a registered type restores: as the strategy of
    ``task_type``, under today's name (an older alias is the strategy it always was)."""

    def restore(row: TaskRow) -> ArbitrageContext:
        ctx = _decode_context(row.snapshot)
        if ctx.schema_version > SCHEMA_VERSION:
            raise ValueError(
                f"snapshot schema {ctx.schema_version} is newer than this Basis ({SCHEMA_VERSION})"
            )
        return msgspec.structs.replace(ctx, task_type=task_type)

    return restore


RESTORERS: dict[str, Callable[[TaskRow], ArbitrageContext]] = {
    TASK_TYPE: _restorer(TASK_TYPE),
    FUNDING_CARRY: _restorer(FUNDING_CARRY),
    **{legacy: _restorer(TASK_TYPE) for legacy in LEGACY_TASK_TYPES},
}
"""Each task type's restorer, by the type the store names: a task resumes as the
strategy it was, whatever the configuration now runs on its symbol."""


def stored_record(store: Store, task_id: str | None) -> ArbitrageContext | None:
    """Task ``task_id`` as the store last saw it, whatever its state; ``None`` if there is
    none or it does not restore. Reads only."""
    return record_of(None if task_id is None else store.task(task_id))


def record_of(row: TaskRow | None) -> ArbitrageContext | None:
    """The task ``row`` holds, restored; ``None`` if it does not restore."""
    restorer = None if row is None else RESTORERS.get(row.task_type)
    if row is None or restorer is None:
        return None
    try:
        return restorer(row)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None


@attrs.frozen
class Unrestorable:
    """A stored task that does not restore, and why."""

    row: TaskRow
    reason: str


def restore(
    store: Store, symbol: str, spot_venue: str, futures_venue: str
) -> tuple[ArbitrageContext | None, list[Unrestorable]]:
    """The newest active task trading ``symbol`` on these venues, restored (``None`` if
    there is none), and the records met on the way that do not restore. Reads only."""
    unrestorable: list[Unrestorable] = []
    for row in reversed(store.tasks(active_only=True)):
        if row.symbol != symbol:
            continue
        restorer = RESTORERS.get(row.task_type)
        if restorer is None:
            reason = f"no strategy is registered for task type {row.task_type!r}"
            unrestorable.append(Unrestorable(row, reason))
            continue
        try:
            ctx = restorer(row)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
            unrestorable.append(Unrestorable(row, f"snapshot does not restore: {error}"))
            continue
        if (ctx.spot_venue, ctx.futures_venue) != (spot_venue, futures_venue):
            continue
        log.info("task %s: restored in state %s", ctx.task_id, ctx.state.value)
        return ctx, unrestorable
    return None, unrestorable


@attrs.define(eq=False)
class Recovery:
    """Recovery for one system: its store (read here, written through ``writer``), and
    the venues' REST clients and keys for the position check."""

    store: StoreSource = attrs.field(converter=source_of)
    writer: WriterClient
    rest: Mapping[str, RestClient]
    """Each venue's client, by kind (``actors.venues.kinds``)."""
    credentials: Mapping[str, ApiCredentials]
    """Each venue's keys, by kind."""
    rng: random.Random = attrs.field(factory=random.Random)
    quarantined: list[QuarantineRow] = attrs.field(factory=list)
    """Records recovery could not restore, with the reasons (refreshed as they change)."""
    shared_positions: dict[Symbol, str] = attrs.field(factory=dict)
    """Symbol → what the futures venue holds beyond the restored record, taken as the
    other instances' that trade the symbol on this account."""

    async def abandon_previous(self) -> None:
        """The venues are new: close the tasks an earlier run left active."""
        if not self.store.exists():
            return
        abandoned = await self.writer.abandon_active()
        if abandoned:
            log.warning(
                "%d task(s) from an earlier paper run closed as abandoned: their simulated "
                "venues are gone (run `basis sim` separately to keep venues across runs)",
                abandoned,
            )

    async def restored(
        self, symbol: Symbol, spot_venue: str, futures_venue: str
    ) -> ArbitrageContext | None:
        """``symbol``'s task as the store last saw it, or ``None``; what does not restore
        on the way is quarantined, and holds ``symbol`` (see :meth:`held`)."""

        def read() -> tuple[ArbitrageContext | None, list[Unrestorable], list[QuarantineRow]]:
            with self.store.reading() as store:
                ctx, unrestorable = restore(store, str(symbol), spot_venue, futures_venue)
                return ctx, unrestorable, store.quarantined()

        ctx, unrestorable, self.quarantined = await trio.to_thread.run_sync(read)
        for found in unrestorable:
            log.error("task %s quarantined: %s", found.row.task_id, found.reason)
            # The record held a position nobody can read now: its symbol waits for the
            # operator, as for a record the venues contradict.
            await self.writer.quarantine(
                found.row.task_id, found.reason, found.row.snapshot, found.row.symbol
            )
        if unrestorable:
            await self._read_quarantine()
        return ctx

    async def quarantine(self, ctx: ArbitrageContext, reason: str) -> None:
        """Take a restored task the venues contradict out of trading: its symbol waits for
        the operator, in this run and every later one, until resolved."""
        log.error("task %s quarantined: %s; %s needs the operator", ctx.task_id, reason, ctx.symbol)
        await self.writer.quarantine(
            ctx.task_id, f"contradicts the venues: {reason}", None, str(ctx.symbol)
        )
        await self._read_quarantine()

    async def held(self, symbol: Symbol) -> QuarantineRow | None:
        """The unresolved quarantine that holds ``symbol`` out of trading, if any."""
        return next((q for q in await self.unresolved() if q.symbol == str(symbol)), None)

    async def unresolved(self) -> list[QuarantineRow]:
        """Every quarantine not resolved yet, as the store has it now."""
        await self._read_quarantine()
        return self.quarantined

    async def other_instances(
        self,
        symbol: Symbol,
        rules: LegRules,
        instance: str,
        venues: Mapping[Leg, str],
        earlier: Collection[str] = (),
    ) -> list[OtherInstance]:
        """The other Basis instances whose orders ``symbol``'s open orders and recent
        order history at both venues hold (``venues``: each leg's venue kind), each
        logged with its open orders; those are left alone. Venues that do not answer
        (for about 20 s) or rules not yet known leave it unchecked: none found.
        ``earlier``: the instance parts that name the symbol's earlier leases in a
        cluster: found like the others, but the symbol's own past, not logged as another
        instance's."""
        if not rules.futures.contract_size:
            log.warning("%s: no venue rules yet, other instances' orders not looked for", symbol)
            return []

        async def ask() -> dict[str, list]:
            now = time.time()
            listed = {}
            for leg, venue in ((Leg.SPOT, spot_venue), (Leg.FUTURES, futures_venue)):
                lister = venue(venues[leg]).orders
                leg_rules = rules.spot if leg is Leg.SPOT else rules.futures
                rest, keys = self.rest[venues[leg]], self.credentials[venues[leg]]
                listed[venues[leg]] = await lister(rest, keys, symbol, leg_rules, now)
            return listed

        listed = await self._asked(ask, f"{symbol}: other instances' orders not looked for")
        if listed is None:
            return []
        found = other_instances(instance, str(symbol), listed, time.time())
        for other in (other for other in found if other.instance not in earlier):
            log.warning("%s; this is instance %s", other.describe(), instance)
            for order in other.open_orders:
                log.warning(
                    "%s: open order %s at %s (venue id %s) is Basis instance %s's: "
                    "reported, not touched",
                    symbol,
                    order.client_id,
                    order.venue,
                    order.venue_order_id,
                    other.instance,
                )
        return found

    async def contradiction(
        self, ctx: ArbitrageContext, rules: LegRules, shared_with: Sequence[str] = ()
    ) -> str | None:
        """What the venues hold that the restored ``ctx`` does not say, if anything.

        Checked only when no order was in flight (those are settled by the routers). Like
        is compared with like: the strategy's spot leg is what the account holds after
        fees (a fee taken in the coin is out of it) and includes its dust, the venue's
        figure is the coin held. The spot account may hold more of the coin than the
        strategy (other holdings); never less. The futures short must match to within
        half a contract; where other Basis instances trade the symbol on this account
        (``shared_with``, their ids) it may be larger too, the rest being theirs, which is
        noted in ``shared_positions``; never smaller."""
        self.shared_positions.pop(ctx.symbol, None)
        if ctx.active_orders:
            return None
        if not rules.futures.contract_size:
            log.warning("task %s: no venue rules yet, positions not checked", ctx.task_id)
            return None

        async def ask() -> Holdings:
            spot, futures = ctx.spot_venue, ctx.futures_venue
            return await venue_holdings(
                (spot, self.rest[spot], self.credentials[spot]),
                (futures, self.rest[futures], self.credentials[futures]),
                ctx.symbol,
                rules.futures,
                time.time(),
            )

        holdings = await self._asked(ask, f"task {ctx.task_id}: positions not checked")
        if holdings is None:
            return None
        half_contract = (rules.futures.contract_size or 1e-12) / 2
        excess = holdings.futures_short - ctx.positions.futures.qty
        if shared_with and excess > half_contract:
            # The rest of the short is the other instances': the record answers for its own.
            own = attrs.evolve(holdings, futures_short=ctx.positions.futures.qty)
            found = disagreement(ctx.positions, own, rules, ctx.symbol.base)
            if found is None:
                shared = (
                    f"the futures short is {holdings.futures_short:g} {ctx.symbol.base}, the "
                    f"record says {ctx.positions.futures.qty:g}: the position is shared with "
                    f"instance {', '.join(shared_with)}"
                )
                log.warning("task %s: %s; trading on its own record", ctx.task_id, shared)
                self.shared_positions[ctx.symbol] = shared
            return found
        return disagreement(ctx.positions, holdings, rules, ctx.symbol.base)

    async def _asked(self, ask: Callable[[], Awaitable[T]], undone: str) -> T | None:
        """``ask``'s answer, asked again while the venues fail (about 20 s in all: a venue
        briefly down, erring or rate limiting at start is no reason to stop); ``None`` if
        they never answered, logged as ``undone``."""

        def not_yet(error: Exception) -> None:
            log.warning("%s yet: %s", undone, error)

        try:
            return await retry(
                ask,
                retry_on=VENUE_FAILURES,
                backoff=POSITION_CHECK_BACKOFF,
                rng=self.rng,
                attempts=POSITION_CHECK_ATTEMPTS,
                on_failure=not_yet,
            )
        except VENUE_FAILURES:
            log.error("%s: the venues did not answer %d times", undone, POSITION_CHECK_ATTEMPTS)
            return None

    async def reconcile_in_flight(
        self, ctx: ArbitrageContext, routers: Mapping[Leg, Address]
    ) -> None:
        """Hand each order ``ctx`` had in flight to its router to settle, with the venue's
        id of it when the journal holds the venue's acknowledgement (by that id the venue
        finds it for as long as it keeps it; by client id Gate.io finds it only until a
        minute after it ended); the strategy hears what became of it before it trades on."""

        def venue_ids() -> dict[str, str | None]:
            with self.store.reading() as store:
                return {row.client_id: row.venue_order_id for row in store.orders(ctx.task_id)}

        journaled = await trio.to_thread.run_sync(venue_ids)
        for leg, orders in ctx.active_orders.items():
            for client_id in orders:
                command = ReconcileOrder(
                    Leg(leg), client_id, ctx.symbol, journaled.get(client_id) or None
                )
                await routers[Leg(leg)].send(command)

    async def _read_quarantine(self) -> None:
        def read() -> list[QuarantineRow]:
            with self.store.reading() as store:
                return store.quarantined()

        self.quarantined = await trio.to_thread.run_sync(read)
