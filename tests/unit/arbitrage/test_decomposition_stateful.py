"""Random cycles against a fake venue (entries and exits filled in parts and off their
prices, fees in the base coin, fills the venue reported only in an order's final
state, corrections, funding settled during a cycle and reported after it, reductions
by the venue): every cycle's P&L is its decomposition, and its fill and funding
records add up to its fees and funding."""

from __future__ import annotations

from collections import defaultdict

import attrs
import msgspec
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from actors.arbitrage.context import ArbitrageParams, LegRules, new_context
from protocols.history import FillRecord, FundingRecord
from protocols.messages import (
    AmendOrder,
    FundingPayment,
    OperatorAction,
    OperatorCommand,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    TradeAmended,
    TradeClosed,
    TradeRecord,
    VenuePositionChanged,
)
from protocols.model import Fill, Leg, Order, OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.rules import round_down
from tests.unit.arbitrage.harness import Market, apply, as_before_decomposition, decomposed

SYMBOL = Symbol("SOL", "USDT")
RULES = LegRules(
    VenueRules(qty_step=0.01, min_notional=5.0, price_tick=0.001),
    VenueRules(contract_size=0.1, min_contracts=1, price_tick=0.001),
)
STEP = {Leg.SPOT: 0.01, Leg.FUTURES: 0.1}
TOLERANCE = 1e-9  # USDT


@attrs.define
class VenueOrder:
    order: Order
    filled: float = 0.0
    value: float = 0.0


class CyclesAgainstAFakeVenue(RuleBasedStateMachine):
    @initialize()
    def start(self):
        params = ArbitrageParams(
            max_entry_cost_pct=0.3,
            min_profit_pct=0.2,
            max_hours=1.0,
            leg_timeout_s=5.0,
            max_correction_attempts=2,
        )
        self.ctx = new_context(
            "prop", SYMBOL, now=0.0, base_position_size_usdt=1000.0, params=params, rules=RULES
        )
        self.now = 0.0
        self.spot: Quote | None = None
        self.futures: Quote | None = None
        self.venue: dict[str, VenueOrder] = {}
        self.held = {Leg.SPOT: 0.0, Leg.FUTURES: 0.0}  # the venue's balance and short
        self.fills: list[FillRecord] = []
        self.fundings: list[FundingRecord] = []
        self.trades: dict[int, TradeRecord] = {}
        self.count = 0
        # Cycles restored from a record that kept only the sum of both legs' fees.
        self.fees_summed: set[int] = set()

    def send(self, event) -> None:
        self.ctx, commands = apply(self.ctx, event)
        for command in commands:
            if isinstance(command, PlaceOrder):
                self.venue[command.order.client_id] = VenueOrder(command.order)
            elif isinstance(command, AmendOrder):
                held = self.venue[command.client_id]
                held.order = msgspec.structs.replace(held.order, qty=command.new_qty)
            elif isinstance(command, FillRecord):
                self.fills.append(command)
            elif isinstance(command, FundingRecord):
                self.fundings.append(command)
            elif isinstance(command, (TradeClosed, TradeAmended)):
                trade = command.trade
                assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=TOLERANCE)
                assert isinstance(command, TradeAmended) or trade.cycle not in self.trades
                self.trades[trade.cycle] = trade

    def next_id(self) -> str:
        self.count += 1
        return str(self.count)

    def room(self, order: Order) -> float:
        """What the venue lets the order trade: a sell of spot at most the balance, a
        reduce-only buy at most the short."""
        if order.leg is Leg.SPOT and order.side is Side.SELL:
            return self.held[Leg.SPOT]
        if order.reduce_only:
            return self.held[Leg.FUTURES]
        return float("inf")

    def trade_qty(self, held: VenueOrder, share: float) -> float:
        order = held.order
        step = STEP[order.leg]
        left = max(order.qty - held.filled, 0.0)
        qty = round_down(left * share, step) or left
        return round_down(min(qty, self.room(order)), step)

    def book(self, held: VenueOrder, qty: float, price: float, base_fee: float = 0.0) -> None:
        order = held.order
        held.filled += qty
        held.value += qty * price
        grows = order.side is (Side.BUY if order.leg is Leg.SPOT else Side.SELL)
        self.held[order.leg] += qty if grows else -qty
        self.held[order.leg] -= base_fee

    # ------------------------------------------------------------------ rules

    @rule(
        dt=st.sampled_from([0.5, 3.0, 6.0]),
        mid=st.floats(97.0, 103.0),
        basis_pct=st.floats(-0.6, 0.6),
        spread_pct=st.floats(0.0, 0.1),
    )
    def quotes(self, dt, mid, basis_pct, spread_pct):
        self.now += dt
        half = mid * spread_pct / 200.0
        fmid = mid * (1.0 - basis_pct / 100.0)
        self.spot = Quote(SYMBOL, mid - half, 50.0, mid + half, 50.0, self.now, self.now)
        self.futures = Quote(SYMBOL, fmid - half, 50.0, fmid + half, 50.0, self.now, self.now)
        self.send(Market(self.now, self.spot, self.futures))

    @precondition(lambda self: self.venue)
    @rule(
        data=st.data(),
        share=st.floats(0.05, 1.0),
        off=st.floats(-0.003, 0.003),
        base_coin=st.booleans(),
    )
    def fill(self, data, share, off, base_coin):
        held = self.venue[data.draw(st.sampled_from(sorted(self.venue)))]
        order = held.order
        qty = self.trade_qty(held, share)
        if qty <= 0.0:
            return
        price = order.price * (1.0 + off)
        if base_coin and order.leg is Leg.SPOT and order.side is Side.BUY:
            commission, asset = qty * 0.001, SYMBOL.base
            fee = commission * price
        else:
            commission = fee = qty * price * 5e-4
            asset = SYMBOL.quote
        self.book(held, qty, price, commission if asset == SYMBOL.base else 0.0)
        self.send(
            Fill(order.client_id, self.next_id(), qty, price, fee, self.now, commission, asset)
        )

    @precondition(lambda self: self.venue)
    @rule(data=st.data(), unreported=st.sampled_from([0.0, 0.0, 0.5, 1.0]))
    def end(self, data, unreported):
        """The venue ends an order; it may have filled more than it reported fills of."""
        client_id = data.draw(st.sampled_from(sorted(self.venue)))
        held = self.venue.pop(client_id)
        if held.filled == 0.0 and unreported == 0.0:
            self.send(OrderRejected(self.now, client_id, "refused by the fake venue"))
            return
        if unreported:
            qty = self.trade_qty(held, unreported)
            if qty > 0.0:
                self.book(held, qty, held.order.price)
        if held.filled == 0.0:
            self.send(OrderRejected(self.now, client_id, "refused by the fake venue"))
            return
        status = (
            OrderStatus.FILLED if held.filled >= held.order.qty - 1e-12 else OrderStatus.EXPIRED
        )
        self.send(OrderFinal(self.now, client_id, status, held.filled, held.value / held.filled))

    @rule(amount=st.floats(-5.0, 5.0))
    def funding(self, amount):
        self.send(FundingPayment(self.now, amount, f"L{self.next_id()}"))

    @precondition(lambda self: self.ctx.last_trade is not None)
    @rule(amount=st.floats(-5.0, 5.0))
    def funding_reported_after_the_exit(self, amount):
        settled = self.ctx.last_trade.exit_ts
        self.send(FundingPayment(settled, amount, f"L{self.next_id()}"))

    @precondition(
        lambda self: (
            not any(h.order.leg is Leg.FUTURES for h in self.venue.values())
            and self.held[Leg.FUTURES] >= STEP[Leg.FUTURES] - 1e-9
        )
    )
    @rule(share=st.floats(0.0, 1.0), price=st.sampled_from([0.0, 97.0, 103.0]))
    def venue_reduces_the_short(self, share, price):
        short = self.held[Leg.FUTURES]
        step = STEP[Leg.FUTURES]
        removed = min(max(round_down(short * share, step), step), short)
        self.held[Leg.FUTURES] = short - removed
        held = self.ctx.positions.futures.qty
        self.send(
            VenuePositionChanged(self.now, Leg.FUTURES, SYMBOL, held, short - removed, price, "")
        )

    @rule()
    def restart_from_an_old_record(self):
        """The strategy restarts from a snapshot written before decision prices were
        kept and cycles decomposed."""
        self.ctx = as_before_decomposition(self.ctx)
        self.fees_summed.add(self.ctx.arbitrage_cycles + 1)
        if self.ctx.last_trade is not None:
            self.fees_summed.add(self.ctx.last_trade.cycle)

    @rule()
    def close(self):
        self.send(OperatorCommand(self.now, OperatorAction.CLOSE_POSITION))

    # ------------------------------------------------------------- invariants

    @invariant()
    def the_open_cycle_decomposes(self):
        cycle = self.ctx.cycle
        traded = cycle.spot_bought_value + cycle.spot_sold_value + cycle.futures_sold_value
        if cycle.volume_usdt == 0.0 and traded + cycle.futures_bought_value > 0.0:
            return  # restored from an old record: decomposed when it next moves
        assert decomposed(cycle) == pytest.approx(cycle.realized_usdt, abs=TOLERANCE)
        fees = cycle.spot_fees_usdt + cycle.futures_fees_usdt
        assert fees == pytest.approx(cycle.fees_usdt, abs=TOLERANCE)

    @invariant()
    def records_add_up_to_each_closed_cycle(self):
        fees: dict[tuple[int, str], float] = defaultdict(float)
        for record in self.fills:
            fees[record.cycle, record.leg] += record.fee_usdt
        funding: dict[int, float] = defaultdict(float)
        for record in self.fundings:
            funding[record.cycle] += record.amount_usdt
        for number, trade in self.trades.items():
            if number in self.fees_summed:
                both = fees[number, "spot"] + fees[number, "futures"]
                assert both == pytest.approx(trade.fees_usdt, abs=TOLERANCE)
                assert trade.spot_fees_usdt + trade.futures_fees_usdt == pytest.approx(
                    trade.fees_usdt, abs=TOLERANCE
                )
                continue
            assert fees[number, "spot"] == pytest.approx(trade.spot_fees_usdt, abs=TOLERANCE)
            assert fees[number, "futures"] == pytest.approx(trade.futures_fees_usdt, abs=TOLERANCE)
            assert funding[number] == pytest.approx(trade.funding_usdt, abs=TOLERANCE)
        assert sorted(self.trades) == list(range(1, self.ctx.arbitrage_cycles + 1))


CyclesAgainstAFakeVenue.TestCase.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None
)
test_cycles_against_a_fake_venue = CyclesAgainstAFakeVenue.TestCase
