"""What an entry is expected to cost and to earn over its planned hold, in % of the spot
leg's entry notional: the terms a funding-aware entry and a ``funding_carry`` entry
are decided on (docs/strategy.md, "Funding-aware entry").

Paid: the entry cost ``(sa - fb) / sa``, the four fees and the slippage the books
promise. Earned: the basis convergence (what the exit gets back once the perpetual's
mid has converged on spot's, at today's spreads) and the funding forecast over the
hold (``funding_forecast``).
"""

from __future__ import annotations

from actors.arbitrage.context import (
    FUNDING_CARRY,
    ArbitrageContext,
    CarryParams,
    EntryTerms,
)
from actors.arbitrage.funding_forecast import HOUR_S, forecast
from actors.arbitrage.pricing import entry_cost_pct
from actors.risk.sizing import depth_weighted_price
from protocols.model import Quote

_DEFAULT_CARRY = CarryParams()


def carry_params(ctx: ArbitrageContext) -> CarryParams | None:
    """The carry decisions of a ``funding_carry`` task (their defaults when the params
    carry none); ``None`` for any other task."""
    if ctx.task_type != FUNDING_CARRY:
        return None
    return ctx.params.carry or _DEFAULT_CARRY


def weighs_funding(ctx: ArbitrageContext) -> bool:
    """Entries of this task are decided on :func:`entry_terms`."""
    return ctx.params.funding_aware_entry or ctx.task_type == FUNDING_CARRY


def planned_hold_h(ctx: ArbitrageContext) -> float:
    """The hold an entry counts on: a carry's horizon, or ``planned_hold_h``, or
    ``max_hours``."""
    carry = carry_params(ctx)
    if carry is not None:
        return carry.horizon_h
    params = ctx.params
    return params.planned_hold_h if params.planned_hold_h is not None else params.max_hours


def convergence_pct(spot: Quote, futures: Quote) -> float:
    """What the exit is expected to get back, ``(sb' - fa') / sa`` in %, with the
    perpetual's mid converged on spot's mid and both spreads as they are now: minus
    half of both spreads. 0 for a side with no price (its spread unknown)."""
    sa = spot.ask
    spreads = 0.0
    if spot.bid > 0.0:
        spreads += sa - spot.bid
    if futures.ask > 0.0 and futures.bid > 0.0:
        spreads += futures.ask - futures.bid
    return -spreads / 2.0 / sa * 100.0


def slippage_pct(spot: Quote, futures: Quote, qty: float) -> float:
    """What entering ``qty`` and leaving it again are expected to give up beyond the best
    prices, in % of ``sa``: the depth-weighted price of ``qty`` on each book against its
    best, twice (the exit is counted on books as deep). 0 for books without depth."""
    sa = spot.ask
    paid = 0.0
    if spot.depth is not None and spot.depth.asks:
        price = depth_weighted_price(spot.depth.asks, qty)
        if price > 0.0:
            paid += price - sa
    if futures.depth is not None and futures.depth.bids:
        price = depth_weighted_price(futures.depth.bids, qty)
        if price > 0.0:
            paid += futures.bid - price
    return 2.0 * max(paid, 0.0) / sa * 100.0


def entry_terms(
    ctx: ArbitrageContext, now: float, spot: Quote, futures: Quote, qty: float
) -> EntryTerms:
    """The terms of entering ``qty`` at ``now`` on ``spot``'s ask and ``futures``' bid
    (both > 0). The funding is counted on the short's value at ``fb``, in % of the spot
    notional at ``sa``."""
    params = ctx.params
    carry = carry_params(ctx)
    sa = spot.ask
    fb = futures.bid
    hold_h = planned_hold_h(ctx)
    expected = forecast(
        now,
        hold_h * HOUR_S,
        ctx.funding_rate,
        ctx.funding_next_ts,
        ctx.funding_interval_s,
        ctx.funding_history,
    )
    cost = entry_cost_pct(sa, fb)
    fees = 200.0 * (params.spot_fee + params.fut_fee)
    slippage = slippage_pct(spot, futures, qty)
    convergence = convergence_pct(spot, futures)
    funding = expected.expected * fb / sa * 100.0
    margin = carry.margin_pct if carry is not None else params.entry_margin_pct
    net = convergence + funding - cost - fees - slippage
    return EntryTerms(
        ts=now,
        cost=cost,
        fees=fees,
        slippage=slippage,
        convergence=convergence,
        funding=funding,
        margin=margin,
        net=net,
        passes=net >= margin,
        hold_h=hold_h,
        settlements=expected.settlements,
    )
