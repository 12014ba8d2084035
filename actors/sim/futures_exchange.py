"""The simulated USDT perpetual venue (Gate.io-like): orders in contracts, positions,
margin and funding.

Orders and positions count whole contracts (``contract_size`` base units each); a
position is signed, negative when short, with an average entry price. Closing trades
realise P&L into the USDT wallet, which also pays the fees and receives or pays funding.
An order that would grow a position needs its margin, ``contracts * contract_size *
price * (1/leverage + taker fee)``, out of ``available``; it holds that margin while it
rests. Each contract's leverage is the venue's default until a client sets it (isolated
margin, single position mode). A position's margin is its value at the entry price over
its leverage, as Gate.io computes an isolated one.

Liquidation, as Gate.io's isolated margin: a position's maintenance margin follows the
contract's risk limit tiers by its value at the mark price, and its liquidation price
follows from its margin, entry, size and that (``actors.sim.margin``). Once the mark
price crosses it (``liquidate_crossed``, after every market move), the venue cancels the
contract's open orders (``FinishReason.LIQUIDATED``) and closes the position itself, at
its bankruptcy price: the whole margin is lost, whatever the mark. The account sees a
``Liquidation`` (ledger, event), not a fill of an order of its own.

Auto-deleveraging happens on command (``auto_deleverage``): the venue takes contracts
off the position at the mark price, as its ADL does to cover another account's
liquidation, and reports an ``AutoDeleverage``.

Reduce-only orders may only shrink the position, as on Gate.io: one with no position to
reduce is refused (``ReduceOnlyViolated``); one larger than the position fills only the
position and the rest ends with ``FinishReason.REDUCE_ONLY``; a resting one is cancelled
the same way once the position it was reducing is gone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import attrs

from actors.sim import margin
from actors.sim.book import Execution
from actors.sim.config import FuturesVenueConfig, RiskTier, SymbolConfig
from actors.sim.events import (
    FundingApplied,
    OrderUpdated,
    PositionChanged,
    PositionDeleveraged,
    PositionLiquidated,
    VenueEvent,
)
from actors.sim.exchange import LiveOrder, OrderRequest, SimExchange
from actors.sim.funding import FundingSettlement
from actors.sim.market import SimMarket
from actors.sim.read_after_write import ReadAfterWrite
from actors.sim.records import (
    AutoDeleverage,
    FinishReason,
    FundingPayment,
    FuturesAccount,
    Liquidation,
    PerpetualPosition,
    VenueFill,
    VenueOrder,
)
from protocols.model import Leg, OrderType, Side, Symbol, TimeInForce, VenueRules
from protocols.rules import round_to_tick, whole_steps
from protocols.venue import (
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    OrderAlreadyFinal,
    ReduceOnlyViolated,
    UnknownOrder,
)


@attrs.define
class _Position:
    leverage: float
    contracts: int = 0
    entry_price: float = 0.0
    realised_pnl: float = 0.0
    fees: float = 0.0
    funding_pnl: float = 0.0

    def trade(self, contracts: int, price: float, contract_size: float) -> float:
        """Add ``contracts`` (signed) at ``price``; return the P&L the closing part realised."""
        held = self.contracts
        self.contracts = held + contracts
        if held == 0 or (held > 0) == (contracts > 0):
            self.entry_price = (abs(held) * self.entry_price + abs(contracts) * price) / abs(
                self.contracts
            )
            return 0.0
        closed = min(abs(contracts), abs(held))
        realised = closed * contract_size * (price - self.entry_price) * (1 if held > 0 else -1)
        self.realised_pnl += realised
        if self.contracts == 0:
            self.entry_price = 0.0
        elif (self.contracts > 0) != (held > 0):
            self.entry_price = price  # flipped: what is held now was opened at this price
        return realised


class FuturesExchange(SimExchange):
    """A USDT perpetual venue trading ``symbols`` on the shared ``market``."""

    leg = Leg.FUTURES
    _counts_contracts = True

    def __init__(
        self,
        config: FuturesVenueConfig,
        symbols: Sequence[SymbolConfig],
        market: SimMarket,
        rng: random.Random,
    ) -> None:
        super().__init__(
            name=config.name,
            market=market,
            rules={sc.symbol: sc.futures_rules for sc in symbols},
            maker_fee=config.maker_fee,
            taker_fee=config.taker_fee,
            client_id_pattern=config.client_id_pattern,
            client_id_query_window_s=config.client_id_query_window_s,
            read_after_write=ReadAfterWrite(config.query_lag_s, config.forget_unfilled_after_s),
            rng=rng,
        )
        self._cash = config.balance_usdt
        self._contract_size = {sc.symbol: sc.futures_rules.contract_size for sc in symbols}
        self._positions = {sc.symbol: _Position(config.leverage) for sc in symbols}
        self._touched_symbols: set[Symbol] = set()
        self._config = config

    @property
    def dual_mode(self) -> bool:
        """The account holds a long and a short per contract (hedge mode)."""
        return self._config.dual_mode

    def risk_tiers(self, symbol: Symbol) -> tuple[RiskTier, ...]:
        """``symbol``'s risk limit table, which sets its positions' maintenance margin."""
        self.rules(symbol)
        return self._config.risk_tiers_of(symbol)

    def set_leverage(self, symbol: Symbol, leverage: float) -> PerpetualPosition:
        """Hold ``symbol``'s position at ``leverage`` (isolated margin) from now on; return
        the position. Refused as Gate.io does (``LEVERAGE_TOO_HIGH``, ``LEVERAGE_TOO_LOW``)
        outside 1..the contract's maximum. Cross margin (leverage 0) is not simulated."""
        self.rules(symbol)
        highest = self._config.max_leverage_of(symbol)
        if not math.isfinite(leverage) or leverage > highest:
            raise InvalidParameter(
                self.name,
                "LEVERAGE_TOO_HIGH",
                f"leverage {leverage:g} is above {symbol}'s maximum of {highest:g}",
            )
        if leverage < 1.0:
            raise InvalidParameter(
                self.name,
                "LEVERAGE_TOO_LOW",
                f"leverage {leverage:g} is below 1 (cross margin is not simulated)",
            )
        self._positions[symbol].leverage = leverage
        self._touched_symbols.add(symbol)
        return self.position(symbol)

    def place_order(
        self,
        symbol: Symbol,
        side: Side,
        order_type: OrderType,
        contracts: int,
        *,
        price: float | None = None,
        tif: TimeInForce | None = None,
        reduce_only: bool = False,
        client_id: str | None = None,
        now: float,
    ) -> VenueOrder:
        """Place an order for ``contracts`` (> 0; ``side`` gives the direction); return it
        as it stands after matching.

        A ``LIMIT`` order needs ``price`` and is GTC unless ``tif`` is IOC; a ``MARKET``
        order takes no price and is IOC (Gate.io: price 0, tif ioc). Refusals (nothing
        changes): ``InvalidSymbol``, ``InvalidParameter``, ``DuplicateClientId``,
        ``InvalidPrecision`` (fractional contracts, price off the tick), ``BelowMinimum``
        (fewer than the minimum contracts), ``ReduceOnlyViolated`` (nothing to reduce),
        ``InsufficientBalance`` (margin), or an injected fault.
        """
        request = OrderRequest(
            symbol, side, order_type, contracts, price, tif, client_id, reduce_only
        )
        return self._place(request, now)

    def amend_order(
        self,
        *,
        venue_order_id: str | None = None,
        client_id: str | None = None,
        contracts: int,
        side: Side,
        now: float,
    ) -> VenueOrder:
        """Change an open order's size to ``contracts`` in all, what it filled included
        (Gate.io's ``PUT /futures/usdt/orders/{id}``), and return it. At or below what it
        filled the order is cancelled, as the venue documents. Refusals: ``UnknownOrder``,
        ``OrderAlreadyFinal`` (as a cancel's), ``InvalidParameter`` for a side other than
        the order's, or a larger size (the simulated venue only brings orders down)."""
        order = self._find(venue_order_id, client_id, None, now)
        if self.read_after_write.too_new(order.created_ts, now):
            raise UnknownOrder(self.name, None, f"order {order.venue_order_id} does not exist yet")
        if order.status.is_final:
            raise OrderAlreadyFinal(
                self.name,
                None,
                f"order {order.venue_order_id} is already {order.status.value}",
            )
        if side is not order.side:
            raise InvalidParameter(
                self.name, None, f"size: the order is a {order.side.value}; its side stays"
            )
        if contracts > order.lots:
            raise InvalidParameter(
                self.name, None, f"size {contracts} is above the order's {order.lots} contracts"
            )
        if contracts <= order.filled_lots:
            self._finish(order, FinishReason.CANCELLED, now)
        else:
            left = order.left_lots
            order.lots = contracts
            kept = order.locked * order.left_lots / left
            self._return_reserve(order, order.locked - kept)
            order.locked = kept
            order.updated_ts = now
        self._emit(OrderUpdated(self._view(order)))
        self._flush(now)
        return self._view(order)

    def position(self, symbol: Symbol) -> PerpetualPosition:
        self.rules(symbol)
        position = self._positions[symbol]
        mark = self.market.mark_price(symbol)
        qty = self._qty(symbol, position.contracts)
        tiers = self._config.risk_tiers_of(symbol)
        tier = tiers[margin.tier_of(tiers, abs(qty) * mark)]
        return PerpetualPosition(
            symbol,
            position.contracts,
            qty,
            position.entry_price,
            mark,
            position.leverage,
            self._margin(symbol, position),
            qty * (mark - position.entry_price),
            position.realised_pnl,
            position.fees,
            position.funding_pnl,
            self._liquidation_price(symbol, position),
            tier.maintenance_rate,
            tier.risk_limit,
        )

    def positions(self) -> list[PerpetualPosition]:
        """Every listed symbol's position, flat ones included."""
        return [self.position(symbol) for symbol in self._positions]

    def account(self) -> FuturesAccount:
        """The USDT wallet; ``available = total + unrealised - position and order margin``."""
        unrealised, position_margin = [], []
        for symbol, position in self._positions.items():
            if position.contracts:  # a flat position costs only this check
                held = position.contracts * self._contract_size[symbol]
                mark = self.market.mark_price(symbol)
                unrealised.append(held * (mark - position.entry_price))
                position_margin.append(self._margin(symbol, position))
        order_margin = math.fsum(order.locked for order in self._all_resting())
        return FuturesAccount(
            self._cash,
            self._cash + math.fsum(unrealised) - math.fsum(position_margin) - order_margin,
            math.fsum(unrealised),
            math.fsum(position_margin),
            order_margin,
        )

    def transfer(self, amount: float, now: float) -> float:
        """Move ``amount`` USDT into the futures account (out of it when negative), as a
        transfer from or to another account would, no more than is available; returns
        what moved."""
        if not math.isfinite(amount):
            raise InvalidParameter(self.name, None, f"transfer must be finite, got {amount}")
        moved = max(amount, -max(0.0, self.account().available))
        self._cash += moved
        self._flush(now)
        return moved

    def settle_funding(self, settlement: FundingSettlement) -> None:
        """Pay or collect funding on the position of ``settlement.symbol``, if there is one:
        a long pays ``rate * notional at the mark price``, a short receives it."""
        position = self._positions.get(settlement.symbol)
        if position is None or position.contracts == 0:
            return
        contract_size = self._contract_size[settlement.symbol]
        amount = -position.contracts * contract_size * settlement.mark_price * settlement.rate
        self._cash += amount
        position.funding_pnl += amount
        payment = FundingPayment(
            self.name,
            settlement.symbol,
            settlement.ts,
            settlement.rate,
            position.contracts,
            settlement.mark_price,
            amount,
            self._cash,
        )
        self.ledger.record_funding(payment)
        self._emit(FundingApplied(payment))
        self._touched_symbols.add(settlement.symbol)
        self._flush(settlement.ts)

    def liquidate_crossed(
        self, now: float, symbols: Sequence[Symbol] | None = None
    ) -> list[Liquidation]:
        """Liquidate every position in ``symbols`` (every symbol when ``None``) whose
        liquidation price the mark price has crossed; call after their market has moved.
        Returns the liquidations, oldest symbol first."""
        done: list[Liquidation] = []
        for symbol in self._positions if symbols is None else symbols:
            position = self._positions[symbol]
            if position.contracts == 0:
                continue
            qty = self._qty(symbol, position.contracts)
            mark = self.market.mark_price(symbol)
            liquidation_at = self._liquidation_price(symbol, position)
            if margin.crossed(qty, mark, liquidation_at):
                done.append(self._liquidate(symbol, position, mark, liquidation_at, now))
        if done:
            self._flush(now)
        return done

    def auto_deleverage(
        self, symbol: Symbol, contracts: int | None = None, *, now: float
    ) -> AutoDeleverage:
        """Take ``contracts`` (``None``: all) off ``symbol``'s position at the mark price,
        as the venue's auto-deleveraging does, without fees; the account's reduce-only
        orders left with nothing to reduce end as after any fill. ``InvalidParameter``
        when there is no position, or ``contracts`` is not 1..its size."""
        self.rules(symbol)
        position = self._positions[symbol]
        held = position.contracts
        if held == 0:
            raise InvalidParameter(self.name, None, f"{symbol} has no position to deleverage")
        taken = abs(held) if contracts is None else contracts
        if not 1 <= taken <= abs(held):
            raise InvalidParameter(
                self.name,
                None,
                f"{symbol}: deleverage 1..{abs(held)} contracts (the position), not {taken}",
            )
        traded = taken if held < 0 else -taken
        mark = round_to_tick(self.market.mark_price(symbol), self.rules(symbol).price_tick)
        entry = position.entry_price
        self._cash += position.trade(traded, mark, self._contract_size[symbol])
        deleverage = AutoDeleverage(
            self.name,
            symbol,
            now,
            self._venue_order_id(),
            position.leverage,
            entry,
            mark,
            traded,
            self._qty(symbol, traded),
            position.contracts,
        )
        self.ledger.record_deleverage(deleverage)
        self._emit(PositionDeleveraged(deleverage))
        self._touched_symbols.add(symbol)
        self._after_fills(symbol, now)
        self._flush(now)
        return deleverage

    def _liquidate(
        self, symbol: Symbol, position: _Position, mark: float, liquidation_at: float, now: float
    ) -> Liquidation:
        for order in self._resting_orders(symbol):
            self._finish(order, FinishReason.LIQUIDATED, now)
            self._emit(OrderUpdated(self._view(order)))
        qty = self._qty(symbol, position.contracts)
        lost = self._margin(symbol, position)
        price = margin.bankruptcy_price(qty, position.entry_price, lost)
        liquidation = Liquidation(
            self.name,
            symbol,
            now,
            self._venue_order_id(),
            position.contracts,
            qty,
            position.leverage,
            lost,
            position.entry_price,
            liquidation_at,
            mark,
            price,
        )
        self._cash += position.trade(-position.contracts, price, self._contract_size[symbol])
        self.ledger.record_liquidation(liquidation)
        self._emit(PositionLiquidated(liquidation))
        self._touched_symbols.add(symbol)
        return liquidation

    def _qty(self, symbol: Symbol, contracts: int) -> float:
        """``contracts`` (signed) in base units, on the book's grid."""
        return math.copysign(self._book(symbol).qty(abs(contracts)), contracts)

    def _margin(self, symbol: Symbol, position: _Position) -> float:
        """What an isolated position holds: its value at the entry price over its leverage."""
        value = abs(position.contracts) * self._contract_size[symbol] * position.entry_price
        return value / position.leverage

    def _liquidation_price(self, symbol: Symbol, position: _Position) -> float:
        return margin.liquidation_price(
            self._qty(symbol, position.contracts),
            position.entry_price,
            self._margin(symbol, position),
            self._config.risk_tiers_of(symbol),
            self.taker_fee,
        )

    def _venue_order_id(self) -> str:
        """An id from the venue's order numbering, for an order the venue places itself."""
        venue_order_id = str(self._next_order_id)
        self._next_order_id += 1
        return venue_order_id

    # ---------------------------------------------------------------------- hooks

    def _lots(self, request: OrderRequest, rules: VenueRules) -> int:
        if not math.isfinite(request.qty) or request.qty <= 0:
            raise InvalidParameter(
                self.name, None, f"size must be a number of contracts > 0, got {request.qty}"
            )
        contracts = whole_steps(request.qty, 1.0)
        if contracts is None:
            raise InvalidPrecision(
                self.name, None, f"size {request.qty} is not a whole number of contracts"
            )
        return contracts

    def _reducible(self, symbol: Symbol, side: Side) -> int:
        """How many contracts an order on ``side`` would take off the position."""
        held = self._positions[symbol].contracts
        return max(0, -held) if side is Side.BUY else max(0, held)

    def _fillable_lots(self, order: LiveOrder) -> int:
        if order.reduce_only:
            return min(order.left_lots, self._reducible(order.symbol, order.side))
        return order.left_lots

    def _reserve(self, order: LiveOrder, executions: list[Execution]) -> None:
        reducible = self._reducible(order.symbol, order.side)
        if order.reduce_only:
            if reducible == 0:
                held = self._positions[order.symbol].contracts
                raise ReduceOnlyViolated(
                    self.name,
                    None,
                    f"reduce-only {order.side.value} of {order.symbol} with a position of "
                    f"{held} contracts would not reduce it",
                )
            return
        opening = max(0, order.lots - reducible)
        if opening == 0:
            return
        # A market order's opening part fills deepest in the book: price it at the worst level.
        if order.price is not None:
            price = order.price
        elif executions:
            price = executions[-1][0]
        else:
            price = self.market.mark_price(order.symbol)
        leverage = self._positions[order.symbol].leverage
        notional = opening * self._contract_size[order.symbol] * price
        need = notional * (1.0 / leverage + self.taker_fee)
        available = self.account().available
        if available < need:
            raise InsufficientBalance(
                self.name,
                None,
                f"{order.symbol} order needs {need:.8g} USDT of margin at leverage "
                f"{leverage:g}; {available:.8g} USDT is available",
            )
        order.locked = need

    def _return_reserve(self, order: LiveOrder, amount: float) -> None:
        """Nothing to move: order margin is the sum of the open orders' ``locked``."""

    def _settle(self, order: LiveOrder, fill: VenueFill) -> None:
        assert fill.contracts is not None  # this venue counts contracts
        signed = fill.contracts if fill.side is Side.BUY else -fill.contracts
        position = self._positions[order.symbol]
        realised = position.trade(signed, fill.price, self._contract_size[order.symbol])
        position.fees += fill.fee
        self._cash += realised - fill.fee
        self._touched_symbols.add(order.symbol)

    def _after_fills(self, symbol: Symbol, now: float) -> None:
        for order in self._resting_orders(symbol):
            if order.reduce_only and self._fillable_lots(order) == 0:
                self._finish(order, FinishReason.REDUCE_ONLY, now)
                self._emit(OrderUpdated(self._view(order)))

    def _account_events(self, now: float) -> list[VenueEvent]:
        events: list[VenueEvent] = [
            PositionChanged(self.position(symbol), now)
            for symbol in sorted(self._touched_symbols, key=str)
        ]
        self._touched_symbols.clear()
        return events
