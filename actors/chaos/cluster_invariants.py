"""The promises of a cluster, as pure functions of what a cluster chaos run recorded: the
venues' ledgers, the store's grants (``lease_grants``) and journal (``orders``,
``tasks``), and what each instance's ``/status`` showed.

Times are Unix time on this host: the store's are moved onto it by the offset measured
between the database's clock and this host's (``slack_s`` is what that measurement, and
the venues' clock, may be off by).

1. ``one_holder_at_a_time``: the grants of a symbol never overlap, and every placement
   at a venue carries (in its client id) the epoch of a grant of its symbol and reached
   the venue while that grant ran: a symbol is traded by at most one instance at any
   time, and never by one whose lease ended.
2. ``failover_bounded``: the symbols an instance held when it was killed, frozen or cut
   off were granted again, and a strategy decided on them under the new grant, within
   the bound (the lease's time to live and ``FAILOVER_SLACK_S``) of the fault.
3. ``no_stale_writes``: every order journaled names the grant it was written under, of
   its symbol, and the database took it while that grant ran; every task snapshot names
   a grant of its symbol: no write from a stale epoch was accepted.
4. ``cluster_settled``: after each fault, every symbol was held by one instance and
   traded again within the run's patience.
5. ``instances_held``: no instance ended by itself, none's supervisor gave up, and every
   graceful stop ended cleanly.

The single instance's checks of the ledgers (no client id twice, every venue order
journaled, nothing unhedged beyond its bound) are ``actors.chaos.invariants``'.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from actors.chaos.invariants import InvariantResult, venue_client_id
from actors.chaos.report import percentile
from actors.sim.ledger import LedgerEntry, OrderAccepted, OrderRefused
from protocols.client_ids import parse_client_id, tag_epoch

SHOWN = 3
"""How many instances of a broken promise a detail names."""


class LeaseGrant(msgspec.Struct, frozen=True):
    """One grant of ``lease_grants``: ``symbol`` to ``holder`` under ``epoch``, from
    ``granted_at`` until ``ended_at`` (``None``: never ended)."""

    epoch: int
    symbol: str
    holder: str
    granted_at: float
    ended_at: float | None

    def ran_at(self, at: float, slack_s: float = 0.0) -> bool:
        """Whether the grant ran at ``at`` (within ``slack_s`` of either end)."""
        if at < self.granted_at - slack_s:
            return False
        return self.ended_at is None or at <= self.ended_at + slack_s

    def held_at(self, at: float) -> bool:
        """Whether its holder held it at ``at``: granted by then, not yet ended."""
        return self.granted_at <= at and (self.ended_at is None or at < self.ended_at)


class Placement(msgspec.Struct, frozen=True):
    """An order that reached a venue (accepted or refused there)."""

    venue: str
    client_id: str
    """As the system spelled it (Gate.io's ``t-`` taken off)."""
    symbol: str
    at: float


class WrittenOrder(msgspec.Struct, frozen=True):
    """An order of the journal: the epoch it was written under, and when the database
    took it."""

    client_id: str
    symbol: str
    epoch: int | None
    written_at: float


class TaskRow(msgspec.Struct, frozen=True):
    """A task's snapshot in the store, with the epoch it was last written under."""

    task_id: str
    symbol: str
    epoch: int | None


class FaultAt(msgspec.Struct, frozen=True):
    kind: str
    node: str
    at: float


class TradingSighting(msgspec.Struct, frozen=True):
    """A strategy of ``symbol`` seen deciding on ``node`` under ``epoch``: ``decided_at``
    is when it resumed deciding (its first decision after it started)."""

    symbol: str
    epoch: int
    node: str
    decided_at: float


class Failover(msgspec.Struct, frozen=True):
    """A symbol an instance held when a fault hit it, and how soon it was taken over."""

    kind: str
    node: str
    symbol: str
    epoch: int
    """The grant the fault hit."""
    new_epoch: int | None
    new_holder: str | None
    granted_after_s: float | None
    """From the fault to the next grant of the symbol (``None``: never)."""
    trading_after_s: float | None
    """From the fault to a strategy deciding on it under a later grant (``None``: never)."""


class SettleCheck(msgspec.Struct, frozen=True):
    """Whether every symbol was held and traded again after a fault cleared, and how
    soon."""

    after: str
    cleared_at: float
    settled_after_s: float | None
    """``None``: not within the run's patience."""
    missing: str
    """What was missing when it gave up (empty once settled)."""


class NodeExit(msgspec.Struct, frozen=True):
    node: str
    run: int
    """The instance's process, counted from 1 over the run."""
    code: int | None
    asked: str | None
    """``kill`` (the plan's SIGKILL), ``stop`` (the graceful stop at the end), or
    ``None``: it ended by itself."""


def epoch_of(client_id: str) -> int | None:
    """The lease epoch a client id carries, ``None`` when it carries none."""
    parsed = parse_client_id(client_id)
    if parsed is None or parsed.instance is None:
        return None
    return tag_epoch(parsed.instance)


def placements(ledgers: Mapping[str, Sequence[LedgerEntry]]) -> list[Placement]:
    """Every placement with a client id that reached a venue, in time order."""
    found = []
    for venue, entries in ledgers.items():
        for entry in entries:
            if type(entry) is OrderAccepted and entry.order.client_id:
                order = entry.order
                found.append(
                    Placement(
                        venue,
                        venue_client_id(venue, order.client_id),
                        str(order.symbol),
                        order.created_ts,
                    )
                )
            elif type(entry) is OrderRefused and entry.client_id:
                found.append(
                    Placement(
                        venue,
                        venue_client_id(venue, entry.client_id),
                        str(entry.symbol),
                        entry.ts,
                    )
                )
    return sorted(found, key=lambda p: p.at)


def placements_by_holder(
    found: Iterable[Placement], grants: Iterable[LeaseGrant]
) -> dict[str, int]:
    """How many placements each instance made, by the grant their epoch names (``?``:
    none)."""
    holders = {g.epoch: g.holder for g in grants}
    counted = Counter(holders.get(epoch_of(p.client_id) or 0, "?") for p in found)
    return dict(sorted(counted.items()))


def _by_epoch(grants: Iterable[LeaseGrant]) -> dict[int, LeaseGrant]:
    return {g.epoch: g for g in grants}


def overlapping_grants(grants: Iterable[LeaseGrant]) -> list[str]:
    """Each pair of grants of one symbol that ran at the same time, in words."""
    by_symbol: dict[str, list[LeaseGrant]] = {}
    for grant in grants:
        by_symbol.setdefault(grant.symbol, []).append(grant)
    found = []
    for symbol, held in sorted(by_symbol.items()):
        held.sort(key=lambda g: (g.granted_at, g.epoch))
        for before, after in itertools.pairwise(held):
            if before.epoch > after.epoch:
                found.append(f"{symbol}: epoch {after.epoch} granted after {before.epoch}")
            if before.ended_at is None or before.ended_at > after.granted_at:
                ended = "never ended" if before.ended_at is None else "ran on"
                found.append(
                    f"{symbol}: epoch {before.epoch} ({before.holder}) {ended} when epoch "
                    f"{after.epoch} ({after.holder}) was granted"
                )
    return found


def one_holder_at_a_time(
    found: Sequence[Placement], grants: Sequence[LeaseGrant], slack_s: float
) -> InvariantResult:
    name = "each symbol traded by at most one instance at a time, inside its grant"
    problems = overlapping_grants(grants)
    by_epoch = _by_epoch(grants)
    outside = []
    for placement in found:
        epoch = epoch_of(placement.client_id)
        grant = by_epoch.get(epoch) if epoch is not None else None
        where = f"{placement.client_id} ({placement.symbol} at {placement.venue})"
        if epoch is None:
            outside.append(f"{where} carries no epoch")
        elif grant is None:
            outside.append(f"{where}: epoch {epoch} names no grant")
        elif grant.symbol != placement.symbol:
            outside.append(f"{where}: epoch {epoch} is a grant of {grant.symbol}")
        elif not grant.ran_at(placement.at, slack_s):
            if placement.at < grant.granted_at:
                when = f"{grant.granted_at - placement.at:.3f} s before its grant"
            else:
                assert grant.ended_at is not None
                when = f"{placement.at - grant.ended_at:.3f} s after its grant ended"
            outside.append(f"{where} reached the venue {when} (epoch {epoch}, {grant.holder})")
    if outside:
        problems.append(
            f"{len(outside)} of {len(found)} placements outside a grant of their symbol: "
            + "; ".join(outside[:SHOWN])
        )
    if problems:
        return InvariantResult(name, False, "; ".join(problems))
    symbols = len({g.symbol for g in grants})
    return InvariantResult(
        name,
        True,
        f"{len(found)} placements at the venues, each inside its grant; {len(grants)} grants "
        f"of {symbols} symbols, one at a time per symbol (clocks within {slack_s:.3f} s)",
    )


def failovers(
    faults: Iterable[FaultAt],
    grants: Sequence[LeaseGrant],
    sightings: Iterable[TradingSighting],
    slack_s: float,
) -> list[Failover]:
    """For each fault, each symbol its instance held when it hit, and how soon it was
    granted again and traded under a later grant."""
    by_epoch = _by_epoch(grants)
    seen = list(sightings)
    found = []
    for fault in faults:
        for lost in sorted(grants, key=lambda g: g.symbol):
            if lost.holder != fault.node or not lost.held_at(fault.at):
                continue
            later = [g for g in grants if g.symbol == lost.symbol and g.epoch > lost.epoch]
            successor = min(later, key=lambda g: g.epoch, default=None)
            decided = [
                s.decided_at
                for s in seen
                if s.symbol == lost.symbol
                and s.epoch > lost.epoch
                and s.epoch in by_epoch
                and s.decided_at >= by_epoch[s.epoch].granted_at - slack_s
            ]
            found.append(
                Failover(
                    fault.kind,
                    fault.node,
                    lost.symbol,
                    lost.epoch,
                    successor.epoch if successor else None,
                    successor.holder if successor else None,
                    successor.granted_at - fault.at if successor else None,
                    min(decided) - fault.at if decided else None,
                )
            )
    return found


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    p50 = percentile(values, 0.5)
    return f"p50 {p50:.2f} s, max {max(values):.2f} s"


def failover_bounded(
    faults: Sequence[FaultAt], found: Sequence[Failover], bound_s: float
) -> InvariantResult:
    name = "a dead, frozen or cut-off instance's symbols trading again in time"
    if faults and not found:
        return InvariantResult(
            name, False, f"none of {len(faults)} faults met an instance holding a symbol"
        )
    late = []
    for f in found:
        what = f"{f.symbol} of {f.node} ({f.kind}, epoch {f.epoch})"
        if f.granted_after_s is None:
            late.append(f"{what} never granted again")
        elif f.trading_after_s is None:
            late.append(f"{what} granted again, never traded after")
        elif max(f.granted_after_s, f.trading_after_s) > bound_s:
            late.append(
                f"{what} granted again after {f.granted_after_s:.2f} s, traded after "
                f"{f.trading_after_s:.2f} s"
            )
    granted = [f.granted_after_s for f in found if f.granted_after_s is not None]
    trading = [f.trading_after_s for f in found if f.trading_after_s is not None]
    summary = (
        f"{len(found)} symbols taken over after {len(faults)} faults; granted again "
        f"{_spread(granted)}; trading again {_spread(trading)}; bound {bound_s:g} s"
    )
    if late:
        return InvariantResult(
            name, False, f"{len(late)} late: {'; '.join(late[:SHOWN])}; {summary}"
        )
    return InvariantResult(name, True, summary)


def no_stale_writes(
    orders: Sequence[WrittenOrder], tasks: Sequence[TaskRow], grants: Sequence[LeaseGrant]
) -> InvariantResult:
    name = "no write accepted from a stale epoch"
    by_epoch = _by_epoch(grants)
    problems = []
    for order in orders:
        grant = by_epoch.get(order.epoch) if order.epoch is not None else None
        what = f"order {order.client_id} ({order.symbol})"
        if order.epoch is None:
            problems.append(f"{what} written without an epoch")
        elif grant is None:
            problems.append(f"{what}: epoch {order.epoch} names no grant")
        elif grant.symbol != order.symbol:
            problems.append(f"{what}: epoch {order.epoch} is a grant of {grant.symbol}")
        elif not grant.ran_at(order.written_at):
            if order.written_at < grant.granted_at:
                when = f"{grant.granted_at - order.written_at:.3f} s before its grant"
            else:
                assert grant.ended_at is not None
                when = f"{order.written_at - grant.ended_at:.3f} s after its grant ended"
            problems.append(f"{what} written {when} (epoch {order.epoch}, {grant.holder})")
    for task in tasks:
        grant = by_epoch.get(task.epoch) if task.epoch is not None else None
        what = f"task {task.task_id} ({task.symbol})"
        if task.epoch is None:
            problems.append(f"{what} written without an epoch")
        elif grant is None or grant.symbol != task.symbol:
            problems.append(f"{what}: epoch {task.epoch} is no grant of {task.symbol}")
    if problems:
        return InvariantResult(
            name, False, f"{len(problems)} stale write(s): {'; '.join(problems[:SHOWN])}"
        )
    return InvariantResult(
        name,
        True,
        f"{len(orders)} journaled orders, each written while its grant ran; {len(tasks)} "
        f"task snapshots, each under a grant of its symbol",
    )


def cluster_settled(checks: Sequence[SettleCheck], patience_s: float) -> InvariantResult:
    name = "every symbol held and traded again after each fault"
    if not checks:
        return InvariantResult(name, False, "no check was made: the run never settled")
    failed = [c for c in checks if c.settled_after_s is None]
    if failed:
        listed = "; ".join(f"after {c.after}: {c.missing}" for c in failed[:SHOWN])
        return InvariantResult(
            name, False, f"{len(failed)} of {len(checks)} not settled in {patience_s:g} s: {listed}"
        )
    times = [c.settled_after_s for c in checks if c.settled_after_s is not None]
    return InvariantResult(name, True, f"{len(checks)} checks, settled {_spread(times)}")


def instances_held(exits: Sequence[NodeExit], gave_up: Iterable[str]) -> InvariantResult:
    name = "no instance ended by itself or gave up; every stop clean"
    problems = []
    given_up = sorted(set(gave_up))
    if given_up:
        problems.append(f"gave up: {'; '.join(given_up[:SHOWN])}")
    by_itself = [x for x in exits if x.asked is None]
    if by_itself:
        codes = ", ".join(f"{x.node} run {x.run}: exit {x.code}" for x in by_itself)
        problems.append(f"ended by itself ({codes})")
    unclean = [x for x in exits if x.asked == "stop" and x.code != 0]
    if unclean:
        codes = ", ".join(f"{x.node} run {x.run}: exit {x.code}" for x in unclean)
        problems.append(f"a graceful stop did not end cleanly ({codes})")
    if problems:
        return InvariantResult(name, False, "; ".join(problems))
    kills = sum(1 for x in exits if x.asked == "kill")
    return InvariantResult(
        name, True, f"{len(exits)} process ends: {kills} killed, the rest stopped cleanly"
    )
