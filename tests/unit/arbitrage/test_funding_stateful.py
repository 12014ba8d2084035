"""Both task types against a venue that settles funding on its schedule: orders fill at
once, rates change, settlements are paid on what is held, the clock jumps. After every
step: a due exit waits only for a settlement the short receives and never past it plus
the grace, nothing else ever waits, each task exits only for its own reasons (or shared
ones), every settlement is counted once, on the cycle that held it."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from actors.arbitrage.context import (
    FUNDING_CARRY,
    TASK_TYPE,
    ArbitrageParams,
    ArbitrageState,
    CarryParams,
    LegRules,
    new_context,
)
from actors.arbitrage.machine import BASIS_STOP, FUNDING_TURNED, HORIZON, STOP_LOSS, on_market, step
from protocols.messages import (
    FundingPayment,
    FundingRateUpdate,
    OrderFinal,
    PlaceOrder,
    RiskModeChange,
    TradeClosed,
)
from protocols.model import Fill, OrderStatus, Quote, RiskMode, Symbol, VenueRules

SYMBOL = Symbol("ETH", "USDT")
RULES = LegRules(
    VenueRules(qty_step=0.001, min_notional=5.0),
    VenueRules(contract_size=0.001, min_contracts=1),
)
S = ArbitrageState
OWN_EXITS = {TASK_TYPE: {"timeout", "profit"}, FUNDING_CARRY: {HORIZON, FUNDING_TURNED, BASIS_STOP}}
SHARED_EXITS = {STOP_LOSS}
GRACE = 60.0


class FundingVenue(RuleBasedStateMachine):
    @initialize(
        task_type=st.sampled_from([TASK_TYPE, FUNDING_CARRY]),
        window=st.sampled_from([0.0, 600.0, 1800.0]),
        interval=st.sampled_from([3600.0, 4 * 3600.0, 8 * 3600.0]),
        funding_aware=st.booleans(),
    )
    def start(self, task_type, window, interval, funding_aware):
        params = ArbitrageParams(
            max_entry_cost_pct=0.3,
            min_profit_pct=0.3,
            max_hours=3.0,
            cycle_stop_loss_pct=2.0,
            funding_aware_entry=funding_aware,
            settlement_window_s=window,
            settlement_grace_s=GRACE,
            carry=CarryParams(
                horizon_h=12.0,
                margin_pct=0.0,
                adverse_hours=2.0,
                basis_stop_pct=0.8,
                exit_window_s=window,
            ),
        )
        self.ctx = new_context(
            "fv",
            SYMBOL,
            now=0.0,
            base_position_size_usdt=1000.0,
            params=params,
            rules=RULES,
            task_type=task_type,
        )
        self.window = window
        self.interval = interval
        self.now = 1.0
        self.rate = 0.0001
        self.next_ts = interval
        self.mid = 2000.0
        self.basis_pct = 0.0
        self.settlement = 0
        self.paid_in_cycle = 0.0
        self.trade = 0
        self.decided = False  # the latest step was a decision on fresh quotes
        self.send(FundingRateUpdate(self.now, self.rate, interval, self.next_ts))

    # ---------------------------------------------------------------- the venue

    def send(self, event) -> None:
        self.decided = False
        self.apply(step(self.ctx, event))

    def apply(self, result) -> None:
        before = self.ctx
        self.ctx, commands = result
        for command in commands:
            if isinstance(command, TradeClosed):
                reason = command.trade.exit_reason
                assert reason in OWN_EXITS[self.ctx.task_type] | SHARED_EXITS, reason
                assert command.trade.funding_usdt == pytest.approx(self.paid_in_cycle, abs=1e-9)
                self.paid_in_cycle = 0.0
        for command in commands:
            if isinstance(command, PlaceOrder):
                order = command.order
                self.trade += 1
                fee = order.qty * order.price * 5e-4
                self.apply(
                    step(
                        self.ctx,
                        Fill(
                            order.client_id, f"T{self.trade}", order.qty, order.price, fee, self.now
                        ),
                    )
                )
                self.apply(
                    step(
                        self.ctx,
                        OrderFinal(
                            self.now, order.client_id, OrderStatus.FILLED, order.qty, order.price
                        ),
                    )
                )
        del before

    def quotes(self) -> tuple[Quote, Quote]:
        half = self.mid * 0.0001
        fmid = self.mid * (1.0 + self.basis_pct / 100.0)
        spot = Quote(SYMBOL, self.mid - half, 50.0, self.mid + half, 50.0, self.now, self.now)
        futures = Quote(SYMBOL, fmid - half, 50.0, fmid + half, 50.0, self.now, self.now)
        return spot, futures

    def settle_due(self) -> None:
        """Every settlement up to now: paid on the short held then, and the next rate
        published for the next one."""
        while self.next_ts <= self.now:
            short = self.ctx.positions.futures.qty
            if short > 0.0:
                self.settlement += 1
                amount = self.rate * short * self.mid * (1.0 + self.basis_pct / 100.0)
                if self.ctx.state is not S.MONITORING:
                    self.paid_in_cycle += amount
                self.send(FundingPayment(self.next_ts, amount, f"L{self.settlement}"))
            self.next_ts += self.interval
            self.send(FundingRateUpdate(self.now, self.rate, self.interval, self.next_ts))

    @rule(
        dt=st.sampled_from([5.0, 60.0, 300.0, 900.0, 3600.0]),
        basis_pct=st.floats(-0.6, 0.6),
        drift=st.floats(-0.002, 0.002),
    )
    def market(self, dt, basis_pct, drift):
        self.now += dt
        self.settle_due()
        self.mid *= 1.0 + drift
        self.basis_pct = basis_pct
        spot, futures = self.quotes()
        self.apply(on_market(self.ctx, self.now, spot, futures))
        self.decided = True

    @rule(rate=st.sampled_from([-0.003, -0.0001, 0.0, 0.0001, 0.003]))
    def indicative_rate(self, rate):
        self.rate = rate
        self.send(FundingRateUpdate(self.now, rate, self.interval, self.next_ts))

    @rule(mode=st.sampled_from([RiskMode.ACTIVE, RiskMode.REDUCING]))
    def risk_mode(self, mode):
        self.send(RiskModeChange(self.now, mode, "by the test"))

    # ------------------------------------------------------------- invariants

    @invariant()
    def a_due_exit_waits_only_for_a_settlement_received_and_not_past_its_grace(self):
        ctx = self.ctx
        if not self.decided or ctx.state is not S.POSITION_OPEN:
            return
        opened = ctx.position_opened_at
        carry = ctx.task_type == FUNDING_CARRY
        limit_h = ctx.params.carry.horizon_h if carry else ctx.params.max_hours
        if opened is None or self.now < opened + limit_h * 3600.0:
            return
        # Out of time and still open: only waiting for a settlement, within bounds.
        wait = ctx.settlement_wait
        assert self.window > 0.0 and wait is not None, (self.now, opened)
        assert wait - self.window <= self.now < wait + GRACE
        assert ctx.risk_mode is RiskMode.ACTIVE

    @invariant()
    def funding_is_counted_once_on_the_cycle_that_held_it(self):
        if self.ctx.state is S.POSITION_OPEN:
            assert self.ctx.cycle.funding_usdt == pytest.approx(self.paid_in_cycle, abs=1e-9)

    @invariant()
    def a_settled_rate_is_folded_at_most_once_per_settlement(self):
        history = self.ctx.funding_history
        if history.settled_until is not None:
            assert history.settled_until <= self.now
            settlements = history.settled_until / self.interval
            assert settlements == pytest.approx(round(settlements))


FundingVenue.TestCase.settings = settings(max_examples=400, stateful_step_count=80, deadline=None)
test_funding_decisions_against_a_settling_venue = FundingVenue.TestCase
