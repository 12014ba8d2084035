"""How close the futures short is to its liquidation, and what to do about it."""

from __future__ import annotations

import math

from actors.risk.config import RiskConfig


def liquidation_distance_pct(mark_price: float, liq_price: float) -> float:
    """How far the mark must rise to reach the short's liquidation price, in % of the
    mark (a short is liquidated when the price rises)."""
    return (liq_price - mark_price) / mark_price * 100.0


def liquidation_action(mark_price: float, liq_price: float, config: RiskConfig) -> float | None:
    """The fraction of both legs to close (1.0: all of it), or ``None`` while the short
    is far enough from its liquidation. A position without a liquidation price (0, as
    a venue reports an unleveraged or empty one) or without a mark is left alone."""
    if mark_price <= 0.0 or liq_price <= 0.0:
        return None
    distance = liquidation_distance_pct(mark_price, liq_price)
    if distance < config.liquidation_exit_distance_pct:
        return 1.0
    if distance < config.liquidation_reduce_distance_pct:
        return config.liquidation_reduce_fraction
    return None


MAINTENANCE_ALLOWANCE = 0.01
"""The maintenance rate a configuration is checked against before any venue is asked:
above the lowest risk limit tier of the contracts Basis trades, so a leverage it lets
through leaves the short outside the reduce distance at entry on them."""


def entry_distance_pct(leverage: float, taker_fee: float) -> float:
    """How far (in % of the entry price) the short's liquidation price is right after
    entry at ``leverage``, isolated margin: ``(1 + 1/leverage) / (1 + maintenance rate +
    taker fee)`` of the entry (``actors.sim.margin``), at ``MAINTENANCE_ALLOWANCE``."""
    return ((1.0 + 1.0 / leverage) / (1.0 + MAINTENANCE_ALLOWANCE + taker_fee) - 1.0) * 100.0


def most_leverage(taker_fee: float, config: RiskConfig) -> int:
    """The highest whole leverage whose short starts outside the reduce distance."""
    needed = (1.0 + config.liquidation_reduce_distance_pct / 100.0) * (
        1.0 + MAINTENANCE_ALLOWANCE + taker_fee
    ) - 1.0
    return max(math.floor(1.0 / needed), 0)


def leverage_refusal(leverage: float, taker_fee: float, config: RiskConfig) -> str | None:
    """Why ``leverage`` cannot go with ``config`` (``None`` when it can): a short whose
    liquidation starts inside the reduce distance is reduced, or closed, right after
    every entry, and entered again, paying the fees each time."""
    distance = entry_distance_pct(leverage, taker_fee)
    reduce = config.liquidation_reduce_distance_pct
    if distance >= reduce:
        return None
    then = "closed" if distance < config.liquidation_exit_distance_pct else "reduced"
    most = most_leverage(taker_fee, config)
    fix = f"set futures_leverage at most {most} or " if most >= 1 else "set "
    fitting = math.floor(distance)
    exit_too = (
        " and liquidation_exit_distance_pct below it"
        if config.liquidation_exit_distance_pct >= fitting
        else ""
    )
    return (
        f"strategy.futures_leverage = {leverage:g} puts the short's liquidation price "
        f"{distance:.1f}% above its entry, inside risk.liquidation_reduce_distance_pct = "
        f"{reduce:g}: every entry would be {then} at once; {fix}"
        f"liquidation_reduce_distance_pct at most {fitting}{exit_too}"
    )
