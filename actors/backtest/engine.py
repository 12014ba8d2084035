"""The backtester: recorded quotes through the very state machine that trades live.

For each quote the latest quote per (symbol, leg) is kept; once a symbol has quotes on
both legs, every event of that symbol is a decision by ``machine.on_market`` for that
symbol's strategy. Orders are filled by a simulated execution:

* by default perfectly: at once, in full, at the order's (quoted) price, with the
  configured fees;
* with ``latency_ms``, against the quotes in force that long after the decision (the
  latest at or before that time) — a limit order only if its price is still there,
  otherwise it expires;
* with ``partial_fills``, never more than the visible size at the quote filled against;
  the machine then corrects the imbalance as it would live.

An event that closes a position does not also open one: the machine decides once per
event, and the exit's fills come back through it before the next event.

Funding rows of the file reach the strategy of their symbol as the live feed and ledger
deliver them: a published rate as a ``FundingRateUpdate``, a settlement as the
``FundingPayment`` the backtest's own short receives (positive rate) or pays. A
settlement is applied at its own time, to the short held at that moment (orders that
arrived before it filled first; an exit part-filled by then pays on what is left), at
its rate and on its mark price (the futures mid of the latest quote when the row gives
none).

With a ``history`` sink, the backtest hands it what the live system's strategies hand
the store: every fill and funding settlement the machine counted, each cycle's record
(closed or amended), and each symbol's sampled series on the quotes' own clock, so a
backtest can keep the same history in a store of its own.

Risk is applied as live (``[risk]``): an entry is sized from the books (rows with depth;
the best level's size otherwise) and from the room the exposure caps leave across every
symbol's strategy, orders in flight included; with starting balances
(``[backtest] spot_balance_usdt``, ``futures_balance_usdt``) from what each venue's
account would have free too. A cycle's stop-loss closes it; the portfolio's stops
(daily loss, drawdown against the high-water mark) are judged every ``STOPS_EVERY_S`` of
the data and on every closed cycle, and a tripped one puts every strategy in
``reducing`` through ``RiskModeChange``, as the live system does. With depth, an order
fills through the levels its limit price reaches, at their depth-weighted price.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Annotated

import attrs
import msgspec

from actors.arbitrage.config import (
    FundingCarryConfig,
    NonNegative,
    StrategyConfig,
    task_params,
    task_type_of,
)
from actors.arbitrage.context import (
    TASK_TYPE,
    ArbitrageContext,
    ArbitrageState,
    LegRules,
    new_context,
)
from actors.arbitrage.exposure import exposure_of
from actors.arbitrage.machine import on_market, pnl_if_closed, step
from actors.arbitrage.series import SeriesSampler
from actors.backtest.quote_files import FUNDING_RATE, FUNDING_SETTLED, QuoteFile
from actors.risk.caps import Balances, ExposureTotals, entry_room
from actors.risk.config import RiskConfig
from actors.risk.limits import NO_LIMITS, EntryLimits
from actors.risk.liquidation import leverage_refusal
from actors.risk.sizing import depth_weighted_price
from actors.risk.stops import StopsState, evaluate_stops
from protocols.history import FillRecord, FundingRecord, HistoryRecord
from protocols.messages import (
    FundingPayment,
    FundingRateUpdate,
    OrderFinal,
    PlaceOrder,
    RiskModeChange,
    TradeAmended,
    TradeClosed,
    TradeRecord,
)
from protocols.model import (
    BookDepth,
    Fill,
    Leg,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    VenueRules,
)

# ------------------------------------------------------------------------- config


class SpotRulesConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[backtest.spot]``: absent rules mean no rounding and no minimum."""

    qty_step: NonNegative = 0.0
    min_qty: NonNegative = 0.0
    min_notional: NonNegative = 0.0
    price_tick: NonNegative = 0.0

    def rules(self) -> VenueRules:
        return VenueRules(
            qty_step=self.qty_step,
            min_qty=self.min_qty,
            min_notional=self.min_notional,
            price_tick=self.price_tick,
        )


class FuturesRulesConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[backtest.futures]``: contract size in base units, minimum order in contracts."""

    contract_size: NonNegative = 0.0
    min_contracts: NonNegative = 0.0
    price_tick: NonNegative = 0.0

    def rules(self) -> VenueRules:
        return VenueRules(
            contract_size=self.contract_size,
            min_contracts=self.min_contracts,
            price_tick=self.price_tick,
        )


class BacktestSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    spot: SpotRulesConfig = SpotRulesConfig()
    futures: FuturesRulesConfig = FuturesRulesConfig()
    latency_ms: Annotated[float, msgspec.Meta(ge=0.0)] = 0.0
    partial_fills: bool = False
    spot_balance_usdt: Annotated[float, msgspec.Meta(gt=0.0)] | None = None
    """USDT the spot account starts with; unset: entries are limited by the caps only."""
    futures_balance_usdt: Annotated[float, msgspec.Meta(gt=0.0)] | None = None
    """USDT margin the futures account starts with; unset: the caps only."""


class BacktestConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a backtest runs on: ``[strategy]``, ``[backtest]``, ``[risk]`` and
    ``[funding_carry]`` (``basis backtest`` reads them from a config file that may hold
    the system's other tables too). The symbols ``[funding_carry]`` lists run that task
    type; every other symbol runs ``spot_futures_arbitrage``."""

    strategy: StrategyConfig = StrategyConfig()
    backtest: BacktestSection = BacktestSection()
    risk: RiskConfig = RiskConfig()
    funding_carry: FundingCarryConfig | None = None

    def __post_init__(self) -> None:
        refusal = leverage_refusal(self.strategy.futures_leverage, self.strategy.fut_fee, self.risk)
        if refusal is not None:
            raise ValueError(refusal)


# ------------------------------------------------------------------------ results


@attrs.frozen
class SymbolSummary:
    symbol: str
    cycles: int
    pnl_usdt: float
    wins: int
    open_position: bool
    volume_usdt: float
    funding_usdt: float
    """Funding received (paid, when negative) over the whole run."""
    task_type: str = TASK_TYPE
    """The task type the symbol ran (``[funding_carry] symbols`` or not)."""


@attrs.frozen
class Resize:
    """An entry made smaller than the configured size: what it would have been, what it
    was, and why (``too little depth`` or ``no room: <the cap>``)."""

    symbol: str
    ts: float
    wanted_qty: float
    qty: float
    reason: str


@attrs.frozen
class BacktestResult:
    events: int
    trades: list[TradeRecord]
    symbols: list[SymbolSummary]
    elapsed_s: float
    skips: dict[str, int] = attrs.field(factory=dict)
    """Opportunities skipped, by kind of reason (the text before a reason's colon): each
    run of skips for one reason counts once."""
    resizes: list[Resize] = attrs.field(factory=list)
    mode_changes: list[RiskModeChange] = attrs.field(factory=list)
    """What the portfolio stops did to the risk mode, in order."""
    contexts: list[ArbitrageContext] = attrs.field(factory=list)
    """Each symbol's strategy as the data left it."""

    @property
    def cycles(self) -> int:
        return len(self.trades)

    @property
    def total_pnl_usdt(self) -> float:
        return sum(trade.pnl_usdt for trade in self.trades)

    @property
    def open_positions(self) -> list[str]:
        return [s.symbol for s in self.symbols if s.open_position]


# ------------------------------------------------------------------------- engine


@attrs.define
class _SymbolStrategy:
    """One symbol under test: its strategy's context and the latest quote of each leg
    (what orders fill against)."""

    symbol: Symbol
    ctx: ArbitrageContext
    spot: Quote | None = None
    futures: Quote | None = None
    limits: EntryLimits = NO_LIMITS
    limits_for: ExposureTotals | None = None
    """The totals ``limits`` were worked out from: unchanged totals, unchanged room."""
    series: SeriesSampler | None = None
    """Samples its quotes for the history, when the backtest keeps one."""


@attrs.frozen
class _Pending:
    due: float
    strategy: _SymbolStrategy
    order: Order


HistorySink = Callable[[TradeRecord | HistoryRecord], None]

SERIES_INTERVAL_S = 1.0
"""A backtest's series: a point a second of the data at most per symbol, as a live
system samples by default."""


class Backtest:
    """Runs quote rows through one strategy per symbol. Use :func:`run_backtest`."""

    def __init__(
        self,
        config: BacktestConfig,
        history: HistorySink | None = None,
        series_interval_s: float = SERIES_INTERVAL_S,
    ) -> None:
        self.config = config
        self._history = history
        self._series_interval_s = series_interval_s
        self._params = config.strategy.params(config.risk)
        self._rules = LegRules(config.backtest.spot.rules(), config.backtest.futures.rules())
        self._latency_s = config.backtest.latency_ms / 1000.0
        self._partial = config.backtest.partial_fills
        self._strategies: dict[str, _SymbolStrategy] = {}
        self._pending: deque[_Pending] = deque()
        self._trade_seq = 0
        self.trades: list[TradeRecord] = []
        self._risk = config.risk
        self._totals = ExposureTotals()
        section = config.backtest
        self._spot_cash = section.spot_balance_usdt
        self._futures_cash = section.futures_balance_usdt
        self._stops = StopsState()
        self._next_stops_check = -float("inf")
        self.skips: dict[str, int] = {}
        self.resizes: list[Resize] = []
        self.mode_changes: list[RiskModeChange] = []

    def _start_strategy(self, symbol_text: str, now: float) -> _SymbolStrategy:
        symbol = Symbol.parse(symbol_text)
        settings = self.config.strategy
        config = self.config
        task_type = task_type_of(symbol, config.funding_carry)
        params = self._params
        if task_type != TASK_TYPE:
            params = task_params(task_type, settings, config.risk, config.funding_carry)
        ctx = new_context(
            f"bt{len(self._strategies) + 1}",
            symbol,
            now=now,
            base_position_size_usdt=settings.base_position_size_usdt,
            futures_leverage=settings.futures_leverage,
            params=params,
            rules=self._rules,
            task_type=task_type,
        )
        if self.mode_changes:  # a strategy starts in the portfolio's mode
            ctx, _ = step(ctx, self.mode_changes[-1])
        strategy = _SymbolStrategy(symbol, ctx)
        if self._history is not None:
            strategy.series = SeriesSampler(self._series_interval_s)
        self._strategies[symbol_text] = strategy
        return strategy

    def feed(self, source: QuoteFile, on_progress: Callable[[int], None] | None = None) -> int:
        """Run every row of ``source``; returns how many events there were."""
        strategies = self._strategies
        pending = self._pending
        latency = self._latency_s
        history = self._history
        events = 0
        for (ts, leg, symbol_text, bid, bid_qty, ask, ask_qty), depth in source.with_depth():
            events += 1
            now = ts / 1000.0
            if now >= self._next_stops_check:
                self._check_stops(now)
            strategy = strategies.get(symbol_text)
            if strategy is None:
                # The file's reader has checked the symbol.
                strategy = self._start_strategy(symbol_text, now)
            if pending and pending[0].due < now:
                self._execute_due(now)
            if leg == FUNDING_RATE:
                update = FundingRateUpdate(now, bid, bid_qty, ask or None)
                strategy.ctx, _ = step(strategy.ctx, update)
                continue
            if leg == FUNDING_SETTLED:
                self._settle_funding(strategy, bid, ask, now)
                continue
            quote = Quote(strategy.symbol, bid, bid_qty, ask, ask_qty, now, now, depth)
            if leg == "spot":
                strategy.spot = quote
            else:
                strategy.futures = quote
            if strategy.spot is None or strategy.futures is None:
                continue
            before = strategy.ctx
            limits = self._limits(strategy) if before.state in _SIZED else None
            if limits is None:
                ctx, commands = on_market(before, now, strategy.spot, strategy.futures)
            else:
                ctx, commands = on_market(
                    before, now, strategy.spot, strategy.futures, limits=limits
                )
            strategy.ctx = ctx
            if ctx is not before:
                self._note_decision(strategy, before)
            if commands:
                self._carry_out(strategy, commands, now, latency)
            if history is not None:
                assert strategy.series is not None
                point = strategy.series.sample(strategy.ctx, now, strategy.spot, strategy.futures)
                if point is not None:
                    history(point)
            if on_progress is not None and not events & 0x3FFF:
                on_progress(events)
        return events

    def finish(self) -> None:
        """The data ended: orders still on their way meet the last quotes."""
        self._execute_due(float("inf"))

    # ------------------------------------------------------------------ risk

    def _limits(self, strategy: _SymbolStrategy) -> EntryLimits:
        """The room the caps and balances leave ``strategy`` now (worked out again only
        when some strategy's exposure has changed)."""
        totals = self._totals
        if strategy.limits_for is not totals:
            params = self._params
            exposure = totals.by_task.get(strategy.ctx.task_id) or exposure_of(strategy.ctx)
            strategy.limits = entry_room(
                totals,
                self._balances(strategy.ctx),
                exposure,
                self._risk,
                params.spot_fee,
                params.fut_fee,
                strategy.ctx.futures_leverage,
            )
            strategy.limits_for = totals
        return strategy.limits

    def _balances(self, ctx: ArbitrageContext) -> Balances:
        """What each venue's account would have free: the starting balance, less what
        was spent on spot (fees included) and the margin the shorts hold."""
        spot: dict[str, float] = {}
        futures: dict[str, float] = {}
        if self._spot_cash is not None:
            spot[ctx.spot_venue] = self._spot_cash
        if self._futures_cash is not None:
            margin = sum(
                s.ctx.positions.futures.qty
                * s.ctx.positions.futures.avg_price
                / s.ctx.futures_leverage
                for s in self._strategies.values()
            )
            futures[ctx.futures_venue] = self._futures_cash - margin
        return Balances(spot, futures)

    def _note_decision(self, strategy: _SymbolStrategy, before: ArbitrageContext) -> None:
        """Count a new skip reason, record an entry's resize, and follow the exposure."""
        ctx = strategy.ctx
        reason = ctx.last_skip_reason
        if reason is not None and reason != before.last_skip_reason:
            kind = reason.partition(":")[0]
            self.skips[kind] = self.skips.get(kind, 0) + 1
        opportunity = ctx.current_opportunity
        if (
            ctx.state is ArbitrageState.ENTERING
            and before.state is not ArbitrageState.ENTERING
            and opportunity is not None
            and opportunity.limited_by is not None
        ):
            self.resizes.append(
                Resize(
                    str(strategy.symbol),
                    opportunity.ts,
                    opportunity.wanted_qty or 0.0,
                    opportunity.qty,
                    opportunity.limited_by,
                )
            )
        self._follow_exposure(strategy)

    def _follow_exposure(self, strategy: _SymbolStrategy) -> None:
        self._totals = self._totals.with_exposure(strategy.ctx.task_id, exposure_of(strategy.ctx))

    def _check_stops(self, now: float) -> None:
        """Judge the portfolio's stops on its P&L now, realised plus unrealised at the
        latest quotes; a mode they call for goes to every strategy."""
        self._next_stops_check = now + STOPS_EVERY_S
        pnl = 0.0
        for strategy in self._strategies.values():
            ctx = strategy.ctx
            pnl += ctx.realized_pnl_usdt
            if strategy.spot is not None and strategy.futures is not None:
                sb, fa = strategy.spot.bid, strategy.futures.ask
                if sb > 0.0 and fa > 0.0:
                    pnl += pnl_if_closed(ctx, sb, fa) - ctx.cycle.realized_usdt
        self._stops, change = evaluate_stops(self._stops, now, pnl, self._risk)
        if change is None:
            return
        self.mode_changes.append(change)
        for strategy in self._strategies.values():
            strategy.ctx, commands = step(strategy.ctx, change)
            if commands:
                self._carry_out(strategy, commands, now, self._latency_s)

    def _carry_out(
        self, strategy: _SymbolStrategy, commands: tuple, now: float, latency: float
    ) -> None:
        history = self._history
        for command in commands:
            if isinstance(command, PlaceOrder):
                if latency > 0.0:
                    self._pending.append(_Pending(now + latency, strategy, command.order))
                else:
                    self._execute(strategy, command.order, now)
            elif isinstance(command, TradeClosed):
                self.trades.append(command.trade)
                self._next_stops_check = now  # a closed cycle moves the P&L
                if history is not None:
                    history(command.trade)
            elif isinstance(command, TradeAmended):
                self._amend(command.trade)
                if history is not None:
                    history(command.trade)
            elif history is not None and isinstance(command, (FillRecord, FundingRecord)):
                history(command)
            # Cancels need nothing: every order here ends as soon as it executes.

    def _amend(self, trade: TradeRecord) -> None:
        """Replace the record of the same cycle (same symbol, entry and exit)."""
        for n in range(len(self.trades) - 1, -1, -1):
            kept = self.trades[n]
            if (kept.symbol, kept.entry_ts, kept.exit_ts) == (
                trade.symbol,
                trade.entry_ts,
                trade.exit_ts,
            ):
                self.trades[n] = trade
                return

    def _settle_funding(
        self, strategy: _SymbolStrategy, rate: float, mark_price: float, now: float
    ) -> None:
        """The short held now receives ``rate`` times its value at ``mark_price`` (the
        futures mid when 0)."""
        short = strategy.ctx.positions.futures.qty
        if short <= 0.0:
            return
        if mark_price <= 0.0:
            futures = strategy.futures
            if futures is None:
                return
            mark_price = (futures.bid + futures.ask) / 2.0 if futures.bid > 0.0 else futures.ask
        payment = FundingPayment(now, rate * short * mark_price)
        strategy.ctx, commands = step(strategy.ctx, payment)
        if commands:
            self._carry_out(strategy, commands, now, self._latency_s)

    def _execute_due(self, now: float) -> None:
        """Every order that arrived before ``now`` meets the quotes it arrived to."""
        pending = self._pending
        while pending and pending[0].due < now:
            waiting = pending.popleft()
            self._execute(waiting.strategy, waiting.order, waiting.due)

    def _execute(self, strategy: _SymbolStrategy, order: Order, now: float) -> None:
        """Fill ``order`` against ``strategy``'s latest quote of its leg."""
        quote = strategy.spot if order.leg is Leg.SPOT else strategy.futures
        assert quote is not None
        buying = order.side is Side.BUY
        if quote.depth is not None:
            qty, price = _through_depth(quote.depth, order, buying, self._partial)
            if qty <= 0.0:
                self._settle(strategy, order, 0.0, 0.0, now)
                return
            self._settle(strategy, order, qty, price, now)
            return
        if self._latency_s > 0.0:
            price = quote.ask if buying else quote.bid
            still_there = price > 0.0 and (
                order.type is OrderType.MARKET
                or (price <= order.price if buying else price >= order.price)
            )
            if not still_there:
                self._settle(strategy, order, 0.0, 0.0, now)
                return
        else:
            price = order.price
        qty = order.qty
        if self._partial:
            qty = min(qty, quote.ask_qty if buying else quote.bid_qty)
        self._settle(strategy, order, qty, price, now)

    def _settle(
        self, strategy: _SymbolStrategy, order: Order, qty: float, price: float, now: float
    ) -> None:
        commands: list = []
        if qty > 0.0:
            fee_rate = self._params.spot_fee if order.leg is Leg.SPOT else self._params.fut_fee
            self._pay(strategy.ctx, order, qty, price, qty * price * fee_rate)
            self._trade_seq += 1
            fill = Fill(
                order.client_id, f"bt{self._trade_seq}", qty, price, qty * price * fee_rate, now
            )
            strategy.ctx, produced = step(strategy.ctx, fill)
            commands.extend(produced)
        status = OrderStatus.FILLED if qty >= order.qty else OrderStatus.EXPIRED
        strategy.ctx, produced = step(
            strategy.ctx, OrderFinal(now, order.client_id, status, qty, price)
        )
        commands.extend(produced)
        self._follow_exposure(strategy)
        if commands:
            self._carry_out(strategy, tuple(commands), now, self._latency_s)

    def _pay(
        self, ctx: ArbitrageContext, order: Order, qty: float, price: float, fee: float
    ) -> None:
        """Move the accounts' cash for a fill: spot pays for what it buys and is paid for
        what it sells; the futures account pays fees and realises the short's P&L on
        what it buys back."""
        if order.leg is Leg.SPOT:
            if self._spot_cash is not None:
                value = qty * price
                self._spot_cash += (-value if order.side is Side.BUY else value) - fee
        elif self._futures_cash is not None:
            self._futures_cash -= fee
            if order.side is Side.BUY:
                short = ctx.positions.futures
                self._futures_cash += (short.avg_price - price) * min(qty, max(short.qty, 0.0))

    def result(self, events: int, elapsed_s: float) -> BacktestResult:
        summaries = []
        for text, strategy in self._strategies.items():
            trades = [t for t in self.trades if t.symbol == str(strategy.symbol)]
            ctx = strategy.ctx
            summaries.append(
                SymbolSummary(
                    symbol=text,
                    cycles=len(trades),
                    pnl_usdt=sum(t.pnl_usdt for t in trades),
                    wins=sum(1 for t in trades if t.pnl_usdt > 0.0),
                    open_position=ctx.state
                    not in (ArbitrageState.MONITORING, ArbitrageState.PAUSED, ArbitrageState.IDLE),
                    volume_usdt=ctx.total_volume_usdt,
                    funding_usdt=ctx.funding_usdt,
                    task_type=ctx.task_type,
                )
            )
        return BacktestResult(
            events,
            list(self.trades),
            summaries,
            elapsed_s,
            dict(self.skips),
            list(self.resizes),
            list(self.mode_changes),
            [strategy.ctx for strategy in self._strategies.values()],
        )


_SIZED = (ArbitrageState.IDLE, ArbitrageState.MONITORING, ArbitrageState.IMBALANCED)
"""The states whose decisions the caps bound: an entry, a correction growing a leg."""

STOPS_EVERY_S = 60.0
"""How often (in the data's time) the portfolio's stops are judged, besides on every
closed cycle."""


def _through_depth(
    depth: BookDepth, order: Order, buying: bool, partial: bool
) -> tuple[float, float]:
    """(quantity, average price) an order fills through the levels its limit price
    reaches: all of it at their depth-weighted price, or with ``partial`` no more than
    they hold."""
    levels = depth.asks if buying else depth.bids
    market = order.type is OrderType.MARKET
    reached = tuple(
        level
        for level in levels
        if market or (level[0] <= order.price if buying else level[0] >= order.price)
    )
    held = sum(qty for _, qty in reached)
    if not reached:
        return 0.0, 0.0
    qty = min(order.qty, held) if partial else order.qty
    price = depth_weighted_price(reached, qty)
    if qty > held:  # beyond the levels shown, the rest at the last level reached
        price = (price * held + reached[-1][0] * (qty - held)) / qty
    return qty, price


def run_backtest(
    path: str,
    config: BacktestConfig,
    on_progress: Callable[[int, int, int], None] | None = None,
    history: HistorySink | None = None,
) -> BacktestResult:
    """Backtest the quote file at ``path``. ``on_progress(events, bytes_done, bytes_total)``
    is called now and then while it runs; ``history`` (if given) is handed every record
    of the history as it happens."""
    began = time.perf_counter()
    backtest = Backtest(config, history)
    with QuoteFile(path) as source:
        report = None
        if on_progress is not None:

            def report(events: int) -> None:
                on_progress(events, source.position, source.size)

        events = backtest.feed(source, report)
        if not source.quotes:
            # A backtest of nothing is no success.
            raise source.no_quotes()
    backtest.finish()
    return backtest.result(events, time.perf_counter() - began)
