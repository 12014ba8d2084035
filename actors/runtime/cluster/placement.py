"""How the symbols are spread over a cluster's live instances: each one's fair share, and
how many an instance above its share hands back.

The spread is even: shares differ by at most one, except where an instance's capacity
holds it below the others; no share is above its instance's capacity; and together the
shares cover every symbol when the capacities do. Every instance computes the shares
itself from what the database says, so they must come out the same wherever they are
computed: the one symbol more that some instances get when the count does not divide
evenly goes to the first of them by name, not to whoever asks.
"""

from __future__ import annotations

from collections.abc import Mapping


def fair_shares(symbols: int, capacities: Mapping[str, int]) -> dict[str, int]:
    """How many of ``symbols`` symbols each live instance (its name to its capacity)
    should hold."""
    if symbols < 0:
        raise ValueError(f"a count of symbols cannot be negative (got {symbols})")
    if any(capacity < 0 for capacity in capacities.values()):
        raise ValueError(f"a capacity cannot be negative (got {dict(capacities)})")
    if sum(capacities.values()) <= symbols:
        return dict(capacities)
    level = _level(symbols, list(capacities.values()))
    shares = {name: min(capacity, level) for name, capacity in capacities.items()}
    left = symbols - sum(shares.values())
    # Fewer are left than there are instances with room above the level (the level is
    # the highest that does not overshoot), so each of the first ``left`` takes one.
    for name in sorted(capacities):
        if left == 0:
            break
        if capacities[name] > level:
            shares[name] += 1
            left -= 1
    return shares


def hand_back(held: int, share: int) -> int:
    """How many of the ``held`` symbols an instance whose fair share is ``share`` hands
    back, for an instance below its share to take."""
    return max(0, held - share)


def _level(symbols: int, capacities: list[int]) -> int:
    """The highest level ``L`` at which every instance holding ``min(capacity, L)`` does
    not hold more than ``symbols`` in all: found by halving, as the total only grows
    with ``L``. Called only when the capacities exceed ``symbols``, so ``L`` is below
    the largest capacity."""
    low, high = 0, max(capacities)
    while high - low > 1:
        middle = (low + high) // 2
        if sum(min(capacity, middle) for capacity in capacities) <= symbols:
            low = middle
        else:
            high = middle
    return low
