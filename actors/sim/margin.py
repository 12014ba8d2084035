"""An isolated perpetual position's margin arithmetic, as Gate.io documents it: the
maintenance margin by risk limit tier, the liquidation price and the bankruptcy price.

A position of value ``V`` (its size at the mark price, USDT) needs, of each tier's slice
of ``V`` (above the tier before's ``risk_limit``, up to its own), that tier's
``maintenance_rate`` as maintenance margin; its maintenance rate is the rate of the tier
``V`` falls in. In that tier the margin is ``rate * V - deduction``, the deduction being
what the cheaper tiers below spare, so it grows continuously with ``V``.

The position is liquidated when its margin balance (its margin plus its unrealised P&L
at the mark) falls to the maintenance margin plus the taker fee of closing it. Solved for
the price, with one tier (no deduction) that is Gate.io's published formula:

    long:  (entry - margin / size) / (1 - (maintenance rate + taker fee))
    short: (entry + margin / size) / (1 + (maintenance rate + taker fee))

``size`` in base units (contracts times the contract size). The bankruptcy price is where
the margin balance is 0: ``entry -/+ margin / size``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from actors.sim.config import RiskTier


def tier_of(tiers: Sequence[RiskTier], value: float) -> int:
    """The index of the tier a position of ``value`` USDT falls in (the last tier takes
    whatever is above every limit)."""
    for index, tier in enumerate(tiers):
        if value <= tier.risk_limit:
            return index
    return len(tiers) - 1


def _deduction(tiers: Sequence[RiskTier], index: int) -> float:
    """What the tiers below ``index`` spare against charging all of a position in tier
    ``index`` at its rate."""
    rate = tiers[index].maintenance_rate
    spared, floor = 0.0, 0.0
    for tier in tiers[:index]:
        spared += (rate - tier.maintenance_rate) * (tier.risk_limit - floor)
        floor = tier.risk_limit
    return spared


def maintenance_margin(tiers: Sequence[RiskTier], value: float) -> float:
    """The maintenance margin of a position worth ``value`` USDT: each tier's rate on
    its slice of it."""
    index = tier_of(tiers, value)
    return tiers[index].maintenance_rate * value - _deduction(tiers, index)


def liquidation_price(
    qty: float,
    entry_price: float,
    margin: float,
    tiers: Sequence[RiskTier],
    taker_fee: float,
) -> float:
    """Where an isolated position of ``qty`` base units (negative when short), opened at
    ``entry_price`` with ``margin`` USDT, is liquidated: the mark price at which its
    margin balance meets the maintenance margin plus the closing taker fee. 0 when flat,
    or for a long its margin carries down to a price of 0."""
    if qty == 0.0:
        return 0.0
    size = abs(qty)
    floor = 0.0
    for index, tier in enumerate(tiers):
        covered = (margin + _deduction(tiers, index)) / size
        charged = tier.maintenance_rate + taker_fee
        if qty > 0.0:
            price = (entry_price - covered) / (1.0 - charged)
        else:
            price = (entry_price + covered) / (1.0 + charged)
        if price <= entry_price * 1e-9:  # nothing left to liquidate at, float noise aside
            return 0.0
        # The margin balance minus the maintenance margin is monotonic in the price, so
        # exactly one tier's solution lies in that tier.
        if index == len(tiers) - 1 or floor < size * price <= tier.risk_limit:
            return price
        floor = tier.risk_limit
    return 0.0  # no tiers: nothing is ever liquidated


def bankruptcy_price(qty: float, entry_price: float, margin: float) -> float:
    """Where the margin balance of ``qty`` (negative when short) is 0: the price a
    liquidation closes the position at, the whole margin lost. 0 when flat."""
    if qty == 0.0:
        return 0.0
    return max(0.0, entry_price - math.copysign(margin / abs(qty), qty))


def crossed(qty: float, mark_price: float, liquidation: float) -> bool:
    """Whether the mark has reached the liquidation price of ``qty``."""
    if qty > 0.0:
        return mark_price <= liquidation
    if qty < 0.0:
        return mark_price >= liquidation
    return False
