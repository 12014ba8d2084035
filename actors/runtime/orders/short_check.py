"""Whether the venue's futures short shows the venue moved alone: the comparison, pure.

What Basis's strategies hold on a symbol's futures leg is the sum of their contexts'
``positions.futures.qty``. The venue holding less than that, by at least one contract,
is a shrink no order of ours explains (auto-deleveraging, a liquidation, a trade placed
by hand), but only when our own orders cannot explain it either: a push or an answer
may be older or newer than our latest fill. So a symbol is judged only while none of
our futures orders on it is in flight (the strategies' and the router's), which means
every fill of ours is applied (a strategy forgets an order only at its end, after its
fills), and only on a reading of the venue taken between two identical readings of the
strategies: nothing decided, filled or ended meanwhile. A venue's reading may also lag
our own writes (its read-after-write lag): it is judged only when no fill of ours on the
symbol was heard of within that lag before the venue was asked, or the short our fill
added would be taken for a short the venue took away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from actors.arbitrage.context import ArbitrageContext
from protocols.model import Leg, VenueRules
from protocols.rules import at_least


class Holding(msgspec.Struct, frozen=True):
    """One strategy's futures leg as its context shows it."""

    task_id: str
    short: float
    """Its futures short, in base units."""
    in_flight: bool
    """One of its futures orders has no outcome yet."""
    order_seq: int
    """How many orders it has decided: changes with every decision to place one."""


class Shrink(msgspec.Struct, frozen=True):
    """The venue holds ``venue`` for a strategy holding ``held`` (base units)."""

    task_id: str
    held: float
    venue: float


def holding_of(ctx: ArbitrageContext) -> Holding:
    return Holding(
        ctx.task_id,
        ctx.positions.futures.qty,
        bool(ctx.active_orders.get(Leg.FUTURES.value)),
        ctx.order_seq,
    )


def smallest_change(rules: VenueRules) -> float:
    """The least the venue's position can change by: one contract (the venue's unit, no
    more than its smallest order)."""
    return rules.contract_size or rules.min_qty or rules.qty_step


def settled(holdings: Sequence[Holding], router_busy: bool) -> bool:
    """No futures order of ours on the symbol is in flight, so all our fills are applied."""
    return not router_busy and not any(holding.in_flight for holding in holdings)


def unexplained(
    before: Sequence[Holding],
    venue_short: float,
    after: Sequence[Holding],
    router_busy: bool,
    smallest: float,
    since_fill_s: float = math.inf,
    lag_s: float = 0.0,
) -> list[Shrink]:
    """What the venue took from the strategies' shorts that no order of ours explains.

    ``before`` and ``after`` are the strategies' holdings read just before the venue was
    asked and just after it answered ``venue_short``; ``router_busy`` says whether the
    router followed an order on the symbol at either time. Judged only when the two
    readings are the same and settled, and ``since_fill_s`` (from our latest fill on the
    symbol to the venue's reading) is at least the venue's read-after-write ``lag_s``,
    so the reading shows every fill of ours; reported when the venue holds at least
    ``smallest`` less than the strategies together. The missing part is taken from the
    strategies holding the most first (one strategy trades a symbol; the others there
    hold nothing). A venue holding more is not ours to judge (another instance on the
    account may share the symbol)."""
    if list(before) != list(after) or not settled(before, router_busy) or since_fill_s < lag_s:
        return []
    held = sum(holding.short for holding in before)
    missing = held - max(venue_short, 0.0)
    if missing <= 0.0 or not at_least(missing, smallest):
        return []
    shrinks = []
    for holding in sorted(before, key=lambda h: h.short, reverse=True):
        if missing <= 0.0 or holding.short <= 0.0:
            break
        taken = min(holding.short, missing)
        shrinks.append(Shrink(holding.task_id, holding.short, holding.short - taken))
        missing -= taken
    return shrinks
