"""The arbitrage's arithmetic: entry cost, cash flows, P&L, sizing and venue rounding.

The formulas are SPEC §1's, verbatim. ``sa``/``sb`` are the spot ask/bid, ``fb``/``fa`` the
futures bid/ask, ``q`` a quantity in base units, fees are fractions (0.0005 = 0.05%).
"""

from __future__ import annotations

import math

import msgspec

from protocols.model import VenueRules

# A value this close (relative to the step) below a multiple of the step is that multiple:
# 0.7 / 0.1 is 6.999999999999999 in binary floating point, and 0.7 must stay 0.7.
_FLOAT_NOISE = 1e-9
_MAX_DECIMALS = 12


def entry_cost_pct(sa: float, fb: float) -> float:
    """What entering costs, in % of the spot price: negative when futures pay a premium."""
    return (sa - fb) / sa * 100.0


def entry_cash_flows(
    q: float, sa: float, fb: float, spot_fee: float, fut_fee: float
) -> tuple[float, float]:
    """(spot paid, futures received) for an entry of ``q``."""
    return q * sa * (1.0 + spot_fee), q * fb * (1.0 - fut_fee)


def exit_cash_flows(
    q: float, sb: float, fa: float, spot_fee: float, fut_fee: float
) -> tuple[float, float]:
    """(spot received, futures paid) for an exit of ``q``."""
    return q * sb * (1.0 - spot_fee), q * fa * (1.0 + fut_fee)


def pnl_usdt(
    spot_paid: float, futures_received: float, spot_received: float, futures_paid: float
) -> float:
    return (spot_received - spot_paid) + (futures_received - futures_paid)


def pnl_pct(pnl: float, q: float, sa_entry: float) -> float:
    """P&L relative to the spot leg's entry notional, in %."""
    notional = q * sa_entry
    return pnl / notional * 100.0 if notional > 0.0 else 0.0


def round_trip_pnl_usdt(
    q: float, sa: float, fb: float, sb: float, fa: float, spot_fee: float, fut_fee: float
) -> float:
    """P&L of entering at (``sa``, ``fb``) and exiting at (``sb``, ``fa``)."""
    spot_paid, futures_received = entry_cash_flows(q, sa, fb, spot_fee, fut_fee)
    spot_received, futures_paid = exit_cash_flows(q, sb, fa, spot_fee, fut_fee)
    return pnl_usdt(spot_paid, futures_received, spot_received, futures_paid)


# ------------------------------------------------------------------------- rounding


def step_decimals(step: float) -> int:
    """How many decimals a venue increment has: 0.001 → 3, 0.5 → 1, 5 → 0."""
    text = f"{step:.{_MAX_DECIMALS}f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def round_down(value: float, step: float) -> float:
    """The largest multiple of ``step`` not above ``value`` (``step`` 0: unchanged).

    Never rounds up, except that a value within float noise (1e-9 of a step) below a
    multiple is taken as that multiple; the result is snapped to the step's decimals so
    that 0.3 stays 0.3 and never becomes 0.30000000000000004.
    """
    if step <= 0.0:
        return value
    if value <= 0.0:
        return 0.0
    units = value / step
    whole = math.floor(units)
    if units - whole > 1.0 - _FLOAT_NOISE:
        whole += 1
    return round(whole * step, step_decimals(step))


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


# --------------------------------------------------------------------------- sizing


def min_order_usdt(rules: VenueRules, price: float) -> float:
    """The value of the smallest order the venue takes at ``price``."""
    smallest_qty = max(
        rules.min_qty,
        rules.qty_step,
        rules.contract_size * max(rules.min_contracts, 1.0) if rules.contract_size else 0.0,
    )
    return max(smallest_qty * price, rules.min_notional)


class Sizing(msgspec.Struct, frozen=True):
    """The quantity to enter with, or why the opportunity is skipped (``qty`` is then 0)."""

    qty: float
    skip_reason: str | None = None


def _skip(reason: str) -> Sizing:
    return Sizing(0.0, reason)


def size_entry(
    budget_usdt: float,
    sa: float,
    spot_ask_qty: float,
    fb: float,
    futures_bid_qty: float,
    spot: VenueRules,
    futures: VenueRules,
) -> Sizing:
    """SPEC §1 entry sizing: budget / ask, capped by the visible size on both legs, rounded
    down to the spot step and whole futures contracts, then checked against every minimum.
    """
    if sa <= 0.0 or fb <= 0.0:
        return _skip("a book side is empty")
    wanted = budget_usdt / sa
    q = min(wanted, spot_ask_qty, futures_bid_qty)
    q = round_down(q, common_step(spot.qty_step, futures.contract_size))
    if q <= 0.0:
        limit = "visible size" if wanted > min(spot_ask_qty, futures_bid_qty) else "budget"
        return _skip(f"{limit} is below one increment")
    if q < spot.min_qty:
        return _skip(f"{q:g} is below the spot minimum quantity {spot.min_qty:g}")
    if q * sa < spot.min_notional:
        return _skip(f"{q * sa:.4g} USDT is below the spot minimum notional {spot.min_notional:g}")
    if q < futures.min_qty:
        return _skip(f"{q:g} is below the futures minimum quantity {futures.min_qty:g}")
    if futures.contract_size > 0.0:
        contracts = q / futures.contract_size
        if contracts < futures.min_contracts * (1.0 - _FLOAT_NOISE):
            return _skip(
                f"{contracts:g} contracts is below the futures minimum of {futures.min_contracts:g}"
            )
    if q * fb < futures.min_notional:
        return _skip(
            f"{q * fb:.4g} USDT is below the futures minimum notional {futures.min_notional:g}"
        )
    return Sizing(q)
