"""What the simulated venues report: orders, fills, funding payments, futures positions.

These are frozen snapshots, safe to hand to servers, tests and other tasks. Quantities
are in base units as everywhere in Basis; futures records add the same quantity in
contracts, which is what Gate.io's wire format speaks. Money is in the quote asset (USDT).
"""

from __future__ import annotations

import enum

import msgspec

from protocols.model import OrderStatus, OrderType, Side, Symbol, TimeInForce


class FinishReason(enum.Enum):
    """Why an order stopped (Gate.io's ``finish_as`` vocabulary)."""

    FILLED = "filled"
    CANCELLED = "cancelled"
    """Cancelled on request."""
    IOC = "ioc"
    """The part of an IOC or market order that found no liquidity expired."""
    REDUCE_ONLY = "reduce_only"
    """A reduce-only order was left with no position to reduce."""
    LIQUIDATED = "liquidated"
    """Cancelled by the venue as it liquidated the contract's position."""


class VenueOrder(msgspec.Struct, frozen=True):
    """An order as the venue knows it. ``price`` is ``None`` for a market order;
    ``avg_price`` is 0 until something fills; ``fees`` are the total so far, in USDT.
    ``contracts`` and ``filled_contracts`` are set on the futures venue only."""

    venue: str
    venue_order_id: str
    client_id: str | None
    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce
    qty: float
    price: float | None
    status: OrderStatus
    filled_qty: float
    avg_price: float
    fees: float
    created_ts: float
    updated_ts: float
    reduce_only: bool = False
    contracts: int | None = None
    filled_contracts: int | None = None
    finish_reason: FinishReason | None = None
    trade_ids: tuple[str, ...] = ()


class VenueFill(msgspec.Struct, frozen=True):
    """One execution of one order: ``qty`` base units at ``price``; ``fee`` in
    ``fee_asset`` (what the venue charged it in), worth ``fee_usdt``."""

    venue: str
    trade_id: str
    venue_order_id: str
    client_id: str | None
    symbol: Symbol
    side: Side
    qty: float
    price: float
    fee: float
    is_maker: bool
    ts: float
    contracts: int | None = None
    fee_asset: str = "USDT"
    fee_usdt: float = 0.0

    @property
    def signed_qty(self) -> float:
        """``qty`` with the sign of what it did to the holding: + bought, - sold."""
        return self.qty if self.side is Side.BUY else -self.qty


class FundingPayment(msgspec.Struct, frozen=True):
    """Funding settled on a position at ``ts``: ``amount`` USDT, positive when received.
    ``contracts`` is the signed position it was paid on; ``balance`` the wallet after."""

    venue: str
    symbol: Symbol
    ts: float
    rate: float
    contracts: int
    mark_price: float
    amount: float
    balance: float


class PerpetualPosition(msgspec.Struct, frozen=True):
    """A futures position: ``contracts`` signed (negative = short), ``qty`` the same in
    base units. ``margin`` is what it ties up at ``leverage`` (its value at the entry
    price over the leverage); ``realised_pnl`` is from closing trades, before ``fees``
    and ``funding_pnl``, which are listed apart. ``maintenance_rate`` and
    ``risk_limit`` are those of the risk limit tier its value at the mark falls in."""

    symbol: Symbol
    contracts: int
    qty: float
    entry_price: float
    mark_price: float
    leverage: float
    margin: float
    unrealised_pnl: float
    realised_pnl: float
    fees: float
    funding_pnl: float
    liq_price: float = 0.0
    """Where the venue liquidates it (0 when flat); see ``margin.liquidation_price``."""
    maintenance_rate: float = 0.0
    risk_limit: float = 0.0


class Liquidation(msgspec.Struct, frozen=True):
    """The venue closed a position whose mark price crossed its liquidation price (Gate.io's
    ``futures.liquidates``): ``contracts`` and ``qty`` the position it closed (signed,
    negative = short), at ``price``, the bankruptcy price, its ``margin`` lost; the
    liquidation order ``order_id`` is the venue's, not the account's."""

    venue: str
    symbol: Symbol
    ts: float
    order_id: str
    contracts: int
    qty: float
    leverage: float
    margin: float
    entry_price: float
    liq_price: float
    mark_price: float
    price: float

    @property
    def signed_qty(self) -> float:
        """What it did to the holding, as a fill's: + bought (a short closed), - sold."""
        return -self.qty


class AutoDeleverage(msgspec.Struct, frozen=True):
    """The venue took ``trade_contracts`` off a position at ``price`` to cover another
    account's liquidation (Gate.io's ``futures.auto_deleverages``): signed as a trade
    (positive = bought, a short reduced), ``trade_qty`` the same in base units,
    ``position_contracts`` what is left."""

    venue: str
    symbol: Symbol
    ts: float
    order_id: str
    leverage: float
    entry_price: float
    price: float
    trade_contracts: int
    trade_qty: float
    position_contracts: int

    @property
    def signed_qty(self) -> float:
        return self.trade_qty


class FuturesAccount(msgspec.Struct, frozen=True):
    """The futures account in USDT: ``total`` is the wallet (deposits, realised P&L,
    fees and funding), ``available`` what new orders can still use."""

    total: float
    available: float
    unrealised_pnl: float
    position_margin: float
    order_margin: float
    currency: str = "USDT"
