"""Records as the store keeps them, with only what a test is about spelled out."""

from __future__ import annotations

from protocols.history import FillRecord, FundingRecord
from protocols.messages import TradeRecord

H = 3600.0
D = 86400.0


def trade(
    symbol: str,
    entry_ts: float,
    exit_ts: float,
    pnl: float,
    *,
    reason: str = "profit",
    task_id: str = "t1",
    cycle: int = 1,
    qty: float = 1.0,
) -> TradeRecord:
    return TradeRecord(
        symbol=symbol, entry_ts=entry_ts, exit_ts=exit_ts, qty=qty, entry_spot_price=100.0,
        entry_futures_price=99.5, exit_spot_price=100.7, exit_futures_price=99.3,
        pnl_usdt=pnl, pnl_pct=pnl, exit_reason=reason, fees_usdt=0.2, funding_usdt=0.0,
        task_id=task_id, cycle=cycle, spot_venue="mexc", futures_venue="gateio_futures",
        basis_usdt=pnl + 0.2, spot_fees_usdt=0.1, futures_fees_usdt=0.1,
    )  # fmt: skip


def fill(
    symbol: str,
    venue: str,
    ts: float,
    qty: float,
    price: float,
    fee: float,
    *,
    trade_id: str,
    task_id: str = "t1",
    cycle: int = 1,
    role: str = "entry",
) -> FillRecord:
    leg = "spot" if venue == "mexc" else "futures"
    return FillRecord(
        task_id, cycle, symbol, venue, leg, "buy" if leg == "spot" else "sell", role,
        f"{task_id}c{trade_id}", trade_id, ts, qty, price, price, fee,
    )  # fmt: skip


def funding(
    symbol: str, ts: float, amount: float, *, ledger_id: str, task_id: str = "t1", cycle: int = 1
) -> FundingRecord:
    return FundingRecord(task_id, cycle, symbol, "gateio_futures", ledger_id, ts, amount)
