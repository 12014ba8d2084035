"""Sizing from the books: how much one side of a book fills before its depth-weighted
price strays more than a bound from the best price.

A buy walks the asks up, a sell the bids down, taking whole levels while the
depth-weighted price of all taken stays within the bound, and of the level that would
take it past the bound exactly the part that brings it to the bound. The limit price
an order needs to fill that much is the last level reached.
"""

from __future__ import annotations

from protocols.model import Quote

Levels = tuple[tuple[float, float], ...]


def fillable(
    best: float, best_qty: float, levels: Levels | None, buying: bool, max_slippage_pct: float
) -> tuple[float, float]:
    """(quantity, limit price): how much the side fills with its depth-weighted price
    within ``max_slippage_pct`` % of ``best``, and the worst level it reaches.

    Without ``levels`` (a quote without depth) only the best level is known: its
    quantity at its price.
    """
    if not levels:
        return best_qty, best
    bound = (
        best * (1.0 + max_slippage_pct / 100.0)
        if buying
        else best * (1.0 - max_slippage_pct / 100.0)
    )
    qty = 0.0
    cost = 0.0
    worst = best
    for price, size in levels:
        if size <= 0.0:
            continue
        within = price <= bound if buying else price >= bound
        # Beyond the bound, only the part of the level that brings the depth-weighted
        # price to the bound (a level worse than the bound can still be taken whole
        # while the better ones before it keep the average within).
        part = size
        if not within:
            room = bound * qty - cost if buying else cost - bound * qty
            part = min(size, room / (price - bound) if buying else room / (bound - price))
            if part <= 0.0:
                break
        qty += part
        cost += price * part
        worst = price
        if part < size:
            break
    return qty, worst


def quote_fillable(quote: Quote, buying: bool, max_slippage_pct: float) -> tuple[float, float]:
    """:func:`fillable` on the side of ``quote`` an order of that direction takes."""
    depth = quote.depth
    if buying:
        return fillable(
            quote.ask, quote.ask_qty, depth.asks if depth else None, True, max_slippage_pct
        )
    return fillable(
        quote.bid, quote.bid_qty, depth.bids if depth else None, False, max_slippage_pct
    )


def limit_price(quote: Quote, buying: bool, qty: float) -> float:
    """The limit price an order of ``qty`` needs on ``quote``'s side to fill: the level
    at which the book holds that much (the best without depth, or past the levels
    shown)."""
    depth = quote.depth
    best = quote.ask if buying else quote.bid
    levels = (depth.asks if buying else depth.bids) if depth else ()
    held = 0.0
    reached = best
    for price, size in levels:
        held += size
        reached = price
        if held >= qty * (1.0 - 1e-12):
            break
    return reached


def depth_weighted_price(levels: Levels, qty: float) -> float:
    """The average price of the first ``qty`` of ``levels`` (0 when they hold none);
    beyond what the levels hold, the rest is left out."""
    left = qty
    cost = 0.0
    taken = 0.0
    for price, size in levels:
        if left <= 0.0:
            break
        part = min(size, left)
        cost += price * part
        taken += part
        left -= part
    return cost / taken if taken > 0.0 else 0.0
