"""The newest fills of a run, kept in memory for ``/status``: each fill a strategy hands
to the store is kept on its way there, so that ``/status`` (built every second, and more
often for the dashboard) reads no store."""

from __future__ import annotations

from collections import deque

import msgspec

from actors.arbitrage.actor import HistoryHook
from protocols.history import FillRecord, HistoryRecord
from protocols.messages import TradeRecord

RECENT_FILLS = 100
"""How many of a run's newest fills ``/status`` lists."""


class FillOut(msgspec.Struct, frozen=True):
    """A fill a strategy of this run applied, as ``/status`` lists it."""

    fill_id: str
    """``{client_id}:{trade_id}``: unique."""
    ts: float
    task_id: str
    symbol: str
    venue: str
    leg: str
    side: str
    role: str
    client_id: str
    qty: float
    price: float
    fee_usdt: float


def fill_out(fill: FillRecord) -> FillOut:
    return FillOut(
        f"{fill.client_id}:{fill.trade_id}",
        fill.ts,
        fill.task_id,
        fill.symbol,
        fill.venue,
        fill.leg,
        fill.side,
        fill.role,
        fill.client_id,
        fill.qty,
        fill.price,
        fill.fee_usdt,
    )


def keeping_fills(history: HistoryHook, fills: deque[FillOut]) -> HistoryHook:
    """``history``, keeping each fill it is handed in ``fills`` first."""

    async def hand_over(record: TradeRecord | HistoryRecord) -> None:
        if type(record) is FillRecord:
            fills.append(fill_out(record))
        await history(record)

    return hand_over
