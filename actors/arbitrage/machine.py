"""The arbitrage strategy as a pure function: ``step(context, event) -> (context, commands)``
for order reports, feed health, funding, rules and the operator, and
``on_market(context, now, spot, futures)`` for quotes and the passing of time.

No trio, no clock, no I/O: time arrives in events, effects leave as commands (place,
amend or cancel an order, raise an alert, record a finished trade). The live actor and the
backtester drive these same functions, so what is backtested is what trades.

States (docs/strategy.md, "States")::

    IDLE -> MONITORING -> ENTERING -> POSITION_OPEN -> EXITING -> MONITORING (cycle += 1)

plus IMBALANCED (a leg filled more than the other: correct it), PAUSED (operator, stale
feed, a store that refuses intents, kill switch, failed correction) and STOPPED.
``context.TRANSITIONS`` lists every move one event may make; ``step`` and
``on_market`` refuse any other (:class:`~actors.arbitrage.context.ForbiddenTransition`).

Rules the code keeps everywhere:

* Both legs of an entry or exit go out together, and while any order is in flight
  ``deadline`` is set; when it passes, whatever is open is cancelled (again, until the
  venue answers), so the machine never waits for ever.
* Positions are what was filled, not what was asked: every fill moves its leg, and an
  order's final state may add the part of its fills the venue reported but we missed.
  A fee the venue took in the base coin comes out of what the leg holds; fees count
  at what the venue charged, in USDT. An exit sells what is held, down to the step.
* A leg of an entry or exit that ends part-filled while the other's order still works
  brings that order down to match (amended where its venue can, else cancelled).
* An imbalance (|spot - futures short| worth at least the smallest order either venue
  takes) is corrected by finishing the lagging leg or trimming the excess; after an
  exit, only by closing (never buying spot or selling futures); after
  ``max_correction_attempts`` failures both legs are flattened and the strategy pauses.
  A cycle ends at rest only with its legs matched or with a difference less than the
  venue of the larger leg takes at what the legs cost (dust); a difference only the
  current prices put below that stays IMBALANCED until a venue takes it.
  Corrections and flattening orders are limit IOCs at most ``correction_slippage_pct``
  past the best price. While the legs differ, their difference's value is integrated
  over time (``Cycle.unhedged_usdt_s``).
* No entry while a feed is stale, the store refuses intents, the strategy is paused or
  stopping, or in cooldown; nor unless both legs' connections are live and their quotes
  were received since they last became so (``Liveness``). An entry's legs must leave
  within ``entry_send_within_s`` of the decision (``PlaceOrder.send_by``). Orders
  already decided (an exit, a correction) are still placed: they leave once their
  intents are stored (the actor waits for that).
* The portfolio's risk mode (``RiskModeChange``): no entry unless ``active``; while
  ``reducing`` a correction only closes; while ``halted`` nothing is placed and what is
  in flight is cancelled. An entry is no larger than both books fill within
  ``max_slippage_pct`` nor than the room the caps leave (``EntryLimits``); a cycle
  closes at ``cycle_stop_loss_pct``; ``ReduceExposure`` closes part of both legs.
* Every order carries the best price it was decided on. Each fill's realized P&L splits
  exactly into basis, slippage and fee (``split_realized``), summed per cycle for its
  trade record; each fill applied and each funding settlement counted leaves as a
  record for the store (``FillRecord``, ``FundingRecord``; docs/strategy.md, "P&L of
  a cycle, decomposed").
* Only the decisions to enter and to exit depend on the task type (``ctx.task_type``):
  ``spot_futures_arbitrage`` enters on the entry cost (with ``funding_aware_entry``,
  also on what the entry weighs: ``entry_terms``) and exits for profit or timeout;
  ``funding_carry`` enters when the funding expected over its horizon pays for the
  entry, and exits at the horizon, when the rate has made the short pay for long
  enough, or at its basis stop. With a settlement window, a timeout or profit (a
  horizon) exit waits for a settlement the short receives, bounded in time (and a
  profit exit by what the settlement would pay), and goes before one it pays
  (docs/strategy.md, "Exits around settlements").
* A market event that decides nothing returns the very same context object.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from msgspec.structs import replace

from actors.arbitrage.context import (
    ALWAYS_LIVE,
    FUNDING_CARRY,
    ArbitrageContext,
    ArbitrageParams,
    ArbitrageState,
    CarryParams,
    Cycle,
    Liveness,
    Opportunity,
    Positions,
    Reduction,
    VenueReduction,
    check_transition,
)
from actors.arbitrage.entry_terms import carry_params, entry_terms, weighs_funding
from actors.arbitrage.funding_forecast import fold, rate_at_next
from actors.arbitrage.pricing import ROOM, entry_cost_pct, pnl_pct, size_entry
from actors.risk.limits import NO_LIMITS, EntryLimits
from actors.risk.sizing import limit_price, quote_fillable
from protocols.client_ids import client_order_id
from protocols.history import FillRecord, FundingRecord
from protocols.messages import (
    Alert,
    AmendOrder,
    CancelOrder,
    FeedHealth,
    FundingPayment,
    FundingRateUpdate,
    OperatorAction,
    OperatorCommand,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    ReduceExposure,
    RiskModeChange,
    RulesUpdate,
    StoreHealth,
    StrategyCommand,
    TradeAmended,
    TradeClosed,
    TradeRecord,
    VenuePositionChanged,
)
from protocols.model import (
    Fill,
    Leg,
    LegPosition,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    RiskMode,
    Side,
    TimeInForce,
    VenueRules,
)
from protocols.rules import (
    FLOAT_TOLERANCE,
    at_least,
    common_step,
    min_order_usdt,
    round_down,
    round_to_tick,
    round_up,
)

Commands = tuple[StrategyCommand, ...]
Result = tuple[ArbitrageContext, Commands]

NOTHING: Commands = ()

# Below this much USDT an imbalance is float noise, even where venues set no minimums.
DUST_USDT = 1e-6

MONITORING = ArbitrageState.MONITORING
POSITION_OPEN = ArbitrageState.POSITION_OPEN
ENTERING = ArbitrageState.ENTERING
EXITING = ArbitrageState.EXITING
IMBALANCED = ArbitrageState.IMBALANCED
PAUSED = ArbitrageState.PAUSED
STOPPED = ArbitrageState.STOPPED
IDLE = ArbitrageState.IDLE

ACTIVE = RiskMode.ACTIVE
HALTED = RiskMode.HALTED

STOP_LOSS = "stop_loss"
"""The exit reason of a cycle closed by ``cycle_stop_loss_pct``."""

HORIZON = "horizon"
"""The exit reason of a ``funding_carry`` cycle held for its ``horizon_h``."""
FUNDING_TURNED = "funding_turned"
"""The exit reason of a ``funding_carry`` cycle whose short paid for ``adverse_hours``."""
BASIS_STOP = "basis_stop"
"""The exit reason of a ``funding_carry`` cycle whose legs lost ``basis_stop_pct``."""

NOT_COVERED = "not covered"
"""How a skip of an entry whose expected earnings fall short of its terms' margin
begins (docs/strategy.md, "Funding-aware entry")."""

# What an IMBALANCED strategy is correcting towards.
GOAL_OPEN = "open"  # both legs at the larger quantity (an entry that half-filled)
GOAL_FLAT = "flat"  # both legs at the smaller quantity (an exit that half-filled)
GOAL_FLATTEN = "flatten"  # give up on correcting: close both legs, then pause
GOAL_MATCH = "match"  # the spot leg down to a short the venue reduced by itself

_REST_STATES = (IDLE, MONITORING, PAUSED)

VENUE_REDUCED = "venue_reduced"
"""The exit reason of a cycle whose short the venue closed by itself."""

KILL_SWITCH = "kill switch"
"""How a pause reason set by the kill switch (``max_loss_usdt``) begins."""

AMENDING_VENUES = frozenset({"gateio_futures", "binance_futures"})
"""Venues that change an open order's size in place (Gate.io perpetuals: ``PUT
/futures/usdt/orders/{id}``; Binance USDⓈ-M: ``PUT /fapi/v1/order``). Elsewhere (MEXC
spot has no amend) an open order is cancelled instead, and the correction after the
round finishes the job."""

_WORKING = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


def step(ctx: ArbitrageContext, event: Any) -> Result:
    """Apply one event; return the new context and the commands to carry out, in order.

    Raises ``TypeError`` for an event the machine has no rule for, and
    :class:`~actors.arbitrage.context.ForbiddenTransition` if it would move the
    strategy between states ``TRANSITIONS`` does not connect.
    """
    try:
        handler = _HANDLERS[type(event)]
    except KeyError:
        raise TypeError(
            f"the arbitrage machine has no rule for {type(event).__name__} events"
        ) from None
    result = handler(ctx, event)
    if result[0].state is not ctx.state:
        check_transition(ctx, result[0], type(event).__name__)
    return result


# ---------------------------------------------------------------- market events


def on_market(
    ctx: ArbitrageContext,
    now: float,
    spot: Quote | None,
    futures: Quote | None,
    live: Liveness = ALWAYS_LIVE,
    limits: EntryLimits = NO_LIMITS,
) -> Result:
    """New quotes or the passing of time, with the latest quote of each leg (``None``
    until one has arrived) and the liveness of their connections: how market events
    reach the machine, from the actor on every quote, liveness change and timer tick,
    and from the backtester on every recorded quote. ``limits`` is the room the
    portfolio's caps leave for an entry (none by default).

    This is the hot path (dispatched here, without a call more): a quote that decides
    nothing allocates nothing. Raises what :func:`step` raises for a forbidden move.
    """
    state = ctx.state
    if ctx.risk_mode is HALTED:
        result = _halted(ctx, now)
    elif state is MONITORING:
        result = _look_for_entry(ctx, now, spot, futures, live, limits)
    elif state is POSITION_OPEN:
        result = _watch_position(ctx, now, spot, futures)
    elif ctx.deadline is not None:
        if now < ctx.deadline:
            return ctx, NOTHING
        result = _chase_overdue(ctx, now)
    elif state is IMBALANCED:
        result = _correct(ctx, now, spot, futures, limits)
    elif state is IDLE:
        started = replace(ctx, state=_rest_state(ctx), last_update=now)
        result = started, NOTHING
        if started.state is MONITORING:
            result = _look_for_entry(started, now, spot, futures, live, limits)
    else:
        return ctx, NOTHING
    if result[0].state is not state:
        check_transition(ctx, result[0], "new quotes")
    return result


def _halted(ctx: ArbitrageContext, now: float) -> Result:
    """Nothing new while halted: orders still in flight are cancelled again each time
    their deadline passes, until the venues end them."""
    if ctx.deadline is not None and now >= ctx.deadline:
        return _chase_overdue(ctx, now)
    if ctx.state is IDLE:
        return replace(ctx, state=_rest_state(ctx), last_update=now), NOTHING
    return ctx, NOTHING


def _look_for_entry(
    ctx: ArbitrageContext,
    now: float,
    spot: Quote | None,
    futures: Quote | None,
    live: Liveness,
    limits: EntryLimits,
) -> Result:
    if spot is None or futures is None:
        return ctx, NOTHING
    sa = spot.ask
    fb = futures.bid
    if sa <= 0.0 or fb <= 0.0:
        return ctx, NOTHING
    params = ctx.params
    cost = entry_cost_pct(sa, fb)
    if cost > params.max_entry_cost_pct or ctx.risk_mode is not ACTIVE:
        return ctx, NOTHING
    if now < ctx.cooldown_until or not _fresh(params.max_quote_age_s, now, spot, futures):
        return ctx, NOTHING
    if not live_and_latest(live, spot, futures):
        return ctx, NOTHING
    for leg, rules in ((Leg.SPOT, ctx.rules.spot), (Leg.FUTURES, ctx.rules.futures)):
        if rules.entries_refused is not None:
            return _skip(ctx, f"the {leg.value} venue refuses entries: {rules.entries_refused}")
    if params.require_non_negative_funding:
        if ctx.funding_rate is None:
            return _skip(ctx, "the funding rate is not known yet")
        if ctx.funding_next_ts is not None and now >= ctx.funding_next_ts:
            # The rate known was for a settlement that has passed: not the next one's.
            return _skip(ctx, "the funding rate is not known since the last settlement")
        if ctx.funding_rate < 0.0:
            return _skip(
                ctx,
                f"funding rate {ctx.funding_rate:.4%} would make the short leg pay over max_hours",
            )
    room = limits.room_usdt
    if room <= 0.0:
        return _skip(ctx, f"{ROOM}: {limits.reason or 'the caps are reached'}")
    # What each book fills within the slippage bound, and the limit price that takes it.
    slippage = params.max_slippage_pct
    spot_qty, spot_limit = quote_fillable(spot, True, slippage)
    futures_qty, futures_limit = quote_fillable(futures, False, slippage)
    # Exposure counts each leg at its order's limit price, which is at most the spot
    # limit of all the depth fillable (asks go up) and at most the best futures bid
    # (bids go down): the room bounds both, whatever quantity is entered.
    room_qty = room / max(spot_limit, fb) if room < math.inf else math.inf
    sizing = size_entry(
        ctx.base_position_size_usdt,
        sa,
        spot_qty,
        fb,
        futures_qty,
        ctx.rules.spot,
        ctx.rules.futures,
        room_qty,
        limits.reason,
    )
    if sizing.skip_reason is not None:
        return _skip(ctx, sizing.skip_reason)
    limited_by = sizing.limited_by
    qty = sizing.qty
    if spot.depth is not None:  # no further than the quantity entered needs
        spot_limit = limit_price(spot, True, qty)
    if futures.depth is not None:
        futures_limit = limit_price(futures, False, qty)
    terms = None
    if weighs_funding(ctx):
        terms = entry_terms(ctx, now, spot, futures, qty)
        if ctx.task_type == FUNDING_CARRY and terms.funding <= 0.0:
            # A premium alone may cover the terms: that is the arbitrage's trade, not a
            # carry's.
            return _skip(ctx, f"{NOT_COVERED}: no funding expected over {terms.hold_h:g} h")
        if not terms.passes:
            return _skip(
                ctx,
                f"{NOT_COVERED}: convergence and funding over {terms.hold_h:g} h do not "
                f"cover cost, fees and slippage by {terms.margin:g} %",
            )
    opportunity = Opportunity(
        now,
        cost,
        sa,
        fb,
        sizing.qty,
        now - spot.recv_ts,
        now - futures.recv_ts,
        sizing.wanted if limited_by is not None else None,
        limited_by,
        terms,
    )
    return _enter(ctx, now, opportunity, spot_limit, futures_limit)


def _fresh(max_age_s: float, now: float, spot: Quote, futures: Quote) -> bool:
    """Both quotes were received at most ``max_age_s`` before ``now``."""
    return now - spot.recv_ts <= max_age_s and now - futures.recv_ts <= max_age_s


def live_and_latest(live: Liveness, spot: Quote, futures: Quote) -> bool:
    """Both legs' connections are live and each quote was received since its connection
    last became live: a venue that pushes a quote only when it changes may be silent
    on a quiet symbol, so a quote is the latest while its connection is live, however
    old, and may have been superseded unseen once the connection has fallen silent."""
    spot_since = live.spot_since
    futures_since = live.futures_since
    return (
        spot_since is not None
        and futures_since is not None
        and spot.recv_ts >= spot_since
        and futures.recv_ts >= futures_since
    )


def _skip(ctx: ArbitrageContext, reason: str) -> Result:
    """Record why a priced opportunity was not taken (once per distinct reason)."""
    if ctx.last_skip_reason == reason:
        return ctx, NOTHING
    return replace(ctx, last_skip_reason=reason), NOTHING


def _enter(
    ctx: ArbitrageContext,
    now: float,
    opportunity: Opportunity,
    spot_limit: float,
    futures_limit: float,
) -> Result:
    """Both legs of an entry, limited at the level of each book the size reaches (the
    best, when it reaches no further)."""
    seq = ctx.order_seq
    qty = opportunity.qty
    buy = _new_order(ctx, seq + 1, Leg.SPOT, Side.BUY, qty, spot_limit, opportunity.spot_ask, now)
    sell = _new_order(
        ctx, seq + 2, Leg.FUTURES, Side.SELL, qty, futures_limit, opportunity.futures_bid, now
    )
    entered = replace(
        ctx,
        state=ENTERING,
        active_orders={"spot": {buy.client_id: buy}, "futures": {sell.client_id: sell}},
        order_seq=seq + 2,
        deadline=now + ctx.params.leg_timeout_s,
        overdue_count=0,
        current_opportunity=opportunity,
        # A new cycle's totals, or those of an entry that ended holding less than a venue
        # takes: what it held and paid is part of the cycle that sells it.
        cycle=ctx.cycle,
        exit_reason=None,
        imbalance_goal=None,
        correction_attempts=0,
        last_skip_reason=None,
        last_update=now,
    )
    # Priced on these quotes: a leg that cannot leave soon (a 5xx, its lookup, a rate
    # limit) is not sent late on them (the router reports it rejected).
    send_by = now + ctx.params.entry_send_within_s
    return entered, (PlaceOrder(buy, send_by), PlaceOrder(sell, send_by))


def _watch_position(
    ctx: ArbitrageContext, now: float, spot: Quote | None, futures: Quote | None
) -> Result:
    if spot is None or futures is None:
        return ctx, NOTHING
    sb = spot.bid
    fa = futures.ask
    if sb <= 0.0 or fa <= 0.0:
        return ctx, NOTHING
    params = ctx.params
    reason = ctx.exit_reason
    if reason is None:
        carry = carry_params(ctx)
        window = params.settlement_window_s if carry is None else carry.exit_window_s
        reason = _out_of_time(ctx, now, carry, window)
        fresh = _fresh(params.max_quote_age_s, now, spot, futures)
        if reason is None:
            if not fresh:
                return ctx, NOTHING
            pnl = pnl_if_closed(ctx, sb, fa)
            position = ctx.positions.spot
            notional = position.qty * position.avg_price
            if carry is None and (
                pnl_pct(pnl, position.qty, position.avg_price) >= params.min_profit_pct
            ):
                reason = "profit"
            elif _kill_switch_due(ctx, pnl):
                ctx = replace(
                    ctx,
                    paused_reason=f"{KILL_SWITCH}: the loss reached max_loss_usdt "
                    f"{params.max_loss_usdt:g}",
                )
                return _start_exit(ctx, now, sb, fa, "kill_switch")
            elif _stop_loss_due(ctx, pnl, notional):
                return _start_exit(ctx, now, sb, fa, STOP_LOSS)
            elif carry is not None and _funding_turned(ctx, now, carry):
                return _start_exit(ctx, now, sb, fa, FUNDING_TURNED)
            elif carry is not None and (
                pnl - ctx.cycle.funding_usdt <= -carry.basis_stop_pct / 100.0 * notional
            ):
                return _start_exit(ctx, now, sb, fa, BASIS_STOP)
            elif ctx.reduction is not None:
                return _start_reduction(ctx, now, sb, fa, ctx.reduction)
            elif ctx.settlement_wait_floor_usdt is not None:
                reason = "profit"  # decided before its wait, which ends below
            else:
                return ctx, NOTHING
        if window > 0.0 and fresh and not _exit_demanded(ctx, sb, fa):
            floor = ctx.settlement_wait_floor_usdt
            if floor is None or pnl_if_closed(ctx, sb, fa) >= floor:
                waiting = _wait_for_settlement(ctx, now, window, sb, fa, reason == "profit")
                if waiting is not None:
                    return waiting, NOTHING
    return _start_exit(ctx, now, sb, fa, reason)


def _out_of_time(
    ctx: ArbitrageContext, now: float, carry: CarryParams | None, window: float
) -> str | None:
    """``timeout`` (``horizon`` for a carry) once the position is as old as it may be,
    or, with a settlement window, already when a settlement it would pay falls less
    than the window before that time and is itself less than the window away: the exit
    is made before it rather than just after."""
    opened = ctx.position_opened_at
    if opened is None:
        return None
    if carry is None:
        reason, due = "timeout", opened + ctx.params.max_hours * 3600.0
    else:
        reason, due = HORIZON, opened + carry.horizon_h * 3600.0
    if now >= due:
        return reason
    if window > 0.0:
        settles, rate = _next_settlement(ctx, now)
        paying_ahead = rate is not None and rate < 0.0 and settles - now <= window
        if paying_ahead and settles <= due < settles + window:
            return reason
    return None


def _next_settlement(ctx: ArbitrageContext, now: float) -> tuple[float, float | None]:
    return rate_at_next(
        now, ctx.funding_rate, ctx.funding_next_ts, ctx.funding_interval_s, ctx.funding_history
    )


def _wait_for_settlement(
    ctx: ArbitrageContext, now: float, window: float, sb: float, fa: float, profit: bool
) -> ArbitrageContext | None:
    """The context of an exit that waits for the next settlement, or ``None`` when it
    goes now. It waits while a settlement the short receives is at most ``window``
    away, and from then until it has been applied or ``settlement_grace_s`` has passed
    since; once it went past one, it waits for no other within the next window.

    A ``profit`` exit that begins to wait keeps its floor: the P&L if closed now, less
    what the settlement is expected to pay (its rate on the short at ``fa``). A profit
    is taken on a swing of the basis, which the basis tends to give back; once the wait
    has cost more than the settlement would pay, the exit goes (the caller checks)."""
    grace = ctx.params.settlement_grace_s
    waited = ctx.settlement_wait
    if waited is not None:
        applied = ctx.funding_applied_until is not None and ctx.funding_applied_until >= waited
        if now < waited + grace and not applied:
            return ctx
        if now < waited + grace + window:
            return None
    settles, rate = _next_settlement(ctx, now)
    if rate is None or rate <= 0.0 or settles - now > window:
        return None
    floor = None
    if profit:
        floor = pnl_if_closed(ctx, sb, fa) - rate * ctx.positions.futures.qty * fa
    return replace(ctx, settlement_wait=settles, settlement_wait_floor_usdt=floor, last_update=now)


def _exit_demanded(ctx: ArbitrageContext, sb: float, fa: float) -> bool:
    """Something besides time or profit wants the position closed: the kill switch or
    the cycle's stop (on the quotes now), a reduction, the portfolio's risk mode, or
    the strategy stopping. Such an exit never waits for a settlement."""
    if ctx.reduction is not None or ctx.risk_mode is not ACTIVE or ctx.stop_requested:
        return True
    pnl = pnl_if_closed(ctx, sb, fa)
    position = ctx.positions.spot
    return _kill_switch_due(ctx, pnl) or _stop_loss_due(ctx, pnl, position.qty * position.avg_price)


def _kill_switch_due(ctx: ArbitrageContext, pnl: float) -> bool:
    """What earlier cycles realized plus ``pnl`` (this cycle's, closed now), less the
    baseline, has reached ``-max_loss_usdt``."""
    limit = ctx.params.max_loss_usdt
    return limit is not None and (
        ctx.realized_pnl_usdt - ctx.cycle.realized_usdt + pnl - ctx.loss_baseline_usdt <= -limit
    )


def _stop_loss_due(ctx: ArbitrageContext, pnl: float, notional: float) -> bool:
    stop = ctx.params.cycle_stop_loss_pct
    return stop is not None and pnl <= -stop / 100.0 * notional


def _funding_turned(ctx: ArbitrageContext, now: float, carry: CarryParams) -> bool:
    """The indicative rate has made the short pay for ``adverse_hours`` of the
    position's life."""
    since = ctx.funding_adverse_since
    if since is None:
        return False
    opened = ctx.position_opened_at
    if opened is not None:
        since = max(since, opened)
    return now - since >= carry.adverse_hours * 3600.0


def _start_reduction(
    ctx: ArbitrageContext, now: float, sb: float, fa: float, reduction: Reduction
) -> Result:
    """Close ``reduction.fraction`` of both legs together, the same quantity on each, so
    they stay hedged; the rest stays open. Where that part, or what it would leave, is
    less than a venue takes, the whole position is closed instead."""
    positions = ctx.positions
    rules = ctx.rules
    held = min(positions.spot.qty, positions.futures.qty)
    qty = round_down(
        reduction.fraction * held, common_step(rules.spot.qty_step, rules.futures.contract_size)
    )
    left = held - qty
    if (
        _is_dust(qty, rules.spot, sb)
        or _is_dust(qty, rules.futures, fa)
        or _is_dust(left, rules.spot, sb)
        or _is_dust(left, rules.futures, fa)
    ):
        return _start_exit(replace(ctx, reduction=None), now, sb, fa, reduction.reason)
    seq = ctx.order_seq
    sell = _new_order(ctx, seq + 1, Leg.SPOT, Side.SELL, qty, sb, sb, now)
    buy = _new_order(ctx, seq + 2, Leg.FUTURES, Side.BUY, qty, fa, fa, now, reduce_only=True)
    reducing = replace(
        ctx,
        state=EXITING,
        active_orders={"spot": {sell.client_id: sell}, "futures": {buy.client_id: buy}},
        order_seq=seq + 2,
        deadline=now + ctx.params.leg_timeout_s,
        overdue_count=0,
        reduction=None,
        last_update=now,
    )
    alert = Alert(
        "info",
        f"reducing both legs by {qty:g} of {held:g} ({reduction.fraction:.0%}): {reduction.reason}",
    )
    return reducing, (alert, PlaceOrder(sell), PlaceOrder(buy))


def pnl_if_closed(ctx: ArbitrageContext, sb: float, fa: float) -> float:
    """The current cycle's P&L in USDT if both legs were closed now at (``sb``, ``fa``).

    What the cycle already realized (fees, funding, any part closed) plus the strategy's exit
    cash flows on what is held, against what it cost.
    """
    params = ctx.params
    spot = ctx.positions.spot
    futures = ctx.positions.futures
    return (
        ctx.cycle.realized_usdt
        + spot.qty * (sb * (1.0 - params.spot_fee) - spot.avg_price)
        + futures.qty * (futures.avg_price - fa * (1.0 + params.fut_fee))
    )


def _start_exit(
    ctx: ArbitrageContext,
    now: float,
    sb: float,
    fa: float,
    reason: str,
    correcting: bool = False,
) -> Result:
    """Close both legs at (``sb``, ``fa``); ``correcting`` (flattening legs that could not
    be matched) prices each as a correction, within ``correction_slippage_pct``."""
    before = ctx
    ctx = _unhedged_to(ctx, now)
    positions = ctx.positions
    rules = ctx.rules
    seq = ctx.order_seq
    orders: dict[str, dict[str, Order]] = {}
    commands: list[StrategyCommand] = []
    spot_qty = round_down(positions.spot.qty, rules.spot.qty_step)
    if not _is_dust(spot_qty, rules.spot, sb):
        seq += 1
        price = _limit_price(ctx, Leg.SPOT, Side.SELL, sb) if correcting else sb
        sell = _new_order(ctx, seq, Leg.SPOT, Side.SELL, spot_qty, price, sb, now, limit=correcting)
        orders["spot"] = {sell.client_id: sell}
        commands.append(PlaceOrder(sell))
    futures_qty = round_down(positions.futures.qty, rules.futures.contract_size)
    if not _is_dust(futures_qty, rules.futures, fa):
        seq += 1
        price = _limit_price(ctx, Leg.FUTURES, Side.BUY, fa) if correcting else fa
        buy = _new_order(
            ctx, seq, Leg.FUTURES, Side.BUY, futures_qty, price, fa, now, True, limit=correcting
        )
        orders["futures"] = {buy.client_id: buy}
        commands.append(PlaceOrder(buy))
    if not orders:  # nothing any venue would take at these prices
        if not _left_as_dust(ctx):
            return before, NOTHING  # the legs still differ: try again at the next quotes
        closing = replace(ctx, exit_reason=reason)
        return _finish_cycle(closing, now)
    exiting = replace(
        ctx,
        state=EXITING,
        active_orders=orders,
        order_seq=seq,
        deadline=now + ctx.params.leg_timeout_s,
        overdue_count=0,
        exit_reason=reason,
        last_update=now,
    )
    return exiting, tuple(commands)


def _chase_overdue(ctx: ArbitrageContext, now: float) -> Result:
    """Orders outlived their deadline: cancel what is open, and keep asking until it ends."""
    ctx = _unhedged_to(ctx, now)
    count = ctx.overdue_count + 1
    commands: list[StrategyCommand] = [
        CancelOrder(Leg(leg), client_id, ctx.symbol)
        for leg, orders in ctx.active_orders.items()
        for client_id in orders
    ]
    if count > 1:
        commands.append(
            Alert(
                "warning",
                f"{len(commands)} order(s) still unresolved {count} timeouts after "
                f"being placed; cancel sent again",
            )
        )
    chased = replace(
        ctx, deadline=now + ctx.params.leg_timeout_s, overdue_count=count, last_update=now
    )
    return chased, tuple(commands)


def _correct(
    ctx: ArbitrageContext,
    now: float,
    spot: Quote | None,
    futures: Quote | None,
    limits: EntryLimits = NO_LIMITS,
) -> Result:
    """Place the next corrective order of an IMBALANCED strategy."""
    if spot is None or futures is None:
        return ctx, NOTHING
    goal = ctx.imbalance_goal
    if goal == GOAL_FLATTEN:
        if spot.bid <= 0.0 or futures.ask <= 0.0:
            return ctx, NOTHING
        return _start_exit(ctx, now, spot.bid, futures.ask, "flatten", correcting=True)
    delta = ctx.positions.delta_qty
    price = _reference_price(ctx)
    if not _legs_differ(ctx, price):
        # Nothing left that either venue would take (its rules changed, or a record
        # restored as IMBALANCED whose legs match): settle where the legs are.
        return _settle(ctx, now)
    if goal == GOAL_MATCH and delta > 0:
        return _match_the_short(ctx, now, spot, delta)
    if goal in (GOAL_FLAT, GOAL_MATCH) or ctx.risk_mode is not ACTIVE:
        # Reducing: never grow a leg, even to match the other; close towards flat, which
        # always finds an order while the legs differ by what a venue takes.
        return _correct_towards_flat(ctx, now, spot, futures, delta)
    # An entry half-filled: finish the lagging leg or, on alternate attempts, trim the
    # excess one.
    finish, trim = (
        ((Leg.FUTURES, Side.SELL), (Leg.SPOT, Side.SELL))
        if delta > 0
        else ((Leg.SPOT, Side.BUY), (Leg.FUTURES, Side.BUY))
    )
    choices = [finish, trim] if ctx.correction_attempts % 2 == 0 else [trim, finish]
    for leg, side in choices:
        quote = spot if leg is Leg.SPOT else futures
        price = quote.ask if side is Side.BUY else quote.bid
        if price <= 0.0:
            continue
        rules = ctx.rules.spot if leg is Leg.SPOT else ctx.rules.futures
        step_size = rules.qty_step if leg is Leg.SPOT else rules.contract_size
        qty = round_down(abs(delta), step_size)
        if leg is Leg.SPOT and side is Side.SELL:
            # The delta counts base-coin fees the account no longer holds: a sell is
            # sized from what the leg holds, or the venue refuses it for the balance.
            qty = min(qty, round_down(ctx.positions.spot.qty, step_size))
        if _is_dust(qty, rules, price):
            continue
        if (leg, side) == finish:
            # The caps counted the lagging leg grown at cost: growing it at a dearer
            # price takes the difference from the room left.
            lagging = ctx.positions.spot if leg is Leg.SPOT else ctx.positions.futures
            grown = lagging.qty * lagging.avg_price + qty * price
            if grown - open_goal_notional(ctx) > limits.room_usdt:
                continue
        return _place_correction(ctx, now, leg, side, qty, price)
    # Neither the difference rounded down to a step nor the room left makes an order a
    # venue takes: close towards flat rather than wait for quotes that change nothing
    # (no attempt would be counted, and the bound on them would never be reached).
    return _correct_towards_flat(ctx, now, spot, futures, delta)


def _match_the_short(ctx: ArbitrageContext, now: float, spot: Quote, delta: float) -> Result:
    """The venue reduced the short by itself: sell the spot leg down by the difference,
    rounded down to the spot step (never past it, which would leave the short the larger
    leg and a correction to buy it back), and go on with the smaller hedged position. A
    difference the spot venue does not take is left as dust, as after any exit."""
    price = spot.bid
    if price <= 0.0:
        return ctx, NOTHING  # no price to sell at yet: wait for the next quotes
    rules = ctx.rules.spot
    held = round_down(max(ctx.positions.spot.qty, 0.0), rules.qty_step)
    qty = min(round_down(delta, rules.qty_step), held)
    if not _is_dust(qty, rules, price):
        return _place_correction(ctx, now, Leg.SPOT, Side.SELL, qty, price)
    if _is_dust(ctx.positions.futures.qty, ctx.rules.futures, price):
        return _finish_cycle(ctx, now)
    return _hold_position(ctx, now), NOTHING


def open_goal_notional(ctx: ArbitrageContext) -> float:
    """What the caps count each leg of an entry that filled one leg more than the other
    at, until corrected: the larger leg's quantity at the dearer leg's cost, since the
    correction may grow the lagging leg to it (``exposure.exposure_of``)."""
    positions = ctx.positions
    price = max(positions.spot.avg_price, positions.futures.avg_price)
    return max(positions.spot.qty, positions.futures.qty, 0.0) * price


def _correct_towards_flat(
    ctx: ArbitrageContext, now: float, spot: Quote, futures: Quote, delta: float
) -> Result:
    """An exit half-filled: close more, and never open or add to either leg.

    The leg holding more closes the difference rounded *up* to what its venue takes
    (whole contracts, its smallest order), capped at what it holds: where that closes a
    little more than the difference, the other leg now holds more, and the next
    correction closes that. Where the leg holding more holds less than its venue takes,
    the other leg is closed whole instead. Where neither venue takes what is left, it
    is dust, as after any exit, and the cycle ends; unless only the current prices make
    it so (``_left_as_dust``): then it waits for the next quotes.
    """
    positions = ctx.positions
    larger, smaller = (
        ((Leg.SPOT, Side.SELL), (Leg.FUTURES, Side.BUY))
        if delta > 0
        else ((Leg.FUTURES, Side.BUY), (Leg.SPOT, Side.SELL))
    )
    for (leg, side), wanted in ((larger, abs(delta)), (smaller, None)):
        quote = spot if leg is Leg.SPOT else futures
        price = quote.ask if side is Side.BUY else quote.bid
        if price <= 0.0:
            return ctx, NOTHING  # no price to close at yet: wait for the next quotes
        rules = ctx.rules.spot if leg is Leg.SPOT else ctx.rules.futures
        step_size = rules.qty_step if leg is Leg.SPOT else rules.contract_size
        held = positions.spot.qty if leg is Leg.SPOT else positions.futures.qty
        held = round_down(max(held, 0.0), step_size)
        qty = held
        if wanted is not None:
            smallest = round_up(min_order_usdt(rules, price) / price, step_size)
            qty = min(max(round_up(wanted, step_size), smallest), held)
        if not _is_dust(qty, rules, price):
            return _place_correction(ctx, now, leg, side, qty, price)
    if not _left_as_dust(ctx):
        return ctx, NOTHING  # the legs still differ: try again at the next quotes
    return _finish_cycle(ctx, now)


def _place_correction(
    ctx: ArbitrageContext, now: float, leg: Leg, side: Side, qty: float, best: float
) -> Result:
    """Send one corrective order: a limit IOC at most ``correction_slippage_pct`` past the
    ``best`` price on its side, whatever ``order_type`` says (a market order on MEXC
    takes no price to bound it by)."""
    ctx = _unhedged_to(ctx, now)
    reduce_only = leg is Leg.FUTURES and side is Side.BUY
    price = _limit_price(ctx, leg, side, best)
    order = _new_order(
        ctx,
        ctx.order_seq + 1,
        leg,
        side,
        qty,
        price,
        best,
        now,
        reduce_only=reduce_only,
        limit=True,
    )
    correcting = replace(
        ctx,
        active_orders={leg.value: {order.client_id: order}},
        order_seq=ctx.order_seq + 1,
        deadline=now + ctx.params.leg_timeout_s,
        overdue_count=0,
        last_update=now,
    )
    return correcting, (PlaceOrder(order),)


# ----------------------------------------------------------------- order events


def _on_accepted(ctx: ArbitrageContext, event: OrderAccepted) -> Result:
    found = _find_order(ctx, event.client_id)
    if found is None:
        return ctx, NOTHING
    leg, order = found
    if order.status is not OrderStatus.PENDING and order.venue_order_id is not None:
        return ctx, NOTHING
    status = OrderStatus.NEW if order.status is OrderStatus.PENDING else order.status
    updated = replace(order, status=status, venue_order_id=event.venue_order_id)
    return _with_order(ctx, leg, updated, event.now), NOTHING


def _on_fill(ctx: ArbitrageContext, fill: Fill) -> Result:
    found = _find_order(ctx, fill.client_id)
    if found is None:
        return ctx, (
            Alert(
                "warning",
                f"fill {fill.trade_id} of {fill.qty:g} @ {fill.price:g} is for order "
                f"{fill.client_id}, which is not in flight; left to reconciliation",
            ),
        )
    leg, order = found
    if fill.trade_id in order.trade_ids:
        return ctx, NOTHING  # delivered twice
    # A commission charged in the base coin comes out of what the spot leg holds.
    base_fee = fill.commission if fill.commission_asset == ctx.symbol.base else 0.0
    return _apply_fill(
        ctx, leg, order, fill.qty, fill.price, fill.fee, fill.trade_id, fill.ts, base_fee,
        fill.commission, fill.commission_asset,
    )  # fmt: skip


def _on_final(ctx: ArbitrageContext, event: OrderFinal) -> Result:
    found = _find_order(ctx, event.client_id)
    if found is None:
        return ctx, NOTHING  # already settled: a repeated final state
    ctx = _unhedged_to(ctx, event.now)
    leg, order = found
    commands: tuple[StrategyCommand, ...] = NOTHING
    missing = event.filled_qty - order.filled_qty
    if missing > _qty_noise(order.qty):
        # The venue filled more than the fills we were given: its figure is the truth.
        if event.avg_price > 0.0:
            value = event.avg_price * event.filled_qty - order.avg_price * order.filled_qty
            price = value / missing
        else:
            price = order.price
        fee_rate = ctx.params.spot_fee if leg is Leg.SPOT else ctx.params.fut_fee
        ctx, commands = _apply_fill(
            ctx, leg, order, missing, price, missing * price * fee_rate,
            f"final-{order.client_id}", event.now,
        )  # fmt: skip
        order = ctx.active_orders[leg.value][order.client_id]
        commands += (
            Alert(
                "warning",
                f"order {order.client_id} ended {event.status.value} with {missing:g} more "
                f"filled than its fills showed; adopted the venue's figure",
            ),
        )
    ctx = _without_order(ctx, leg, order.client_id, event.now)
    if ctx.active_orders:
        resized, more = _resize_working(ctx, order, event.now)
        return resized, commands + more
    settled, more = _settle(ctx, event.now)
    return settled, commands + more


def _on_rejected(ctx: ArbitrageContext, event: OrderRejected) -> Result:
    found = _find_order(ctx, event.client_id)
    if found is None:
        return ctx, NOTHING
    leg, order = found
    ctx = _unhedged_to(ctx, event.now)
    alert = Alert("warning", f"{leg.value} order {order.client_id} rejected: {event.reason}")
    ctx = _without_order(ctx, leg, order.client_id, event.now)
    ctx = replace(ctx, last_error=f"{leg.value} order rejected: {event.reason}")
    if ctx.active_orders:
        resized, more = _resize_working(ctx, order, event.now)
        return resized, (alert, *more)
    settled, more = _settle(ctx, event.now)
    return settled, (alert, *more)


def _resize_working(ctx: ArbitrageContext, ended: Order, now: float) -> Result:
    """One leg of an entry or exit ended having filled less than it asked while the
    other leg's order still works at its venue: bring that order down to what matches
    the legs, now rather than by a correction once both have ended.

    On a venue that amends (:data:`AMENDING_VENUES`) the order is amended to its new
    total, and the machine's order takes that quantity at once: what it asks is what
    was last sent, and what it holds is what fills, whether the venue took the amend
    before a fill or not. Elsewhere it is cancelled, as is an order that has already
    filled what matches (the correction then trims any excess). An order not yet
    accepted is left: it may not be at its venue yet, and its deadline chases it."""
    if ctx.state not in (ENTERING, EXITING) or ended.filled_qty >= ended.qty - _qty_noise(
        ended.qty
    ):
        return ctx, NOTHING
    commands: list[StrategyCommand] = []
    for leg_name, orders in ctx.active_orders.items():
        leg = Leg(leg_name)
        if leg is ended.leg:
            continue
        for order in orders.values():
            if order.status not in _WORKING:
                continue
            # A buy (spot bought, short bought back) raises spot-minus-short, a sell
            # lowers it: what the order may still trade is what brings it to 0.
            delta = ctx.positions.delta_qty
            needed = max(0.0, -delta) if order.side is Side.BUY else max(0.0, delta)
            rules = ctx.rules.spot if leg is Leg.SPOT else ctx.rules.futures
            step_size = rules.qty_step if leg is Leg.SPOT else rules.contract_size
            target = round_down(order.filled_qty + needed, step_size)
            noise = _qty_noise(order.qty)
            if target >= order.qty - noise:
                continue
            venue = ctx.spot_venue if leg is Leg.SPOT else ctx.futures_venue
            if target <= order.filled_qty + noise or venue not in AMENDING_VENUES:
                commands.append(CancelOrder(leg, order.client_id, ctx.symbol))
                continue
            commands.append(AmendOrder(leg, order.client_id, ctx.symbol, target))
            ctx = _with_order(ctx, leg, replace(order, qty=target), now)
    return ctx, tuple(commands)


def _apply_fill(
    ctx: ArbitrageContext,
    leg: Leg,
    order: Order,
    qty: float,
    price: float,
    fee: float,
    trade_id: str,
    ts: float,
    base_fee: float = 0.0,
    commission: float = 0.0,
    commission_asset: str = "",
) -> Result:
    """Move ``leg`` by a fill of ``order``; the command is its ``FillRecord``."""
    ctx = _unhedged_to(ctx, ts)  # the legs as they were until this fill
    filled = order.filled_qty + qty
    avg = (order.avg_price * order.filled_qty + price * qty) / filled if filled > 0 else 0.0
    status = (
        OrderStatus.FILLED
        if filled >= order.qty - _qty_noise(order.qty)
        else OrderStatus.PARTIALLY_FILLED
    )
    updated = replace(
        order,
        filled_qty=filled,
        avg_price=avg,
        fees=order.fees + fee,
        status=status,
        trade_ids=(*order.trade_ids, trade_id),
    )
    decision = order.decision_price if order.decision_price > 0.0 else price
    positions = ctx.positions
    cycle = _decomposed(ctx.cycle, ctx.params)
    value = qty * price
    past = qty * (price - decision)  # what the fill got beyond its decision price
    if leg is Leg.SPOT:
        grows = order.side is Side.BUY
        before = positions.spot
        position, realized = leg_after_fill(
            before, grows, qty, price, fee, True, base_fee, decision
        )
        basis, slippage = split_realized(
            before, position, grows, qty, price, decision, True, base_fee
        )
        positions = replace(positions, spot=position)
        cycle = (
            replace(cycle, spot_bought_qty=cycle.spot_bought_qty + qty,
                    spot_bought_value=cycle.spot_bought_value + value,
                    spot_bought_past_decision=cycle.spot_bought_past_decision + past)
            if grows
            else replace(cycle, spot_sold_qty=cycle.spot_sold_qty + qty,
                         spot_sold_value=cycle.spot_sold_value + value,
                         spot_sold_past_decision=cycle.spot_sold_past_decision + past)
        )  # fmt: skip
        cycle = replace(
            cycle,
            spot_fees_usdt=cycle.spot_fees_usdt + fee,
            spot_slippage_usdt=cycle.spot_slippage_usdt + slippage,
        )
    else:
        grows = order.side is Side.SELL
        before = positions.futures
        position, realized = leg_after_fill(
            before, grows, qty, price, fee, False, decision=decision
        )
        basis, slippage = split_realized(before, position, grows, qty, price, decision, False)
        positions = replace(positions, futures=position)
        cycle = (
            replace(cycle, futures_sold_qty=cycle.futures_sold_qty + qty,
                    futures_sold_value=cycle.futures_sold_value + value,
                    futures_sold_past_decision=cycle.futures_sold_past_decision + past)
            if grows
            else replace(cycle, futures_bought_qty=cycle.futures_bought_qty + qty,
                         futures_bought_value=cycle.futures_bought_value + value,
                         futures_bought_past_decision=cycle.futures_bought_past_decision + past)
        )  # fmt: skip
        cycle = replace(
            cycle,
            futures_fees_usdt=cycle.futures_fees_usdt + fee,
            futures_slippage_usdt=cycle.futures_slippage_usdt + slippage,
        )
    cycle = replace(
        cycle,
        realized_usdt=cycle.realized_usdt + realized,
        fees_usdt=cycle.fees_usdt + fee,
        basis_usdt=cycle.basis_usdt + basis,
        volume_usdt=cycle.volume_usdt + value,
    )
    record = FillRecord(
        task_id=ctx.task_id,
        cycle=ctx.arbitrage_cycles + 1,
        symbol=str(ctx.symbol),
        venue=ctx.spot_venue if leg is Leg.SPOT else ctx.futures_venue,
        leg=leg.value,
        side=order.side.value,
        role=_FILL_ROLES.get(ctx.state, ctx.state.value),
        client_id=order.client_id,
        trade_id=trade_id,
        ts=ts,
        qty=qty,
        price=price,
        decision_price=decision,
        fee_usdt=fee,
        commission=commission,
        commission_asset=commission_asset,
    )
    orders = dict(ctx.active_orders)
    orders[leg.value] = {**orders[leg.value], order.client_id: updated}
    moved = replace(
        ctx,
        positions=positions,
        cycle=cycle,
        active_orders=orders,
        realized_pnl_usdt=ctx.realized_pnl_usdt + realized,
        total_volume_usdt=ctx.total_volume_usdt + value,
        fees_usdt=ctx.fees_usdt + fee,
        last_update=ts,
    )
    return _unhedged_to(moved, ts), (record,)


_FILL_ROLES = {ENTERING: "entry", EXITING: "exit", IMBALANCED: "correction"}
"""What a fill was for (``FillRecord.role``), by the strategy's state when the fill is
applied, not by the state its order was placed in: the two agree, since ENTERING,
EXITING and IMBALANCED move on only once their last order in flight has ended."""


def leg_after_fill(
    position: LegPosition,
    grows: bool,
    qty: float,
    price: float,
    fee: float,
    long: bool,
    base_fee: float = 0.0,
    decision: float = 0.0,
) -> tuple[LegPosition, float]:
    """A leg after a fill, and the P&L the fill realized (its fee, and any part closed).

    ``long`` legs gain when price rises (spot); the futures leg is short. A fill larger
    than the position would flip it; the excess then opens at the fill price.
    ``base_fee`` is a commission the venue took in the base coin (``fee`` is its worth):
    those coins leave the leg at their cost, so the fill realizes ``-fee`` plus their
    gain from cost to the fill's price, and they join the leg's ``base_fees``.
    ``decision`` is the fill's decision price (0: its own price): the leg averages it
    over what it holds as it averages fill prices (:func:`split_realized`).
    """
    decided = decision if decision > 0.0 else price
    held_decision = decision_average(position)
    if grows:
        held = position.qty + qty
        if qty > 0.0:
            avg = (position.avg_price * position.qty + price * qty) / held
            avg_decision = (held_decision * position.qty + decided * qty) / held
        else:
            avg = position.avg_price
            avg_decision = held_decision
        realized = -fee
    else:
        closed = min(qty, max(position.qty, 0.0))
        gain = (
            (price - position.avg_price) * closed if long else (position.avg_price - price) * closed
        )
        held = position.qty - qty
        avg, avg_decision = (position.avg_price, held_decision) if held >= 0.0 else (price, decided)
        realized = gain - fee
    # The base coin fees took stay counted in proportion to what is still held.
    base_fees = position.base_fees
    if not grows and base_fees:
        base_fees *= max(held, 0.0) / position.qty if position.qty > 0.0 else 0.0
    if base_fee:
        held -= base_fee
        realized += (price - avg) * base_fee
        if grows:  # what a buy left held is hedged for what it bought
            base_fees += base_fee
    return LegPosition(held, avg, position.fees + fee, base_fees, avg_decision), realized


def decision_average(position: LegPosition) -> float:
    """The average decision price of what ``position`` holds; its average fill price
    where none is known (a record from before decision prices were kept)."""
    return position.decision_price if position.decision_price > 0.0 else position.avg_price


def split_realized(
    before: LegPosition,
    after: LegPosition,
    grows: bool,
    qty: float,
    price: float,
    decision: float,
    long: bool,
    base_fee: float = 0.0,
) -> tuple[float, float]:
    """What a fill that moved a leg from ``before`` to ``after`` (:func:`leg_after_fill`)
    realized beside its fee, split in two: the basis part, what the quantity it closed
    made from the decision prices it was held at to the fill's decision price, and the
    slippage part, what the fill's price got beyond its decision price less what the
    held quantity cost beyond its own (negative when worse). Their sum less the fee is
    what ``leg_after_fill`` realized (docs/strategy.md, "P&L of a cycle, decomposed").

    A growing fill closes nothing. Base-coin fee coins leave at the leg's averages
    after the fill, like a close on the long side."""
    decided = decision if decision > 0.0 else price
    basis = slippage = 0.0
    if not grows:
        closed = min(qty, max(before.qty, 0.0))
        held_decision = decision_average(before)
        sign = 1.0 if long else -1.0
        basis = sign * (decided - held_decision) * closed
        slippage = sign * ((price - decided) - (before.avg_price - held_decision)) * closed
    if base_fee:
        after_decision = decision_average(after)
        basis += (decided - after_decision) * base_fee
        slippage += ((price - decided) - (after.avg_price - after_decision)) * base_fee
    return basis, slippage


def _decomposed(cycle: Cycle, params: ArbitrageParams) -> Cycle:
    """``cycle``, decomposed. One restored from a record written before cycles were (it
    traded, yet counts no volume and no part) has what it realized until then split as
    its fills are counted, at their own prices: no slippage, the basis what they realized
    beside their fees and funding, and the fees between the legs in proportion to what
    each traded at its fee rate (the record kept only their sum)."""
    if cycle.volume_usdt > 0.0 or (
        cycle.basis_usdt
        or cycle.spot_fees_usdt
        or cycle.futures_fees_usdt
        or cycle.spot_slippage_usdt
        or cycle.futures_slippage_usdt
    ):
        return cycle
    spot_value = cycle.spot_bought_value + cycle.spot_sold_value
    futures_value = cycle.futures_sold_value + cycle.futures_bought_value
    if spot_value + futures_value <= 0.0:
        return cycle
    spot_fees = _spot_share_of_fees(cycle.fees_usdt, spot_value, futures_value, params)
    return replace(
        cycle,
        basis_usdt=cycle.realized_usdt - cycle.funding_usdt + cycle.fees_usdt,
        spot_fees_usdt=spot_fees,
        futures_fees_usdt=cycle.fees_usdt - spot_fees,
        volume_usdt=spot_value + futures_value,
    )


def _record_decomposed(trade: TradeRecord, params: ArbitrageParams) -> TradeRecord:
    """``trade``, decomposed: one closed before cycles were is split as
    :func:`_decomposed` splits a cycle, from its average prices."""
    if trade.volume_usdt > 0.0 or (
        trade.basis_usdt
        or trade.spot_fees_usdt
        or trade.futures_fees_usdt
        or trade.spot_slippage_usdt
        or trade.futures_slippage_usdt
    ):
        return trade
    spot_value = trade.qty * (trade.entry_spot_price + trade.exit_spot_price)
    futures_value = trade.qty * (trade.entry_futures_price + trade.exit_futures_price)
    spot_fees = _spot_share_of_fees(trade.fees_usdt, spot_value, futures_value, params)
    return replace(
        trade,
        entry_spot_decision=trade.entry_spot_price,
        entry_futures_decision=trade.entry_futures_price,
        exit_spot_decision=trade.exit_spot_price,
        exit_futures_decision=trade.exit_futures_price,
        basis_usdt=trade.pnl_usdt - trade.funding_usdt + trade.fees_usdt,
        spot_fees_usdt=spot_fees,
        futures_fees_usdt=trade.fees_usdt - spot_fees,
        volume_usdt=spot_value + futures_value,
    )


def _spot_share_of_fees(
    fees: float, spot_value: float, futures_value: float, params: ArbitrageParams
) -> float:
    """The spot leg's part of ``fees`` paid on both legs, when only their sum is known:
    in proportion to what each leg traded at its fee rate."""
    spot_weight = params.spot_fee * spot_value
    weights = spot_weight + params.fut_fee * futures_value
    return fees * spot_weight / weights if weights > 0.0 else 0.0


def _settle(ctx: ArbitrageContext, now: float) -> Result:
    """Every order of an entry, exit or correction has ended: where does that leave us?"""
    positions = ctx.positions
    price = _reference_price(ctx)
    ctx = replace(ctx, deadline=None, overdue_count=0)
    imbalance_usdt = abs(positions.delta_qty) * price
    if _legs_differ(ctx, price):
        return _imbalanced(ctx, now, imbalance_usdt)
    if not holds_position(ctx):
        if ctx.cycle.spot_sold_qty > 0.0 or ctx.cycle.futures_bought_qty > 0.0:
            return _finish_cycle(ctx, now)
        # Nothing (or dust) filled on entry: no position was taken. Its fills (their fees,
        # the dust) go on into the next cycle.
        return _at_rest(ctx, now, ctx.cycle), NOTHING
    return _hold_position(ctx, now), NOTHING


def holds_position(ctx: ArbitrageContext) -> bool:
    """Either leg holds what its venue would take, valued at what the legs cost (the
    rule ``_settle`` ends a cycle by): a position is open. Both legs dust (what an exit
    leaves, or nothing at all) is no position, for the series, the statistics and the
    status alike."""
    positions = ctx.positions
    price = _reference_price(ctx)
    return not (
        _is_dust(positions.spot.qty, ctx.rules.spot, price)
        and _is_dust(positions.futures.qty, ctx.rules.futures, price)
    )


def unattributed_pnl_usdt(ctx: ArbitrageContext) -> float:
    """The part of the strategy's realized P&L that no cycle record holds yet: at rest,
    what the totals carried into the next cycle realized (an entry left as dust, a
    venue's reduction of dust); nothing while a cycle is under way, whose record will
    hold it (docs/strategy.md, "P&L of a cycle, decomposed")."""
    if ctx.state in _REST_STATES or ctx.state is STOPPED:
        return ctx.cycle.realized_usdt
    return 0.0


def _hold_position(ctx: ArbitrageContext, now: float) -> ArbitrageContext:
    """Both legs held and hedged (up to what no venue takes): the position is open."""
    exit_reason = None if ctx.exit_reason == "profit" else ctx.exit_reason
    return replace(
        ctx,
        state=POSITION_OPEN,
        position_opened_at=now if ctx.position_opened_at is None else ctx.position_opened_at,
        exit_reason=exit_reason,
        imbalance_goal=None,
        correction_attempts=0,
        last_update=now,
    )


def _imbalanced(ctx: ArbitrageContext, now: float, imbalance_usdt: float) -> Result:
    state = ctx.state
    if state is IMBALANCED:
        goal = ctx.imbalance_goal or GOAL_OPEN
        attempts = ctx.correction_attempts + 1
    else:
        # After an exit, or once the venue reduced a leg by itself: only closing.
        goal = GOAL_OPEN
        if state is EXITING or ctx.imbalance_goal == GOAL_FLAT:
            goal = GOAL_FLAT
        elif ctx.imbalance_goal == GOAL_MATCH:
            goal = GOAL_MATCH
        attempts = 0
    limit = ctx.params.max_correction_attempts
    alert_text = f"legs differ by {imbalance_usdt:.2f} USDT; correcting"
    paused_reason = ctx.paused_reason
    if goal != GOAL_FLATTEN and attempts >= limit:
        goal = GOAL_FLATTEN
        paused_reason = (
            f"imbalance of {imbalance_usdt:.2f} USDT not corrected after {attempts} attempts; "
            "both legs flattened"
        )
        alert_text = f"legs still differ by {imbalance_usdt:.2f} USDT; flattening both legs"
    imbalanced = replace(
        ctx,
        state=IMBALANCED,
        imbalance_goal=goal,
        correction_attempts=attempts,
        paused_reason=paused_reason,
        last_update=now,
    )
    return imbalanced, (Alert("warning", alert_text),)


def _finish_cycle(ctx: ArbitrageContext, now: float) -> Result:
    ctx = _unhedged_to(ctx, now)
    cycle = _decomposed(ctx.cycle, ctx.params)
    qty = cycle.spot_bought_qty or cycle.futures_sold_qty
    entry_spot = _average(cycle.spot_bought_value, cycle.spot_bought_qty)
    opened = ctx.position_opened_at
    opportunity = ctx.current_opportunity
    if opened is None:
        opened = opportunity.ts if opportunity else now
    trade = TradeRecord(
        symbol=str(ctx.symbol),
        entry_ts=opened,
        exit_ts=now,
        qty=qty,
        entry_spot_price=entry_spot,
        entry_futures_price=_average(cycle.futures_sold_value, cycle.futures_sold_qty),
        exit_spot_price=_average(cycle.spot_sold_value, cycle.spot_sold_qty),
        exit_futures_price=_average(cycle.futures_bought_value, cycle.futures_bought_qty),
        pnl_usdt=cycle.realized_usdt,
        pnl_pct=pnl_pct(cycle.realized_usdt, qty, entry_spot),
        exit_reason=ctx.exit_reason or "unknown",
        fees_usdt=cycle.fees_usdt,
        funding_usdt=cycle.funding_usdt,
        spot_dust_qty=max(ctx.positions.spot.qty, 0.0),
        unhedged_usdt_s=cycle.unhedged_usdt_s,
        longest_unhedged_s=cycle.longest_unhedged_s,
        task_id=ctx.task_id,
        cycle=ctx.arbitrage_cycles + 1,
        spot_venue=ctx.spot_venue,
        futures_venue=ctx.futures_venue,
        decided_at=opportunity.ts if opportunity else None,
        entry_cost_pct=opportunity.entry_cost_pct if opportunity else None,
        entry_spot_decision=_average(
            cycle.spot_bought_value - cycle.spot_bought_past_decision, cycle.spot_bought_qty
        ),
        entry_futures_decision=_average(
            cycle.futures_sold_value - cycle.futures_sold_past_decision, cycle.futures_sold_qty
        ),
        exit_spot_decision=_average(
            cycle.spot_sold_value - cycle.spot_sold_past_decision, cycle.spot_sold_qty
        ),
        exit_futures_decision=_average(
            cycle.futures_bought_value - cycle.futures_bought_past_decision,
            cycle.futures_bought_qty,
        ),
        basis_usdt=cycle.basis_usdt,
        spot_fees_usdt=cycle.spot_fees_usdt,
        futures_fees_usdt=cycle.futures_fees_usdt,
        spot_slippage_usdt=cycle.spot_slippage_usdt,
        futures_slippage_usdt=cycle.futures_slippage_usdt,
        volume_usdt=cycle.volume_usdt,
    )
    began = _cycle_began_at(ctx)
    ctx = replace(
        ctx,
        arbitrage_cycles=ctx.arbitrage_cycles + 1,
        last_trade=trade,
        last_cycle_began_at=opened if began is None else min(began, opened),
    )
    params = ctx.params
    if (
        params.max_loss_usdt is not None
        and ctx.paused_reason is None
        and ctx.realized_pnl_usdt - ctx.loss_baseline_usdt <= -params.max_loss_usdt
    ):
        ctx = replace(
            ctx,
            paused_reason=f"{KILL_SWITCH}: realized loss reached max_loss_usdt "
            f"{params.max_loss_usdt:g}",
        )
    return _at_rest(ctx, now), (TradeClosed(trade),)


_NEW_CYCLE = Cycle()


def _at_rest(ctx: ArbitrageContext, now: float, cycle: Cycle = _NEW_CYCLE) -> ArbitrageContext:
    """Back to no position: monitoring, paused or stopped, after the cooldown, with
    ``cycle`` the totals the next cycle starts from."""
    rested = replace(
        ctx,
        position_opened_at=None,
        exit_reason=None,
        reduction=None,
        imbalance_goal=None,
        correction_attempts=0,
        current_opportunity=None,
        settlement_wait=None,
        settlement_wait_floor_usdt=None,
        cycle=cycle,
        cooldown_until=now + ctx.params.cooldown_s,
        last_update=now,
    )
    return replace(rested, state=_rest_state(rested))


def _rest_state(ctx: ArbitrageContext) -> ArbitrageState:
    if ctx.stop_requested:
        return STOPPED
    if ctx.paused_reason is not None or ctx.stale_legs or ctx.store_failing is not None:
        return PAUSED
    return MONITORING


# ------------------------------------------------------------ everything else


def _on_venue_position(ctx: ArbitrageContext, event: VenuePositionChanged) -> Result:
    """The venue holds less on the futures leg than the strategy, and no order of ours
    did it (auto-deleveraging, a liquidation, a trade by hand): the leg becomes what the
    venue holds, the part it closed realized at the venue's price, and the strategy
    sells the spot leg down by the difference (``_match_the_short``: only closing, never
    past the difference), then holds the smaller hedged position; the spot leg is sold
    whole when the short is gone (the cycle then ends as ``venue_reduced``).

    A report about another holding than the strategy's (``held_qty``: it traded since the
    venue was read) is stale and changes nothing: the venue is read again once its orders
    have settled. Orders in flight settle first; their end corrects what is left. A
    position open goes IMBALANCED at once (or stays open, or closes, if what is left
    matches)."""
    position = ctx.positions.futures
    if event.leg is not Leg.FUTURES or event.symbol != ctx.symbol:
        return ctx, NOTHING
    noise = _qty_noise(max(position.qty, event.held_qty))
    if abs(position.qty - event.held_qty) > noise:
        return ctx, NOTHING
    removed = position.qty - max(event.venue_qty, 0.0)
    if removed <= noise:
        return ctx, NOTHING
    price = event.price if event.price > 0.0 else position.avg_price
    futures, realized = leg_after_fill(position, False, removed, price, 0.0, False)
    # Closed at the venue's price with no decision of ours: the part closed realizes its
    # basis to that price, and the slippage its entry had.
    basis, slippage = split_realized(position, futures, False, removed, price, price, False)
    state = ctx.state
    holding = state not in _REST_STATES and state is not STOPPED
    if holding:
        ctx = _unhedged_to(ctx, event.now)  # the legs as they were until the venue moved
    # At rest (what is left is less than a venue takes) no cycle is open: its P&L joins
    # the totals carried into the next cycle's record, as an entry left as dust does,
    # but not its quantity, which no exit of that cycle closed.
    cycle = _decomposed(ctx.cycle, ctx.params)
    cycle = replace(
        cycle,
        realized_usdt=cycle.realized_usdt + realized,
        basis_usdt=cycle.basis_usdt + basis,
        futures_slippage_usdt=cycle.futures_slippage_usdt + slippage,
    )
    if holding:
        cycle = replace(
            cycle,
            futures_bought_qty=cycle.futures_bought_qty + removed,
            futures_bought_value=cycle.futures_bought_value + removed * price,
        )
    count = 1 if ctx.venue_reduction is None else ctx.venue_reduction.count + 1
    record = FillRecord(
        task_id=ctx.task_id,
        cycle=ctx.arbitrage_cycles + 1,
        symbol=str(ctx.symbol),
        venue=ctx.futures_venue,
        leg=Leg.FUTURES.value,
        side=Side.BUY.value,
        role="venue",
        client_id="",
        trade_id=f"{ctx.task_id}-venue-{count}",
        ts=event.now,
        qty=removed,
        price=price,
        decision_price=price,
        fee_usdt=0.0,
    )
    gone = _is_dust(futures.qty, ctx.rules.futures, price)
    alert = Alert(
        "error",
        f"{ctx.symbol}: the futures short went from {position.qty:g} to {futures.qty:g} "
        f"without an order of ours ({event.cause or 'found at the venue'}); "
        + (
            "no position was open"
            if not holding
            else "the spot leg will be unwound to match once the risk mode allows orders "
            "(halted: nothing is placed)"
            if ctx.risk_mode is HALTED
            else "the spot leg is being unwound to match"
        ),
    )
    ctx = replace(
        ctx,
        positions=replace(ctx.positions, futures=futures),
        cycle=cycle,
        realized_pnl_usdt=ctx.realized_pnl_usdt + realized,
        venue_reduction=VenueReduction(
            event.now,
            Leg.FUTURES.value,
            position.qty,
            futures.qty,
            event.cause,
            count,
        ),
        last_update=event.now,
    )
    if not holding:
        return ctx, (record, alert)
    ctx = replace(
        _unhedged_to(ctx, event.now),  # unhedged from the venue's move on, as it left them
        # A flattening, or an exit's correction towards flat, goes on: it closes both
        # legs anyway.
        imbalance_goal=ctx.imbalance_goal
        if ctx.imbalance_goal in (GOAL_FLATTEN, GOAL_FLAT)
        else GOAL_MATCH,
        exit_reason=ctx.exit_reason or (VENUE_REDUCED if gone else None),
    )
    if state is POSITION_OPEN:
        settled, more = _settle(ctx, event.now)
        return settled, (record, alert, *more)
    # ENTERING, EXITING, IMBALANCED: what is in flight ends first (an IMBALANCED strategy
    # with nothing in flight corrects at the next quotes, towards flat).
    return ctx, (record, alert)


def _on_feed_health(ctx: ArbitrageContext, event: FeedHealth) -> Result:
    leg = event.leg.value
    stale = set(ctx.stale_legs)
    if event.fresh:
        stale.discard(leg)
    else:
        stale.add(leg)
    legs = tuple(sorted(stale))
    if legs == ctx.stale_legs:
        return ctx, NOTHING
    ctx = replace(ctx, stale_legs=legs, last_update=event.now)
    if ctx.state in (MONITORING, PAUSED):
        ctx = replace(ctx, state=_rest_state(ctx))
    return ctx, NOTHING


def _on_store_health(ctx: ArbitrageContext, event: StoreHealth) -> Result:
    if event.failing == ctx.store_failing:
        return ctx, NOTHING
    ctx = replace(ctx, store_failing=event.failing, last_update=event.now)
    return _refresh_rest_state(ctx), NOTHING


def orders_left(ctx: ArbitrageContext, waited_s: float) -> ArbitrageContext:
    """The orders just decided left ``waited_s`` after the decision (their intents waited
    for the store): the deadline counts from when they left, so a leg timeout never
    fires for an order that was still waiting to leave."""
    if ctx.deadline is None or waited_s <= 0.0:
        return ctx
    return replace(ctx, deadline=ctx.deadline + waited_s)


FUNDING_IDS_KEPT = 64
"""Ledger ids of funding settlements a context remembers: those at the newest applied
settlement time are all it needs (``funding_applied_until`` rules out the older ones)."""


def _on_funding_payment(ctx: ArbitrageContext, event: FundingPayment) -> Result:
    """Add a settlement to the strategy's P&L when it was settled while a cycle's position
    was open: the current cycle's, or the last closed one's (reported after its exit; its
    trade record is amended). One settled before this task began, or already applied (by
    its time and ledger id), is not counted again; one settled while the strategy held no
    position is not the strategy's and is left out with a warning."""
    settled = event.now
    until = ctx.funding_applied_until
    if settled < ctx.created_at or (until is not None and settled < until):
        return ctx, NOTHING
    if event.ledger_id and event.ledger_id in ctx.funding_ledger_ids:
        return ctx, NOTHING
    ids = ctx.funding_ledger_ids if until == settled else ()
    if event.ledger_id:
        ids = (*ids, event.ledger_id)[-FUNDING_IDS_KEPT:]
    ctx = replace(ctx, funding_ledger_ids=ids, funding_applied_until=settled)
    amount = event.amount_usdt
    commands: tuple[StrategyCommand, ...] = NOTHING
    began = _cycle_began_at(ctx)
    last = ctx.last_trade
    last_began = ctx.last_cycle_began_at
    if began is not None and settled >= began:
        cycle = _decomposed(ctx.cycle, ctx.params)
        commands = (_funding_record(ctx, event, ctx.arbitrage_cycles + 1),)
        ctx = replace(
            ctx,
            cycle=replace(
                cycle,
                realized_usdt=cycle.realized_usdt + amount,
                funding_usdt=cycle.funding_usdt + amount,
            ),
        )
    elif last is not None and last_began is not None and last_began <= settled <= last.exit_ts:
        last = _record_decomposed(last, ctx.params)
        if last.cycle == 0:
            # Closed before records named their task and cycle: it is this task's last.
            last = replace(last, task_id=ctx.task_id, cycle=ctx.arbitrage_cycles)
        pnl = last.pnl_usdt + amount
        last = replace(
            last,
            pnl_usdt=pnl,
            pnl_pct=pnl_pct(pnl, last.qty, last.entry_spot_price),
            funding_usdt=last.funding_usdt + amount,
        )
        ctx = replace(ctx, last_trade=last)
        commands = (_funding_record(ctx, event, last.cycle), TradeAmended(last))
    else:
        warning = Alert(
            "warning",
            f"funding settlement {event.ledger_id or '?'} of {amount:+.4f} USDT at {settled:.0f} "
            "was paid while the strategy held no position: not the strategy's, left out",
        )
        return replace(ctx, last_update=settled), (warning,)
    paid = replace(
        ctx,
        funding_usdt=ctx.funding_usdt + amount,
        realized_pnl_usdt=ctx.realized_pnl_usdt + amount,
        last_update=settled,
    )
    return paid, commands


def _funding_record(ctx: ArbitrageContext, event: FundingPayment, cycle: int) -> FundingRecord:
    return FundingRecord(
        task_id=ctx.task_id,
        cycle=cycle,
        symbol=str(ctx.symbol),
        venue=ctx.futures_venue,
        ledger_id=event.ledger_id,
        ts=event.now,
        amount_usdt=event.amount_usdt,
    )


def _cycle_began_at(ctx: ArbitrageContext) -> float | None:
    """When the current cycle decided to enter, or took its position if it knows no
    decision; None at rest."""
    times = [ctx.position_opened_at]
    if ctx.current_opportunity is not None:
        times.append(ctx.current_opportunity.ts)
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _on_funding_rate(ctx: ArbitrageContext, event: FundingRateUpdate) -> Result:
    """A new indicative rate. Once one comes for a later settlement than the rate known,
    that rate was the one settled: it goes into the decayed mean the forecast counts
    (``funding_forecast.fold``, once per settlement). A ``funding_carry`` task notes
    since when the rate has made the short pay."""
    if (ctx.funding_rate, ctx.funding_interval_s, ctx.funding_next_ts) == (
        event.rate,
        event.interval_s,
        event.next_ts,
    ):
        return ctx, NOTHING
    history = ctx.funding_history
    settled = ctx.funding_next_ts
    if (
        ctx.funding_rate is not None
        and settled is not None
        and event.next_ts is not None
        and event.next_ts > settled
        and event.now >= settled
    ):
        history = fold(
            history,
            ctx.funding_rate,
            ctx.funding_interval_s,
            settled,
            ctx.params.funding_half_life_h,
        )
    adverse_since = ctx.funding_adverse_since
    if ctx.task_type == FUNDING_CARRY:
        if event.rate >= 0.0:
            adverse_since = None
        elif adverse_since is None:
            adverse_since = event.now
    updated = replace(
        ctx,
        funding_rate=event.rate,
        funding_interval_s=event.interval_s,
        funding_next_ts=event.next_ts,
        funding_history=history,
        funding_adverse_since=adverse_since,
    )
    return updated, NOTHING


def _on_rules(ctx: ArbitrageContext, event: RulesUpdate) -> Result:
    current = ctx.rules.spot if event.leg is Leg.SPOT else ctx.rules.futures
    if current == event.rules:
        return ctx, NOTHING
    return replace(ctx, rules=replace(ctx.rules, **{event.leg.value: event.rules})), NOTHING


def _on_operator(ctx: ArbitrageContext, event: OperatorCommand) -> Result:
    action = event.action
    now = event.now
    if action is OperatorAction.PAUSE:
        ctx = replace(ctx, paused_reason="paused by the operator", last_update=now)
        return _refresh_rest_state(ctx), (Alert("info", "paused: no new entries"),)
    if action is OperatorAction.RESUME:
        params = ctx.params
        baseline = ctx.loss_baseline_usdt
        if (
            params.max_loss_usdt is not None
            and ctx.realized_pnl_usdt - baseline <= -params.max_loss_usdt
        ):
            baseline = ctx.realized_pnl_usdt  # the operator accepted the loss so far
        ctx = replace(ctx, paused_reason=None, loss_baseline_usdt=baseline, last_update=now)
        return _refresh_rest_state(ctx), (Alert("info", "resumed"),)
    if action is OperatorAction.CLOSE_POSITION:
        if ctx.state in _REST_STATES or ctx.state is STOPPED:
            return ctx, (Alert("info", "close requested, but no position is open"),)
        return replace(ctx, exit_reason="operator", last_update=now), (
            Alert("info", "closing the position at the next quotes"),
        )
    # STOP: no new entries; an open position is closed first.
    ctx = replace(ctx, stop_requested=True, last_update=now)
    if ctx.state in _REST_STATES:
        return replace(ctx, state=STOPPED), (Alert("info", "stopped"),)
    if ctx.state is STOPPED:
        return ctx, NOTHING
    return replace(ctx, exit_reason=ctx.exit_reason or "stop"), (
        Alert("info", "stopping: closing the position first"),
    )


def _on_risk_mode(ctx: ArbitrageContext, event: RiskModeChange) -> Result:
    """The portfolio's mode changed. Reducing: no entries (exits and corrections go on,
    corrections only by closing). Halted: nothing new; every order in flight is
    cancelled now, and again at each deadline until the venues end them."""
    mode = event.mode
    reason = None if mode is ACTIVE else event.reason
    if mode is ctx.risk_mode and reason == ctx.risk_reason:
        return ctx, NOTHING
    ctx = replace(ctx, risk_mode=mode, risk_reason=reason, last_update=event.now)
    if mode is not HALTED or not ctx.active_orders:
        return ctx, NOTHING
    cancels = tuple(
        CancelOrder(Leg(leg), client_id, ctx.symbol)
        for leg, orders in ctx.active_orders.items()
        for client_id in orders
    )
    return replace(ctx, deadline=event.now + ctx.params.leg_timeout_s), cancels


def _on_reduce(ctx: ArbitrageContext, event: ReduceExposure) -> Result:
    """Close a fraction of both legs at the next quotes (all of it at 1, as an exit for
    ``event.reason``). Asked while orders are in flight, it waits for them to end; asked
    while halted, for the mode to allow orders again."""
    reason = event.reason
    if ctx.state in _REST_STATES or ctx.state is STOPPED:
        return ctx, (Alert("info", f"reduce asked ({reason}), but no position is open"),)
    if not event.fraction > 0.0:
        return ctx, (
            Alert("warning", f"reduce by {event.fraction:g} ignored: a fraction is above 0"),
        )
    now = event.now
    if event.fraction >= 1.0:
        closing = replace(ctx, exit_reason=reason, reduction=None, last_update=now)
        return closing, (Alert("info", f"closing the position at the next quotes: {reason}"),)
    reduction = Reduction(event.fraction, reason)
    return replace(ctx, reduction=reduction, last_update=now), (
        Alert("info", f"reducing both legs by {event.fraction:.0%} at the next quotes: {reason}"),
    )


def _refresh_rest_state(ctx: ArbitrageContext) -> ArbitrageContext:
    if ctx.state in (MONITORING, PAUSED):
        return replace(ctx, state=_rest_state(ctx))
    return ctx


# ------------------------------------------------------------------- helpers


def _new_order(
    ctx: ArbitrageContext,
    seq: int,
    leg: Leg,
    side: Side,
    qty: float,
    price: float,
    decision: float,
    now: float,
    reduce_only: bool = False,
    limit: bool = False,
) -> Order:
    """An IOC order of the configured ``order_type``, or a limit one when ``limit``,
    limited at ``price`` and decided on ``decision`` (the best price on its side of the
    book: its fills' slippage is measured from it)."""
    rules = ctx.rules.spot if leg is Leg.SPOT else ctx.rules.futures
    return Order(
        client_id=client_order_id(ctx.task_id, seq, leg, ctx.instance or None),
        leg=leg,
        symbol=ctx.symbol,
        side=side,
        qty=qty,
        price=round_to_tick(price, rules.price_tick),
        type=OrderType.LIMIT if limit else ctx.params.order_type,
        tif=TimeInForce.IOC,
        reduce_only=reduce_only,
        created_ts=now,
        decision_price=decision,
    )


def _limit_price(ctx: ArbitrageContext, leg: Leg, side: Side, best: float) -> float:
    """The furthest price a correction on ``leg`` may trade at: ``best`` (the ask to buy,
    the bid to sell) moved ``correction_slippage_pct`` the way an IOC order fills, onto
    the venue's price grid without going past that bound."""
    rules = ctx.rules.spot if leg is Leg.SPOT else ctx.rules.futures
    slippage = ctx.params.correction_slippage_pct / 100.0
    if side is Side.BUY:
        return round_down(best * (1.0 + slippage), rules.price_tick)
    return round_up(best * (1.0 - slippage), rules.price_tick)


def _unhedged_to(ctx: ArbitrageContext, now: float) -> ArbitrageContext:
    """Count the legs' difference up to ``now`` (as it stood since the last count), and
    open or close the stretch they differ by the legs as they are now.

    The difference counts while it is at least the smallest order either venue takes
    (what the machine would correct); below that it is dust, as after any exit."""
    cycle = ctx.cycle
    since = cycle.unhedged_since
    price = _reference_price(ctx)
    differ = price > 0.0 and _legs_differ(ctx, price)
    if since is None and not differ:
        return ctx
    until = cycle.unhedged_until
    now = max(now, until) if until is not None else now  # event times never run back
    added = 0.0
    if since is not None and until is not None:
        added = abs(ctx.positions.delta_qty) * price * (now - until)
    longest = cycle.longest_unhedged_s
    if since is not None:
        longest = max(longest, now - since)
    if not differ:
        since = None
    elif since is None:
        since = now
    updated = replace(
        cycle,
        unhedged_usdt_s=cycle.unhedged_usdt_s + added,
        longest_unhedged_s=longest,
        unhedged_since=since,
        unhedged_until=now,
    )
    return replace(
        ctx,
        cycle=updated,
        unhedged_usdt_s=ctx.unhedged_usdt_s + added,
        longest_unhedged_s=max(ctx.longest_unhedged_s, longest),
    )


def _find_order(ctx: ArbitrageContext, client_id: str) -> tuple[Leg, Order] | None:
    for leg, orders in ctx.active_orders.items():
        order = orders.get(client_id)
        if order is not None:
            return Leg(leg), order
    return None


def _with_order(ctx: ArbitrageContext, leg: Leg, order: Order, now: float) -> ArbitrageContext:
    orders = dict(ctx.active_orders)
    orders[leg.value] = {**orders[leg.value], order.client_id: order}
    return replace(ctx, active_orders=orders, last_update=now)


def _without_order(ctx: ArbitrageContext, leg: Leg, client_id: str, now: float) -> ArbitrageContext:
    orders = dict(ctx.active_orders)
    remaining = {k: v for k, v in orders[leg.value].items() if k != client_id}
    if remaining:
        orders[leg.value] = remaining
    else:
        del orders[leg.value]
    return replace(ctx, active_orders=orders, last_update=now)


def _reference_price(ctx: ArbitrageContext) -> float:
    """A price to value quantities at when no quote is at hand: what the legs cost."""
    positions: Positions = ctx.positions
    price = max(positions.spot.avg_price, positions.futures.avg_price)
    if price <= 0.0 and ctx.current_opportunity is not None:
        price = ctx.current_opportunity.spot_ask
    return price


def _imbalance_threshold_usdt(ctx: ArbitrageContext, price: float) -> float:
    """The smallest order either venue takes: a smaller imbalance cannot be corrected."""
    smallest = min(min_order_usdt(ctx.rules.spot, price), min_order_usdt(ctx.rules.futures, price))
    return max(smallest, DUST_USDT)


def _legs_differ(ctx: ArbitrageContext, price: float) -> bool:
    """The legs differ by at least the smallest order either venue takes, valued at
    ``price``: an imbalance to correct. Float noise is forgiven as ``_is_dust`` forgives
    it, so a leg worth a venue's smallest order is never held unhedged as matched."""
    value = abs(ctx.positions.delta_qty) * price
    return at_least(value, _imbalance_threshold_usdt(ctx, price))


def _left_as_dust(ctx: ArbitrageContext) -> bool:
    """What the legs differ by is less than the venue of the leg holding more takes,
    valued at what the legs cost (as ``_settle`` values them): no order closes it, so a
    cycle may end and leave it. A difference that only the current quotes make too
    small to trade is not dust: the legs are still unhedged, and wait for prices that
    let it close rather than end the cycle at rest with them."""
    delta = ctx.positions.delta_qty
    price = _reference_price(ctx)
    held = ctx.rules.spot if delta > 0.0 else ctx.rules.futures
    smallest = max(_imbalance_threshold_usdt(ctx, price), min_order_usdt(held, price))
    return not at_least(abs(delta) * price, smallest)


def _is_dust(qty: float, rules: VenueRules, price: float) -> bool:
    """Too little to trade on that venue (or nothing at all)."""
    value = abs(qty) * price
    return value < DUST_USDT or not at_least(value, min_order_usdt(rules, price))


def _qty_noise(qty: float) -> float:
    return abs(qty) * FLOAT_TOLERANCE


def _average(value: float, qty: float) -> float:
    return value / qty if qty > 0.0 else 0.0


_HANDLERS: dict[type, Callable[[ArbitrageContext, Any], Result]] = {
    OrderAccepted: _on_accepted,
    OrderRejected: _on_rejected,
    Fill: _on_fill,
    OrderFinal: _on_final,
    FeedHealth: _on_feed_health,
    StoreHealth: _on_store_health,
    FundingPayment: _on_funding_payment,
    FundingRateUpdate: _on_funding_rate,
    RulesUpdate: _on_rules,
    OperatorCommand: _on_operator,
    VenuePositionChanged: _on_venue_position,
    RiskModeChange: _on_risk_mode,
    ReduceExposure: _on_reduce,
}
