"""The portfolio's exposure caps and free balances, and the room they leave for an entry."""

from __future__ import annotations

import math

import msgspec

from actors.risk.config import RiskConfig
from actors.risk.limits import EntryLimits


class Exposure(msgspec.Struct, frozen=True, gc=False):
    """One strategy's gross notional per leg (USDT): held plus the unfilled rest of
    orders in flight that would grow a leg."""

    symbol: str
    spot_venue: str
    futures_venue: str
    spot_usdt: float = 0.0
    futures_usdt: float = 0.0


class ExposureTotals(msgspec.Struct, frozen=True):
    """Every strategy's exposure by task id, and its sums per venue, per symbol and in all."""

    by_task: dict[str, Exposure] = {}
    per_venue: dict[str, float] = {}
    per_symbol: dict[str, float] = {}
    total: float = 0.0

    @classmethod
    def of(cls, by_task: dict[str, Exposure]) -> ExposureTotals:
        per_venue: dict[str, float] = {}
        per_symbol: dict[str, float] = {}
        for e in by_task.values():
            per_venue[e.spot_venue] = per_venue.get(e.spot_venue, 0.0) + e.spot_usdt
            per_venue[e.futures_venue] = per_venue.get(e.futures_venue, 0.0) + e.futures_usdt
            per_symbol[e.symbol] = per_symbol.get(e.symbol, 0.0) + e.spot_usdt + e.futures_usdt
        total = sum(per_venue.values())
        return cls(dict(by_task), per_venue, per_symbol, total)

    def replace(self, task_id: str, exposure: Exposure | None) -> ExposureTotals:
        """These totals with ``task_id``'s exposure replaced (``None``: removed)."""
        by_task = dict(self.by_task)
        if exposure is None:
            by_task.pop(task_id, None)
        else:
            by_task[task_id] = exposure
        return ExposureTotals.of(by_task)


class Balances(msgspec.Struct, frozen=True):
    """Free balance per venue: spot USDT free, futures ``available``."""

    spot_free_usdt: dict[str, float] = {}
    futures_available_usdt: dict[str, float] = {}


def entry_room(
    totals: ExposureTotals,
    balances: Balances,
    exposure: Exposure,
    config: RiskConfig,
    spot_fee: float,
    fut_fee: float,
    leverage: float,
) -> EntryLimits:
    """Notional per leg one more entry of ``exposure``'s strategy may take: the tightest
    of the caps (an entry adds its notional to both legs) and the balances (spot pays the
    notional and its fee, futures the margin and its fee)."""
    room: list[tuple[float, str]] = [
        (
            (config.max_symbol_notional_usdt - totals.per_symbol.get(exposure.symbol, 0.0)) / 2,
            f"the {exposure.symbol} cap of {config.max_symbol_notional_usdt:g} USDT",
        ),
        (
            (config.max_total_notional_usdt - totals.total) / 2,
            f"the total cap of {config.max_total_notional_usdt:g} USDT",
        ),
    ]
    for venue in (exposure.spot_venue, exposure.futures_venue):
        room.append(
            (
                config.max_venue_notional_usdt - totals.per_venue.get(venue, 0.0),
                f"the {venue} cap of {config.max_venue_notional_usdt:g} USDT",
            )
        )
    spot_free = balances.spot_free_usdt.get(exposure.spot_venue)
    if spot_free is not None:
        room.append((spot_free / (1.0 + spot_fee), f"the {exposure.spot_venue} free balance"))
    futures_free = balances.futures_available_usdt.get(exposure.futures_venue)
    if futures_free is not None:
        per_usdt = 1.0 / max(leverage, 1.0) + fut_fee
        room.append((futures_free / per_usdt, f"the {exposure.futures_venue} free balance"))
    usdt, reason = min(room, key=lambda r: r[0])
    if usdt == math.inf:
        return EntryLimits()
    return EntryLimits(max(usdt, 0.0), reason)
