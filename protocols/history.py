"""What the store keeps for analysis beside the cycles (``TradeRecord``): every fill with
the price it was decided on, every funding settlement, and a sampled series per symbol.

Strategies emit the fill and funding records as commands (the pure machine knows the
decision price, the cycle and the role of each fill); the writer stores them with the
snapshot that follows, and a backtest into a store of its own. Each carries the keys
by which a record told twice (a replay after a restart) is stored once.
"""

from __future__ import annotations

import msgspec


class FillRecord(msgspec.Struct, frozen=True, gc=False):
    """One fill a strategy applied: ``qty`` at ``price`` against ``decision_price`` (the
    best price on the book when its order was decided; the fill price when none is
    known), its fee as the venue charged it and its worth in USDT. Stored once per
    (``client_id``, ``trade_id``).

    ``role`` is what the order was for: ``entry``, ``exit``, ``correction`` (matching
    the legs) or ``venue`` (the venue reduced the leg without an order of ours, as in a
    liquidation or an auto-deleveraging; ``client_id`` is then empty and ``trade_id``
    names the reduction, ``<task id>-venue-<n>``, so that no two tasks' collide)."""

    task_id: str
    cycle: int
    symbol: str
    venue: str
    leg: str
    side: str
    role: str
    client_id: str
    trade_id: str
    ts: float
    qty: float
    price: float
    decision_price: float
    fee_usdt: float
    commission: float = 0.0
    commission_asset: str = ""


class FundingRecord(msgspec.Struct, frozen=True, gc=False):
    """A funding settlement a strategy counted in ``cycle`` (received when positive).
    Stored once per (``task_id``, ``ledger_id``, ``ts``): the venue's ledger id, empty
    where the source has none (a backtest reports each settlement once)."""

    task_id: str
    cycle: int
    symbol: str
    venue: str
    ledger_id: str
    ts: float
    amount_usdt: float


class SeriesPoint(msgspec.Struct, frozen=True, gc=False):
    """One sample of a symbol: what entering would cost then (%), and while a position
    is open, the cycle's P&L if it were closed then (USDT and % of the spot leg's entry
    notional) and the part of it not yet realised. Stored once per (``symbol``,
    ``ts``)."""

    symbol: str
    ts: float
    entry_cost_pct: float
    pnl_usdt: float | None = None
    pnl_pct: float | None = None
    unrealized_usdt: float | None = None


HistoryRecord = FillRecord | FundingRecord | SeriesPoint
