"""The simulated spot venue (MEXC-like): orders backed by the account's asset balances.

An order locks what it may spend when it arrives: a sell its quantity of the base asset,
a limit buy ``qty * price * (1 + fee)`` of the quote asset (the higher of the maker and
taker fees, since it may fill either way). A market buy is priced against the book on
arrival and must be covered by the free quote balance, fee included. Fills spend from the
lock and the rest returns to ``free`` when the order ends; ``InsufficientBalance`` when
the free balance is short.

Fees are taken where the configured ``fee_asset`` says (``SPOT_FEE_ASSETS``). By default
in the quote asset on both sides, as MEXC's fee pages document ("the currency of the
market"), so that the cash flows are ``q·price·(1 ± fee)``; in ``base`` mode from the coin
received (a buy's fee in the base coin, so the account holds less than it bought); in
``mx`` mode in MX at ``mx_price_usdt`` after ``mx_discount``, or in the quote asset when
the free MX does not cover it.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Sequence

from actors.sim.book import Execution
from actors.sim.config import SpotVenueConfig, SymbolConfig
from actors.sim.events import BalanceChanged, VenueEvent
from actors.sim.exchange import LiveOrder, OrderRequest, SimExchange
from actors.sim.market import SimMarket
from actors.sim.read_after_write import ReadAfterWrite
from actors.sim.records import VenueFill, VenueOrder
from protocols.model import Leg, OrderType, Side, Symbol, TimeInForce, VenueRules
from protocols.rules import step_decimals, whole_steps
from protocols.venue import (
    Balance,
    BelowMinimum,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
)

MX = "MX"
"""MEXC's own token, in which an account may pay its fees."""

_FEE_DECIMALS = 6
"""How many decimals finer than a quantity step a fee taken in the base coin is kept."""


class SpotExchange(SimExchange):
    """A spot venue trading ``symbols`` on the shared ``market``."""

    leg = Leg.SPOT
    _counts_contracts = False

    def __init__(
        self,
        config: SpotVenueConfig,
        symbols: Sequence[SymbolConfig],
        market: SimMarket,
        rng: random.Random,
    ) -> None:
        super().__init__(
            name=config.name,
            market=market,
            rules={sc.symbol: sc.spot_rules for sc in symbols},
            maker_fee=config.maker_fee,
            taker_fee=config.taker_fee,
            client_id_pattern=config.client_id_pattern,
            client_id_query_window_s=config.client_id_query_window_s,
            read_after_write=ReadAfterWrite(config.query_lag_s, config.forget_unfilled_after_s),
            rng=rng,
        )
        self._lock_fee = max(config.maker_fee, config.taker_fee)
        self._fee_asset = config.fee_asset
        self._mx_price_usdt = config.mx_price_usdt
        self._mx_discount = config.mx_discount
        assets = [a for sc in symbols for a in (sc.symbol.base, sc.symbol.quote)]
        if config.fee_asset == "mx":
            assets.append(MX)
        self._free: dict[str, float] = dict.fromkeys(assets, 0.0)
        self._free.update(config.balances)
        # Base assets move by whole quantity steps, so their balances are kept on that
        # grid: 0.7 + 0.1 must leave 0.8 to sell, not 0.7999999999999999. Fees taken in
        # the base coin are finer than a step: the grid is then finer too.
        extra = _FEE_DECIMALS if config.fee_asset == "base" else 0
        self._decimals: dict[str, int] = {}
        for sc in symbols:
            decimals = step_decimals(sc.spot_rules.qty_step) + extra
            self._decimals[sc.symbol.base] = max(decimals, self._decimals.get(sc.symbol.base, 0))
        self._touched_assets: set[str] = set()

    def place_order(
        self,
        symbol: Symbol,
        side: Side,
        order_type: OrderType,
        qty: float,
        *,
        price: float | None = None,
        tif: TimeInForce | None = None,
        client_id: str | None = None,
        now: float,
    ) -> VenueOrder:
        """Place an order of ``qty`` base units; return it as it stands after matching.

        A ``LIMIT`` order needs ``price`` and is GTC unless ``tif`` is IOC; a ``MARKET``
        order takes no price and is IOC. Refusals (nothing changes): ``InvalidSymbol``,
        ``InvalidParameter`` (bad type, price or client id), ``DuplicateClientId``,
        ``InvalidPrecision`` (off the quantity step or the tick), ``BelowMinimum``
        (quantity or notional), ``InsufficientBalance``, or an injected fault.
        """
        request = OrderRequest(symbol, side, order_type, qty, price, tif, client_id)
        return self._place(request, now)

    def buy_for_quote(
        self, symbol: Symbol, quote_qty: float, *, client_id: str | None = None, now: float
    ) -> VenueOrder:
        """A market buy spending at most ``quote_qty`` of the quote asset on the fills
        (MEXC's ``quoteOrderQty``): as many whole quantity steps as that buys walking the
        asks now, placed as a market buy of that quantity. ``BelowMinimum`` when it buys
        not even one step; otherwise refused as ``place_order`` refuses."""
        if not math.isfinite(quote_qty) or quote_qty <= 0.0:
            raise InvalidParameter(self.name, None, f"quote quantity must be > 0, got {quote_qty}")
        self.rules(symbol)
        book = self._book(symbol)
        lots, left = 0, quote_qty
        for price, level_lots in book.sweep(Side.BUY, None, sys.maxsize):
            lot_cost = book.qty(1) * price
            # A hair of tolerance, so that spending exactly n lots' price buys n lots.
            affordable = min(level_lots, math.floor(left / lot_cost * (1.0 + 1e-12)))
            lots += affordable
            left -= affordable * lot_cost
            if affordable < level_lots:
                break
        if lots == 0:
            refusal = BelowMinimum(
                self.name,
                None,
                f"{symbol} {quote_qty:g} {symbol.quote} does not buy one quantity step at the "
                "best ask; spend more",
            )
            self.ledger.record_refused(now, symbol, Side.BUY, 0.0, None, client_id, refusal)
            raise refusal
        return self.place_order(
            symbol, Side.BUY, OrderType.MARKET, book.qty(lots), client_id=client_id, now=now
        )

    def balance(self, asset: str) -> Balance:
        """``free`` and ``locked`` (held by open orders) of ``asset``."""
        locked = math.fsum(
            order.locked for order in self._all_resting() if self._locked_asset(order) == asset
        )
        return Balance(asset, self._free.get(asset, 0.0), self._on_grid(asset, locked))

    def transfer(self, asset: str, amount: float, now: float) -> float:
        """Move ``amount`` of ``asset`` into the account (out of it when negative), as a
        deposit or a withdrawal made elsewhere would, no more than is free; returns what
        moved, pushed on the balance channel."""
        if not math.isfinite(amount):
            raise InvalidParameter(self.name, None, f"transfer must be finite, got {amount}")
        moved = max(amount, -self._free.get(asset, 0.0))
        self._free.setdefault(asset, 0.0)
        self._add(asset, moved)
        self._flush(now)
        return moved

    def balances(self) -> list[Balance]:
        """Every asset the venue knows for this account, including empty ones."""
        return [self.balance(asset) for asset in sorted(self._free)]

    # ---------------------------------------------------------------------- hooks

    def _lots(self, request: OrderRequest, rules: VenueRules) -> int:
        qty = request.qty
        if not math.isfinite(qty) or qty <= 0.0:
            raise InvalidParameter(self.name, None, f"quantity must be > 0, got {qty}")
        lots = whole_steps(qty, rules.qty_step)
        if lots is None:
            raise InvalidPrecision(
                self.name,
                None,
                f"{request.symbol} quantity {qty} is not a multiple of the step "
                f"{rules.qty_step:g}; round it down to the step",
            )
        return lots

    def _reserve(self, order: LiveOrder, executions: list[Execution]) -> None:
        book = self._book(order.symbol)
        asset = self._locked_asset(order)
        if order.side is Side.SELL:
            need = book.qty(order.lots)
        elif order.price is not None:
            need = book.qty(order.lots) * order.price * (1.0 + self._lock_fee)
        else:
            cost = math.fsum(book.qty(lots) * price for price, lots in executions)
            need = cost * (1.0 + self.taker_fee)
        free = self._free[asset]
        if free < need:
            raise InsufficientBalance(
                self.name,
                None,
                f"{order.symbol} {order.side.value}: needs {need:.8g} {asset}, "
                f"{free:.8g} {asset} is free",
            )
        # A market buy spends at once: its fills take from the free balance directly.
        if order.side is Side.SELL or order.price is not None:
            order.locked = need
            self._add(asset, -need)

    def _return_reserve(self, order: LiveOrder, amount: float) -> None:
        if amount:
            self._add(self._locked_asset(order), amount)

    def _charge(
        self, order: LiveOrder, qty: float, price: float, fee_usdt: float
    ) -> tuple[float, str, float]:
        symbol = order.symbol
        if self._fee_asset == "base" and order.side is Side.BUY:
            return fee_usdt / price, symbol.base, fee_usdt
        if self._fee_asset == "mx":
            discounted = fee_usdt * (1.0 - self._mx_discount)
            mx_fee = discounted / self._mx_price_usdt
            if mx_fee <= self._free.get(MX, 0.0):
                return mx_fee, MX, discounted
        return fee_usdt, symbol.quote, fee_usdt

    def mx_price_usdt(self) -> float:
        """What MX is worth in USDT here (the fees taken in MX are valued at it)."""
        return self._mx_price_usdt

    def _settle(self, order: LiveOrder, fill: VenueFill) -> None:
        base, quote = order.symbol.base, order.symbol.quote
        value = fill.qty * fill.price
        if fill.side is Side.BUY:
            self._add(quote, -value)
            self._add(base, fill.qty)
        else:
            self._add(base, -fill.qty)
            self._add(quote, value)
        self._add(fill.fee_asset, -fill.fee)

    def _add(self, asset: str, amount: float) -> None:
        self._free[asset] = self._on_grid(asset, self._free[asset] + amount)
        self._touched_assets.add(asset)

    def _on_grid(self, asset: str, amount: float) -> float:
        decimals = self._decimals.get(asset)
        return amount if decimals is None else round(amount, decimals)

    def _account_events(self, now: float) -> list[VenueEvent]:
        events: list[VenueEvent] = [
            BalanceChanged(self.balance(asset), now) for asset in sorted(self._touched_assets)
        ]
        self._touched_assets.clear()
        return events

    @staticmethod
    def _locked_asset(order: LiveOrder) -> str:
        return order.symbol.quote if order.side is Side.BUY else order.symbol.base
