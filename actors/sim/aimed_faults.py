"""Order faults that wait for their target (chaos runs).

A switch such as ``reject_orders(n)`` hits whatever placements come next, so a fault
switched on while no order is in flight hits nothing. An *aimed* fault is armed with a
target and a deadline instead: it fires on the first order placement that matches the
target, or expires unmet at the deadline. Meeting its target is not yet a hit: the venue
lands the fault (:meth:`Meeting.land`) only once its effect happened (the order was
refused, part-filled, accepted and left unanswered), and otherwise leaves it armed for
the next matching placement, so a hit always means the path was exercised.

The simulated venues share one :class:`AimedFaults`, so it sees both legs of a
task's orders. It reads what an order is from its client id (``protocols.client_ids``:
task, order number, leg) and its side, as the strategy sends them (docs/strategy.md):

- an **entry** is a pair decided at once: spot BUY number ``k`` and futures SELL number
  ``k + 1`` of one task. Of the two, the leg that reaches its venue first is the
  **first** leg, the other the **second**;
- an **exit** is the pair spot SELL ``k``, futures BUY ``k + 1``;
- a **correction** is an order alone: its partner number on the other leg, same
  direction, never arrives within :data:`PAIR_WINDOW_S` of it. Finishing a lagging entry
  leg buys spot or sells futures like an entry, trimming or closing after an exit sells
  spot or buys futures like an exit, but neither is one; so is an exit with one leg left
  as dust, which sends one order. An order whose partner arrived too long before it
  (another round's) is alone too.

Whether an order that arrives first has a partner shows only when (and if) the partner
arrives. So while a fault waits for a first leg or a correction on a venue, an order
there whose partner has not arrived is held up to :data:`PAIR_WINDOW_S` for it: an entry's
legs leave in one decision and arrive milliseconds apart, and a correction, alone, is
answered that much later. Orders that no armed fault could match are never held.

Which leg of an entry arrives first is up to the trading process (it sends the spot leg
first, which nearly always arrives first), so a fault waiting for the other order of
arrival would wait in vain. When the oldest fault armed for one leg of an entry at either
venue of the order's pair wants the leg arriving now to be the second (or its partner to
be the first), this leg is held, up to :data:`PAIR_WINDOW_S`, until its partner has
arrived, and counts as arriving after it: what a fault aims at is which leg its venue
acts on first. (A fault at a venue the order's symbol does not trade at has no say: with
several pairs, the oldest fault is often another pair's.)

An order sent again under the same client id (after a 429, or a 5xx and a lookup that
did not find it) is the same order: it keeps what it was, and a fault still waiting for
that kind of order may meet the resend. Time is trio's clock.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterator

import attrs
import msgspec
import trio

from actors.sim.venues import leg_of
from protocols.client_ids import parse_client_id
from protocols.model import Leg, Side, Symbol
from protocols.venue import VenueError

PAIR_WINDOW_S = 0.5
"""How far apart the two orders of one decision may reach their venues: far more than
the milliseconds they take apart, far less than a round of orders takes (a correction
comes after the round before it ended, and after new quotes)."""
SEEN_FOR_S = 120.0
"""How long an arrival is remembered: a resend comes within seconds."""


class Role(enum.Enum):
    ENTRY = "entry"
    EXIT = "exit"
    CORRECTION = "correction"


class Arrival(enum.Enum):
    """Which of a pair's two orders reached its venue first."""

    FIRST = "first"
    SECOND = "second"


class OrderFaultKind(enum.Enum):
    REJECT = "reject"
    """Refused by the engine (noted in the ledger), nothing accepted."""
    PARTIAL_FILL = "partial_fill"
    """Each matching pass of the order gives at most ``fraction`` of it."""
    TIMEOUT = "timeout"
    """Accepted by the engine, the answer never comes: the connection is held
    ``hold_s`` and closed."""
    SERVER_ERROR = "server_error"
    """Answered 5xx before the engine sees it; the next ``count - 1`` requests to the
    venue, whatever they are, too."""
    RATE_LIMIT = "rate_limit"
    """Answered 429 asking for ``retry_after_s``; the next ``count - 1`` requests too."""


@attrs.frozen
class OrderTarget:
    """The placement an aimed fault waits for: on ``venue``, an order of ``role``, and
    (``None``: either) the ``arrival`` of its pair it is."""

    venue: str
    role: Role
    arrival: Arrival | None = None

    def __attrs_post_init__(self) -> None:
        if self.role is Role.CORRECTION and self.arrival is not None:
            raise ValueError("a correction is one order: it has no first or second leg")

    def matches(self, venue: str, role: Role, arrival: Arrival | None) -> bool:
        return (
            venue == self.venue
            and role is self.role
            and (self.arrival is None or arrival is self.arrival)
        )

    def describe(self) -> str:
        leg = f" {self.arrival.value} leg" if self.arrival else ""
        return f"{self.role.value}{leg} at {self.venue}"


@attrs.frozen
class OrderFault:
    """What an aimed fault does to the placement it meets (see :class:`OrderFaultKind`)."""

    kind: OrderFaultKind
    error: type[VenueError] | None = None
    """The refusal a reject raises."""
    fraction: float = 0.0
    hold_s: float = 0.0
    retry_after_s: float = 1.0
    count: int = 1

    def __attrs_post_init__(self) -> None:
        kind = self.kind
        if kind is OrderFaultKind.REJECT and self.error is None:
            raise ValueError("a reject needs the error it refuses with")
        if kind is OrderFaultKind.PARTIAL_FILL and not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"partial fill: fraction {self.fraction} must be in [0, 1)")
        if self.hold_s < 0.0 or self.retry_after_s <= 0.0 or self.count < 1:
            raise ValueError(
                f"hold_s {self.hold_s} must be >= 0, retry_after_s {self.retry_after_s} "
                f"> 0 and count {self.count} >= 1"
            )


class OrderHit(msgspec.Struct, frozen=True):
    """The placement an aimed fault met."""

    client_id: str
    venue: str
    role: Role
    arrival: Arrival | None
    after_s: float
    """From arming to the hit."""

    def describe(self) -> str:
        leg = f", {self.arrival.value} leg" if self.arrival else ""
        return f"{self.client_id} at {self.venue} ({self.role.value}{leg})"


@attrs.define(eq=False)
class AimedFault:
    """One armed fault: open until it hits or its ``deadline`` (trio time) passes."""

    target: OrderTarget
    fault: OrderFault
    armed_at: float
    deadline: float
    hit: OrderHit | None = None
    _closed: bool = False
    _done: trio.Event = attrs.field(factory=trio.Event)

    @property
    def open(self) -> bool:
        return not self._closed and trio.current_time() < self.deadline

    async def outcome(self) -> OrderHit | None:
        """Wait until the fault hits or its deadline passes; what it hit, or ``None``
        when it expired unmet."""
        with trio.move_on_at(self.deadline):
            await self._done.wait()
        self.close()
        return self.hit

    def close(self) -> None:
        """Disarm: from now on the fault meets nothing."""
        self._closed = True
        self._done.set()

    def _fire(self, hit: OrderHit) -> None:
        self.hit = hit
        self.close()


@attrs.frozen
class Meeting:
    """An armed fault and the placement that matched its target, not yet a hit."""

    aimed: AimedFault
    hit: OrderHit

    @property
    def fault(self) -> OrderFault:
        return self.aimed.fault

    def land(self) -> None:
        """The fault's effect happened: it hit. Call it with no checkpoint since the
        meeting (the fault is still open, and another placement could meet it)."""
        self.aimed._fire(self.hit)


_Key = tuple[str, str | None, int, Leg]
"""An order of Basis: task, instance, order number, leg."""


@attrs.define
class _Seen:
    number: int
    """Arrival order, for ties on the clock."""
    at: float
    opening: bool
    """Spot BUY or futures SELL (the direction of an entry)."""


@attrs.define
class AimedFaults:
    """The armed faults of every venue, and the orders that reached them."""

    pair_of: Callable[[Symbol], tuple[str, str]] | None = None
    """The spot and futures venue a symbol trades at, by name (``None``: one pair of
    venues, which every symbol trades at)."""
    _armed: list[AimedFault] = attrs.field(factory=list, init=False)
    _seen: dict[_Key, _Seen] = attrs.field(factory=dict, init=False)
    _waiting: dict[_Key, trio.Event] = attrs.field(factory=dict, init=False)
    _numbers: Iterator[int] = attrs.field(factory=itertools.count, init=False)

    def arm(self, target: OrderTarget, fault: OrderFault, waits_s: float) -> AimedFault:
        """Arm ``fault`` for the first placement matching ``target`` within ``waits_s``."""
        if not waits_s > 0.0:
            raise ValueError(f"arm: waits_s {waits_s} must be > 0")
        now = trio.current_time()
        aimed = AimedFault(target, fault, now, now + waits_s)
        self._armed.append(aimed)
        return aimed

    def clear(self) -> None:
        """Disarm every fault."""
        for aimed in self._armed:
            aimed.close()
        self._armed.clear()

    @property
    def armed(self) -> list[AimedFault]:
        """The faults still waiting, oldest first."""
        self._armed = [a for a in self._armed if a.open]
        return list(self._armed)

    async def meet(self, venue: str, client_id: str, side: Side, symbol: Symbol) -> Meeting | None:
        """A placement of ``client_id`` (Basis's id, as ``protocols.client_ids`` makes
        it) on ``side`` of ``symbol`` reached ``venue``: the armed fault it meets, which
        hits only when the caller lands it, or ``None``. May hold the placement up to
        :data:`PAIR_WINDOW_S` (see the module)."""
        parsed = parse_client_id(client_id)
        if parsed is None:
            return None
        now = trio.current_time()
        self._forget_before(now - SEEN_FOR_S)
        key: _Key = (parsed.task_id, parsed.instance, parsed.seq, parsed.leg)
        spot = parsed.leg is Leg.SPOT
        task, instance, seq, _ = key
        partner_key: _Key = (
            (task, instance, seq + 1, Leg.FUTURES) if spot else (task, instance, seq - 1, Leg.SPOT)
        )
        opening = spot == (side is Side.BUY)
        pair_role = Role.ENTRY if opening else Role.EXIT
        seen = self._seen.get(key)
        if seen is None:
            pair = None if self.pair_of is None else self.pair_of(symbol)
            if partner_key not in self._seen and self._wants_second(parsed.leg, pair_role, pair):
                await self._partner(partner_key, now + PAIR_WINDOW_S)
            seen = _Seen(next(self._numbers), trio.current_time(), opening)
            self._seen[key] = seen
            arrived = self._waiting.pop(key, None)
            if arrived is not None:
                arrived.set()
        kind = self._kind(seen, partner_key, pair_role)
        if kind is None and self._could_meet(venue, pair_role):
            await self._partner(partner_key, seen.at + PAIR_WINDOW_S)
            kind = self._kind(seen, partner_key, pair_role, waited=True)
        if kind is None:
            return None
        role, arrival = kind
        for aimed in self.armed:
            if aimed.target.matches(venue, role, arrival):
                now = trio.current_time()
                return Meeting(
                    aimed, OrderHit(client_id, venue, role, arrival, now - aimed.armed_at)
                )
        return None

    async def _partner(self, partner_key: _Key, until: float) -> None:
        """Wait until the order ``partner_key`` arrives, or the trio time ``until``."""
        partner = self._waiting.setdefault(partner_key, trio.Event())
        with trio.move_on_at(until):
            await partner.wait()
        if not partner.is_set() and self._waiting.get(partner_key) is partner:
            del self._waiting[partner_key]  # it did not come: nobody waits for it now

    def _wants_second(self, leg: Leg, pair_role: Role, pair: tuple[str, str] | None) -> bool:
        """Whether the oldest fault armed for one leg of a pair of ``pair_role``, at a
        venue of ``pair`` (``None``: at any venue), wants the leg ``leg`` to arrive
        second (or the other leg first)."""
        for aimed in self.armed:
            target = aimed.target
            if pair is not None and target.venue not in pair:
                continue
            if target.role is pair_role and target.arrival is not None:
                second = target.arrival is Arrival.SECOND
                return second if leg_of(target.venue) is leg else not second
        return False

    def _kind(
        self, seen: _Seen, partner_key: _Key, pair_role: Role, waited: bool = False
    ) -> tuple[Role, Arrival | None] | None:
        """What the order ``seen`` is, or ``None`` while its partner may still come."""
        partner = self._seen.get(partner_key)
        if partner is not None:
            if partner.opening == seen.opening and abs(partner.at - seen.at) <= PAIR_WINDOW_S:
                first = seen.number < partner.number
                return pair_role, Arrival.FIRST if first else Arrival.SECOND
            return Role.CORRECTION, None
        if waited or trio.current_time() - seen.at > PAIR_WINDOW_S:
            return Role.CORRECTION, None
        return None

    def _could_meet(self, venue: str, pair_role: Role) -> bool:
        """Whether an armed fault waits for what an order not yet told apart may be."""
        return any(
            aimed.target.matches(venue, pair_role, Arrival.FIRST)
            or aimed.target.matches(venue, Role.CORRECTION, None)
            for aimed in self.armed
        )

    def _forget_before(self, moment: float) -> None:
        # Arrivals are in time order: the oldest come first in the dict.
        while self._seen:
            key, seen = next(iter(self._seen.items()))
            if seen.at >= moment:
                return
            del self._seen[key]
