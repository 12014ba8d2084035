"""The arbitrage's arithmetic: entry cost, P&L in % and entry sizing.

The formulas of docs/strategy.md, exactly. ``sa``/``sb`` are the spot ask/bid, ``fb``/``fa`` the
futures bid/ask, ``q`` a quantity in base units, fees are fractions (0.0005 = 0.05%).
"""

from __future__ import annotations

import math

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
    """The quantity to enter with, or why the opportunity is skipped (``qty`` is then 0).

    ``limited_by`` says what made it smaller than the budget would buy (``None`` when
    nothing did); ``wanted`` is what the budget would buy."""

    qty: float
    skip_reason: str | None = None
    limited_by: str | None = None
    wanted: float = 0.0


DEPTH = "too little depth"
"""How a skip or a resize for the books' depth is named (the text before any colon of
a skip reason is its kind, which the backtest's report counts)."""
ROOM = "no room"
"""How a skip or a resize for the portfolio's caps and balances is named."""
BUDGET_BELOW_INCREMENT = "budget is below one increment"
"""The skip of an entry budget smaller than the least both venues trade: the
configuration's to fix, since no market makes it pass."""


def _skip(reason: str, limited_by: str | None) -> Sizing:
    return Sizing(0.0, f"{limited_by}: {reason}" if limited_by else reason, limited_by)


def size_entry(
    budget_usdt: float,
    sa: float,
    spot_ask_qty: float,
    fb: float,
    futures_bid_qty: float,
    spot: VenueRules,
    futures: VenueRules,
    room_qty: float = math.inf,
    room_reason: str | None = None,
) -> Sizing:
    """Entry sizing (docs/strategy.md): budget / ask, capped by what both books fill
    (``spot_ask_qty``, ``futures_bid_qty``: the best level's size, or more with depth)
    and by the room the caps leave (``room_qty``, for the reason ``room_reason``),
    rounded down to the spot step and whole futures contracts, then checked against
    every minimum. A skip for depth or room says so first (:data:`DEPTH`, :data:`ROOM`).
    """
    if sa <= 0.0 or fb <= 0.0:
        return _skip("a book side is empty", None)
    wanted = budget_usdt / sa
    depth = min(spot_ask_qty, futures_bid_qty)
    q = min(wanted, depth, room_qty)
    limited_by = None
    if q < wanted:
        limited_by = DEPTH if depth <= room_qty else f"{ROOM}: {room_reason or 'caps'}"
    q = round_down(q, common_step(spot.qty_step, futures.contract_size))
    if q <= 0.0:
        if limited_by is None:
            return _skip(BUDGET_BELOW_INCREMENT, None)
        return _skip("below one increment", limited_by)
    problem = None
    if q < spot.min_qty:
        problem = f"{q:g} is below the spot minimum quantity {spot.min_qty:g}"
    elif q * sa < spot.min_notional:
        problem = f"{q * sa:.4g} USDT is below the spot minimum notional {spot.min_notional:g}"
    elif q < futures.min_qty:
        problem = f"{q:g} is below the futures minimum quantity {futures.min_qty:g}"
    elif futures.contract_size > 0.0 and not at_least(
        q / futures.contract_size, futures.min_contracts
    ):
        problem = (
            f"{q / futures.contract_size:g} contracts is below the futures minimum of "
            f"{futures.min_contracts:g}"
        )
    elif q * fb < futures.min_notional:
        problem = (
            f"{q * fb:.4g} USDT is below the futures minimum notional {futures.min_notional:g}"
        )
    if problem is not None:
        return _skip(problem, limited_by)
    return Sizing(q, None, limited_by, wanted)
