"""The arbitrage's arithmetic: entry cost, P&L in % and entry sizing.

The formulas of docs/strategy.md, exactly. ``sa``/``sb`` are the spot ask/bid, ``fb``/``fa`` the
futures bid/ask, ``q`` a quantity in base units, fees are fractions (0.0005 = 0.05%).
"""

from __future__ import annotations

import msgspec

from protocols.model import VenueRules
from protocols.rules import at_least, common_step, round_down


def entry_cost_pct(sa: float, fb: float) -> float:
    """What entering costs, in % of the spot price: negative when futures pay a premium."""
    return (sa - fb) / sa * 100.0


def pnl_pct(pnl: float, q: float, sa_entry: float) -> float:
    """P&L relative to the spot leg's entry notional, in %."""
    notional = q * sa_entry
    return pnl / notional * 100.0 if notional > 0.0 else 0.0


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
    """Entry sizing (docs/strategy.md): budget / ask, capped by the visible size on both legs,
    rounded down to the spot step and whole futures contracts, then checked against every minimum.
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
        if not at_least(contracts, futures.min_contracts):
            return _skip(
                f"{contracts:g} contracts is below the futures minimum of {futures.min_contracts:g}"
            )
    if q * fb < futures.min_notional:
        return _skip(
            f"{q * fb:.4g} USDT is below the futures minimum notional {futures.min_notional:g}"
        )
    return Sizing(q)
