"""The pure machine against a small fake venue model, with invariants after every step
and every change of state checked against ``TRANSITIONS``: both task types, with and
without exits timed around settlements."""

from __future__ import annotations

import attrs
import msgspec
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from actors.arbitrage.context import (
    FUNDING_CARRY,
    TASK_TYPE,
    TRANSITIONS,
    ArbitrageParams,
    ArbitrageState,
    CarryParams,
    LegRules,
    Liveness,
    new_context,
)
from actors.arbitrage.machine import (
    BASIS_STOP,
    DUST_USDT,
    FUNDING_TURNED,
    HORIZON,
    STOP_LOSS,
    live_and_latest,
)
from protocols.messages import (
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
    TradeClosed,
    VenuePositionChanged,
)
from protocols.model import (
    Fill,
    Leg,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    TimeInForce,
    VenueRules,
)
from protocols.rules import min_order_usdt, round_down
from tests.unit.arbitrage.harness import Market, apply

SYMBOL = Symbol("SOL", "USDT")
RULES = LegRules(
    VenueRules(qty_step=0.01, min_notional=5.0, price_tick=0.001),
    VenueRules(contract_size=0.1, min_contracts=1, price_tick=0.001),
)
STEP = {Leg.SPOT: 0.01, Leg.FUTURES: 0.1}
S = ArbitrageState
_AT_REST = (S.IDLE, S.MONITORING, S.PAUSED, S.STOPPED)
# The exit reasons each task type's own decisions give; the others (the operator, the
# kill switch, a stop, a reduction, the venue) are shared.
_OWN_EXITS = {
    TASK_TYPE: {"timeout", "profit"},
    FUNDING_CARRY: {HORIZON, FUNDING_TURNED, BASIS_STOP},
}
_SHARED_EXITS = {
    "kill_switch",
    STOP_LOSS,
    "venue_reduced",
    "operator",
    "stop",
    "flatten",
    "unknown",
}


@attrs.define
class VenueOrder:
    """An order as the fake venue sees it."""

    order: Order
    filled: float = 0.0
    accepted: bool = False
    fills: list[Fill] = attrs.field(factory=list)


class StrategyAgainstFakeVenues(RuleBasedStateMachine):
    @initialize(
        cooldown=st.sampled_from([0.0, 30.0]),
        attempts=st.integers(1, 3),
        max_loss=st.sampled_from([None, 50.0]),
        task_type=st.sampled_from([TASK_TYPE, FUNDING_CARRY]),
        window=st.sampled_from([0.0, 900.0]),
    )
    def start(self, cooldown, attempts, max_loss, task_type, window):
        self.corrections_in_a_row = 0
        self.settled_until: float | None = None
        params = ArbitrageParams(
            max_entry_cost_pct=0.3,
            min_profit_pct=0.2,
            max_hours=1.0,
            max_quote_age_s=10.0,
            cooldown_s=cooldown,
            leg_timeout_s=5.0,
            max_correction_attempts=attempts,
            max_loss_usdt=max_loss,
            settlement_window_s=window,
            carry=CarryParams(
                horizon_h=2.0,
                margin_pct=0.0,
                adverse_hours=0.5,
                basis_stop_pct=0.5,
                exit_window_s=window,
            ),
        )
        self.ctx = new_context(
            "prop",
            SYMBOL,
            now=0.0,
            base_position_size_usdt=1000.0,
            params=params,
            rules=RULES,
            task_type=task_type,
        )
        self.now = 0.0
        self.spot: Quote | None = None
        self.futures: Quote | None = None
        self.live = Liveness(-30.0, -30.0)
        self.venue: dict[str, VenueOrder] = {}  # open at the venue, by client id
        self.filled = {Leg.SPOT: 0.0, Leg.FUTURES: 0.0}  # signed: long spot, short futures
        self.delivered: list[Fill] = []
        self.trade = 0
        self.closing_only = False  # the venue reduced the short: only closing orders until
        # the legs match again or the cycle ends

    # ---------------------------------------------------------------- driving

    def send(self, event) -> None:
        before = self.ctx
        self.ctx, commands = apply(self.ctx, event)
        if self.ctx.state is not before.state:
            assert self.ctx.state in TRANSITIONS[before.state], (
                before.state,
                self.ctx.state,
                event,
            )
        if isinstance(event, VenuePositionChanged) and self.ctx is not before:
            self.closing_only = before.state not in _AT_REST
        for command in commands:
            if isinstance(command, TradeClosed):
                reason = command.trade.exit_reason
                own = _OWN_EXITS[self.ctx.task_type]
                assert reason in own or reason in _SHARED_EXITS, reason
            if isinstance(command, PlaceOrder):
                order = command.order
                assert order.client_id not in self.venue
                if self.closing_only:
                    # Never buying spot or selling futures once the venue reduced the short.
                    assert order.side is (Side.SELL if order.leg is Leg.SPOT else Side.BUY), order
                if order.side is (Side.BUY if order.leg is Leg.SPOT else Side.SELL) and (
                    before.state in (S.MONITORING, S.IDLE)
                ):
                    # An entry: never while paused, stopping or on a stale feed.
                    assert before.paused_reason is None, before.paused_reason
                    assert not before.stale_legs
                    assert not before.stop_requested
                    # ... and only on the latest quotes of live connections, and to leave
                    # soon or not at all.
                    assert type(event) is Market
                    assert live_and_latest(event.live, event.spot, event.futures), event
                    assert command.send_by == event.now + before.params.entry_send_within_s
                if before.state is S.IMBALANCED:
                    self.check_correction(before, event, order)
                assert order.qty > 0.0
                whole = order.qty / STEP[order.leg]
                assert abs(whole - round(whole)) < 1e-6, order
                self.venue[order.client_id] = VenueOrder(order)
            elif isinstance(command, CancelOrder):
                assert command.client_id in self.ctx.active_orders.get(command.leg.value, {})
            elif isinstance(command, AmendOrder):
                # Only the futures venue amends; an amend only ever brings an order down.
                assert command.leg is Leg.FUTURES
                held = self.venue[command.client_id]
                assert command.new_qty < held.order.qty
                assert command.new_qty > held.filled - 1e-9 or held.filled == 0.0
                mine = self.ctx.active_orders[command.leg.value][command.client_id]
                assert mine.qty == command.new_qty
                # The fake venue amends at once (an order filled that far ends when it is
                # next finished, as Gate.io cancels it).
                held.order = msgspec.structs.replace(held.order, qty=command.new_qty)
        if self.ctx.state in (*_AT_REST, S.POSITION_OPEN):
            self.closing_only = False
        if self.ctx.state is not S.IMBALANCED:
            self.corrections_in_a_row = 0

    def check_correction(self, before, event, order) -> None:
        """A correction (or a flattening order) is a limit IOC priced at most
        ``correction_slippage_pct`` past the best price; corrections in a row never
        outnumber ``max_correction_attempts`` before both legs are flattened."""
        assert type(event) is Market
        assert order.type is OrderType.LIMIT and order.tif is TimeInForce.IOC
        pct = before.params.correction_slippage_pct / 100.0
        quote = event.spot if order.leg is Leg.SPOT else event.futures
        if order.side is Side.BUY:
            assert order.price <= quote.ask * (1.0 + pct) + 1e-9, (order, quote)
            assert order.price >= quote.ask - 1e-9
        else:
            assert order.price >= quote.bid * (1.0 - pct) - 1e-9, (order, quote)
            assert order.price <= quote.bid + 1e-9
        if before.imbalance_goal != "flatten":
            self.corrections_in_a_row += 1
            assert self.corrections_in_a_row <= before.params.max_correction_attempts

    def move_clock(self, seconds: float) -> None:
        self.now += seconds

    @rule(
        dt=st.sampled_from([0.1, 1.0, 3.0, 6.0, 600.0]),
        mid=st.floats(95.0, 105.0),
        basis_pct=st.floats(-0.6, 0.6),
        spread_pct=st.floats(0.0, 0.1),
        depth=st.sampled_from([0.5, 5.0, 50.0]),
        stale=st.booleans(),
    )
    def quotes(self, dt, mid, basis_pct, spread_pct, depth, stale):
        self.move_clock(dt)
        half = mid * spread_pct / 200.0
        fmid = mid * (1.0 - basis_pct / 100.0)
        seen = self.now - (20.0 if stale else 0.0)
        self.spot = Quote(SYMBOL, mid - half, depth, mid + half, depth, seen, seen)
        self.futures = Quote(SYMBOL, fmid - half, depth, fmid + half, depth, seen, seen)
        self.send(Market(self.now, self.spot, self.futures, self.live))

    @rule(dt=st.sampled_from([1.0, 5.0, 3600.0]))
    def tick(self, dt):
        self.move_clock(dt)
        self.send(Market(self.now, self.spot, self.futures, self.live))

    @rule(leg=st.sampled_from(list(Leg)), live=st.booleans(), dt=st.sampled_from([0.0, 0.5]))
    def connection(self, leg, live, dt):
        """A leg's connection falls silent, or becomes live again (the quotes held were
        received before: not the latest any more)."""
        self.move_clock(dt)
        since = self.now if live else None
        if leg is Leg.SPOT:
            self.live = Liveness(since, self.live.futures_since)
        else:
            self.live = Liveness(self.live.spot_since, since)
        self.send(Market(self.now, self.spot, self.futures, self.live))

    @precondition(lambda self: self.venue)
    @rule(data=st.data())
    def accept(self, data):
        client_id = data.draw(st.sampled_from(sorted(self.venue)))
        self.venue[client_id].accepted = True
        self.send(OrderAccepted(self.now, client_id, f"V{client_id}"))

    @precondition(lambda self: self.venue)
    @rule(data=st.data(), share=st.floats(0.05, 1.0))
    def fill(self, data, share):
        self.fill_share(data.draw(st.sampled_from(sorted(self.venue))), share)

    def fill_share(self, client_id: str, share: float) -> None:
        held = self.venue[client_id]
        order = held.order
        left = order.qty - held.filled
        if left <= 1e-12:
            return
        if not held.accepted:  # a venue takes an order before it fills any of it
            held.accepted = True
            self.send(OrderAccepted(self.now, client_id, f"V{client_id}"))
        qty = round_down(left * share, STEP[order.leg]) or left
        if order.reduce_only:
            # A reduce-only order fills at most the position the venue holds.
            qty = min(qty, round_down(max(self.filled[Leg.FUTURES], 0.0), STEP[order.leg]))
        if qty <= 0.0:
            return
        self.trade += 1
        fill = Fill(
            client_id, f"T{self.trade}", qty, order.price, qty * order.price * 5e-4, self.now
        )
        held.filled += qty
        held.fills.append(fill)
        sign = 1.0 if order.side is (Side.BUY if order.leg is Leg.SPOT else Side.SELL) else -1.0
        self.filled[order.leg] += sign * qty
        self.delivered.append(fill)
        self.send(fill)

    @precondition(lambda self: self.venue)
    @rule(data=st.data())
    def fill_completely(self, data):
        """The common case for an IOC at the touch: all of it, then its final state."""
        client_id = data.draw(st.sampled_from(sorted(self.venue)))
        self.fill_share(client_id, 1.0)
        self.end(client_id, "expire")

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def deliver_a_fill_again(self, data):
        self.send(data.draw(st.sampled_from(self.delivered[-5:])))

    @precondition(lambda self: self.venue)
    @rule(data=st.data(), how=st.sampled_from(["expire", "cancel", "reject"]))
    def finish(self, data, how):
        self.end(data.draw(st.sampled_from(sorted(self.venue))), how)

    def end(self, client_id: str, how: str) -> None:
        held = self.venue.pop(client_id)
        order = held.order
        if how == "reject" and held.filled == 0.0:
            self.send(OrderRejected(self.now, client_id, "rejected by the fake venue"))
            return
        if held.filled >= order.qty - 1e-12:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.EXPIRED if how == "expire" else OrderStatus.CANCELLED
        avg = sum(f.qty * f.price for f in held.fills) / held.filled if held.filled else 0.0
        self.send(OrderFinal(self.now, client_id, status, held.filled, avg))

    @rule(leg=st.sampled_from(list(Leg)), fresh=st.booleans())
    def feed_health(self, leg, fresh):
        self.send(FeedHealth(self.now, leg, fresh))

    # Stopping ends the run, so it is drawn less often than the other actions.
    @rule(
        action=st.sampled_from([*OperatorAction, OperatorAction.RESUME] * 6 + [OperatorAction.STOP])
    )
    def operator(self, action):
        self.send(OperatorCommand(self.now, action))

    @precondition(lambda self: self.filled[Leg.FUTURES] >= STEP[Leg.FUTURES] - 1e-9)
    @rule(share=st.floats(0.0, 1.0), price=st.sampled_from([0.0, 97.0, 103.0]))
    def venue_reduces_the_short(self, share, price):
        """The venue takes part or all of the short by itself (auto-deleveraging, a trade
        by hand) and it is reported, in whatever state the strategy is: its orders in
        flight end later, as the venue decides."""
        short = self.filled[Leg.FUTURES]
        step = STEP[Leg.FUTURES]
        removed = min(max(round_down(short * share, step), step), short)
        held = self.ctx.positions.futures.qty
        self.filled[Leg.FUTURES] = short - removed
        self.send(
            VenuePositionChanged(
                self.now, Leg.FUTURES, SYMBOL, held, short - removed, price, "by the test"
            )
        )

    @rule(off=st.sampled_from([-0.3, 0.3]))
    def a_stale_venue_report_changes_nothing(self, off):
        """Reported about a holding the strategy no longer has (it traded since)."""
        before = self.ctx
        held = before.positions.futures.qty + off
        self.send(VenuePositionChanged(self.now, Leg.FUTURES, SYMBOL, held, 0.0, 0.0, "stale"))
        assert self.ctx is before

    @rule(amount=st.floats(-5.0, 5.0))
    def funding(self, amount):
        self.send(FundingPayment(self.now, amount))

    @rule(
        rate=st.sampled_from([-0.01, -0.0001, 0.0, 0.0001, 0.01]),
        ahead=st.sampled_from([30.0, 600.0, 3000.0]),
        interval=st.sampled_from([3600.0, 28800.0]),
    )
    def funding_rate(self, rate, ahead, interval):
        """The venue's indicative rate, for a settlement ``ahead`` of now."""
        self.send(FundingRateUpdate(self.now, rate, interval, self.now + ahead))

    # ------------------------------------------------------------- invariants

    @invariant()
    def a_settled_rate_is_folded_once_and_in_order(self):
        until = self.ctx.funding_history.settled_until
        if self.settled_until is not None:
            assert until is not None and until >= self.settled_until
        self.settled_until = until

    @invariant()
    def an_exit_waits_only_for_a_settlement_within_its_window(self):
        ctx = self.ctx
        if ctx.settlement_wait is not None:
            params = ctx.params
            window = params.settlement_window_s
            if ctx.task_type == FUNDING_CARRY:
                window = params.carry.exit_window_s
            assert window > 0.0
            assert ctx.settlement_wait <= ctx.last_update + window
            if ctx.state is S.POSITION_OPEN and ctx.last_update >= ctx.settlement_wait:
                assert ctx.last_update < ctx.settlement_wait + params.settlement_grace_s

    @invariant()
    def at_most_one_entry_or_exit_in_flight(self):
        for leg, orders in self.ctx.active_orders.items():
            assert len(orders) <= 1, (leg, orders)
        if self.ctx.active_orders:
            assert self.ctx.state in (S.ENTERING, S.EXITING, S.IMBALANCED), self.ctx.state

    @invariant()
    def positions_equal_the_sum_of_fills(self):
        positions = self.ctx.positions
        assert positions.spot.qty == pytest.approx(self.filled[Leg.SPOT], abs=1e-9)
        assert positions.futures.qty == pytest.approx(self.filled[Leg.FUTURES], abs=1e-9)

    @invariant()
    def never_stuck(self):
        if self.ctx.active_orders:
            assert self.ctx.deadline is not None
        for orders in self.ctx.active_orders.values():
            for client_id in orders:
                assert client_id in self.venue  # nothing the venue already ended

    @invariant()
    def balanced_or_correcting_or_paused_when_nothing_is_in_flight(self):
        ctx = self.ctx
        if ctx.active_orders:
            return
        positions = ctx.positions
        price = max(positions.spot.avg_price, positions.futures.avg_price)
        threshold = max(
            min(min_order_usdt(RULES.spot, price), min_order_usdt(RULES.futures, price)),
            DUST_USDT,
        )
        if ctx.state in _AT_REST:
            # At rest (monitoring, paused or stopped) after an exit, which only ever
            # closes: what is left is a remainder the venue of the leg holding it would
            # not take (its smallest order) at what the legs cost.
            held = RULES.spot if positions.delta_qty > 0 else RULES.futures
            threshold = max(threshold, min_order_usdt(held, price))
        balanced = abs(positions.delta_qty) * price < threshold
        paused = ctx.state is S.PAUSED and bool(ctx.paused_reason or ctx.stale_legs)
        assert balanced or ctx.state is S.IMBALANCED or paused, (ctx.state, positions)

    @invariant()
    def correction_attempts_stay_bounded(self):
        assert self.ctx.correction_attempts <= self.ctx.params.max_correction_attempts

    @invariant()
    def unhedged_exposure_only_grows_within_a_cycle(self):
        cycle = self.ctx.cycle
        assert cycle.unhedged_usdt_s >= 0.0 and cycle.longest_unhedged_s >= 0.0
        assert self.ctx.unhedged_usdt_s >= cycle.unhedged_usdt_s - 1e-9

    @invariant()
    def no_order_at_all_while_paused(self):
        if self.ctx.state is S.PAUSED:
            assert not self.ctx.active_orders


StrategyAgainstFakeVenues.TestCase.settings = settings(
    max_examples=200, stateful_step_count=60, deadline=None
)
test_strategy_against_fake_venues = StrategyAgainstFakeVenues.TestCase
