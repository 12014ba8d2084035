"""A venue's rules as arithmetic: quantity steps, price ticks, minimum orders, and the one
float tolerance every part of Basis compares with.

Money is float; values are put on a venue's grid only when an order is built (or, in the
simulated venues, checked). The strategy, the routers and the simulated venues all round
and compare here, so that they never disagree about what is a whole step.
"""

from __future__ import annotations

import functools
import math
import sys

from protocols.model import VenueRules

FLOAT_TOLERANCE = 1e-9
"""Relative: values closer than this fraction (of a step, of a bound, of a quantity) are
the same. Float noise on decimal inputs is a few ulps (about 1e-15 relative): 0.7 / 0.1 is
6.999999999999999 and must count as 7; a digit a venue does not allow is at least a tenth
of a step off."""

_MAX_DECIMALS = 12


@functools.lru_cache(maxsize=4096)
def step_decimals(step: float) -> int:
    """How many decimals a venue increment has: 0.001 → 3, 0.5 → 1, 5 → 0."""
    text = f"{step:.{_MAX_DECIMALS}f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def round_down(value: float, step: float) -> float:
    """The largest multiple of ``step`` not above ``value`` (``step`` 0: unchanged).

    Never rounds up, except that a value within float noise (``FLOAT_TOLERANCE`` of a
    step) below a multiple is taken as that multiple; the result is snapped to the step's
    decimals so that 0.3 stays 0.3 and never becomes 0.30000000000000004.
    """
    if step <= 0.0:
        return value
    if value <= 0.0:
        return 0.0
    units = value / step
    whole = math.floor(units)
    if units - whole > 1.0 - _noise(units):
        whole += 1
    return round(whole * step, step_decimals(step))


def round_up(value: float, step: float) -> float:
    """The smallest multiple of ``step`` not below ``value`` (``step`` 0: unchanged); a
    value within float noise above a multiple is taken as that multiple."""
    if step <= 0.0:
        return value
    if value <= 0.0:
        return 0.0
    units = value / step
    whole = math.ceil(units)
    if whole - units > 1.0 - _noise(units):
        whole -= 1
    return round(whole * step, step_decimals(step))


def _noise(units: float) -> float:
    """How far from a whole number ``units`` (a value over its step) may be by float noise
    alone: ``FLOAT_TOLERANCE`` of a step, or, for a count of steps so large that its last
    bits are whole fractions of one (4.6 / 1e-8 is 459999999.99999994), two of those."""
    return max(FLOAT_TOLERANCE, float_noise(units))


def float_noise(value: float) -> float:
    """How far from its exact decimal a float computed from a few decimal inputs may be:
    two of its last bits."""
    return 2.0 * abs(value) * sys.float_info.epsilon


def round_to_tick(price: float, tick: float) -> float:
    """``price`` on the venue's price grid (nearest tick); ``tick`` 0 leaves it alone."""
    if tick <= 0.0:
        return price
    return round(round(price / tick) * tick, step_decimals(tick))


def common_step(a: float, b: float) -> float:
    """The smallest quantity that is a multiple of both increments (0 means none)."""
    if a <= 0.0:
        return max(b, 0.0)
    if b <= 0.0:
        return a
    decimals = max(step_decimals(a), step_decimals(b))
    scale = 10**decimals
    return math.lcm(round(a * scale), round(b * scale)) / scale


def min_order_usdt(rules: VenueRules, price: float) -> float:
    """The value of the smallest order the venue takes at ``price``."""
    smallest_qty = max(
        rules.min_qty,
        rules.qty_step,
        rules.contract_size * max(rules.min_contracts, 1.0) if rules.contract_size else 0.0,
    )
    return max(smallest_qty * price, rules.min_notional)


def whole_steps(value: float, step: float) -> int | None:
    """``value`` as a whole number of ``step``, or ``None`` if it is not one."""
    units = value / step
    whole = round(units)
    return whole if abs(units - whole) <= FLOAT_TOLERANCE * max(1.0, abs(units)) else None


def at_least(value: float, bound: float) -> bool:
    """``value >= bound``, float noise forgiven."""
    return value >= bound * (1.0 - FLOAT_TOLERANCE)


def more_than_noise(qty: float, of: float) -> bool:
    """``qty`` is positive and more than float noise on a quantity of size ``of``."""
    return qty > FLOAT_TOLERANCE * abs(of)
