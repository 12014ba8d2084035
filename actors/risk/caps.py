"""Exposure caps across every strategy, and the room they leave for one more entry.

Exposure is gross notional in USDT: what each leg holds plus the unfilled rest of the
orders in flight that would grow it (intents journaled but not filled yet), so two
entries decided one after the other can never both spend the same room. A hedged
position of 100 USDT a leg counts 100 on its spot venue, 100 on its futures venue, 200
for its symbol and 200 in total.
"""

from __future__ import annotations

import math

import msgspec

from actors.risk.config import RiskConfig
from actors.risk.limits import EntryLimits


class Exposure(msgspec.Struct, frozen=True, gc=False):
    """One strategy's gross notional per leg (USDT), held plus pending; the pending part
    (orders in flight that would grow the leg) is also given alone."""

    symbol: str
    spot_venue: str
    futures_venue: str
    spot_usdt: float = 0.0
    futures_usdt: float = 0.0
    spot_pending_usdt: float = 0.0
    futures_pending_usdt: float = 0.0


class ExposureTotals(msgspec.Struct, frozen=True):
    """Every strategy's exposure (by task id) and their sums per venue, per symbol and in
    total. :meth:`with_exposure` replaces one strategy's."""

    by_task: dict[str, Exposure] = {}
    per_venue: dict[str, float] = {}
    per_symbol: dict[str, float] = {}
    pending_per_venue: dict[str, float] = {}
    total: float = 0.0

    @classmethod
    def of(cls, exposures: dict[str, Exposure]) -> ExposureTotals:
        per_venue: dict[str, float] = {}
        per_symbol: dict[str, float] = {}
        pending: dict[str, float] = {}
        total = 0.0
        for exposure in exposures.values():
            for venue, usdt, waiting in (
                (exposure.spot_venue, exposure.spot_usdt, exposure.spot_pending_usdt),
                (exposure.futures_venue, exposure.futures_usdt, exposure.futures_pending_usdt),
            ):
                per_venue[venue] = per_venue.get(venue, 0.0) + usdt
                pending[venue] = pending.get(venue, 0.0) + waiting
            gross = exposure.spot_usdt + exposure.futures_usdt
            per_symbol[exposure.symbol] = per_symbol.get(exposure.symbol, 0.0) + gross
            total += gross
        return cls(dict(exposures), per_venue, per_symbol, pending, total)

    def with_exposure(self, task_id: str, exposure: Exposure) -> ExposureTotals:
        """The totals once ``task_id``'s exposure is ``exposure``. Summed afresh from every
        strategy's, so rounding never accumulates over a long run."""
        if self.by_task.get(task_id) == exposure:
            return self
        return ExposureTotals.of({**self.by_task, task_id: exposure})


class Balances(msgspec.Struct, frozen=True):
    """Free USDT on each spot venue, and margin available on each futures venue, by
    venue name, as last read. A venue not in them is not limited by its balance."""

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
    """The notional per leg one more entry of the strategy whose exposure is ``exposure``
    may take, and which bound leaves the least.

    An entry adds the same notional to each leg, so it counts twice for its symbol and in
    total, once on each venue (twice on a venue serving both legs). A spot buy needs its
    notional plus the fee in free USDT; a short needs notional / leverage plus the fee in
    margin. Orders in flight of every strategy are taken off the balances read: a venue
    may already hold their funds back, and counting them again errs on the side of
    caution for the seconds an order lives.
    """
    spot_venue = exposure.spot_venue
    futures_venue = exposure.futures_venue
    same_venue = 2.0 if spot_venue == futures_venue else 1.0
    # (room, which bound): only the one that binds has its reason written out.
    candidates = [
        ((config.max_symbol_notional_usdt - totals.per_symbol.get(exposure.symbol, 0.0)) / 2.0, 0),
        ((config.max_venue_notional_usdt - totals.per_venue.get(spot_venue, 0.0)) / same_venue, 1),
        (
            (config.max_venue_notional_usdt - totals.per_venue.get(futures_venue, 0.0))
            / same_venue,
            2,
        ),
        ((config.max_total_notional_usdt - totals.total) / 2.0, 3),
    ]
    spot_free = balances.spot_free_usdt.get(spot_venue)
    if spot_free is not None:
        pending = totals.pending_per_venue.get(spot_venue, 0.0) * (1.0 + spot_fee)
        candidates.append(((spot_free - pending) / (1.0 + spot_fee), 4))
    margin = balances.futures_available_usdt.get(futures_venue)
    if margin is not None:
        per_usdt = 1.0 / leverage + fut_fee
        pending = totals.pending_per_venue.get(futures_venue, 0.0) * per_usdt
        candidates.append(((margin - pending) / per_usdt, 5))
    room, which = min(candidates)
    if not math.isfinite(room):
        return EntryLimits()
    return EntryLimits(max(room, 0.0), _bound(which, exposure, config))


def _bound(which: int, exposure: Exposure, config: RiskConfig) -> str:
    """The reason bound ``which`` of :func:`entry_room` gives when it binds."""
    if which == 0:
        return f"max_symbol_notional_usdt {config.max_symbol_notional_usdt:g} for {exposure.symbol}"
    if which in (1, 2):
        venue = exposure.spot_venue if which == 1 else exposure.futures_venue
        return f"max_venue_notional_usdt {config.max_venue_notional_usdt:g} on {venue}"
    if which == 3:
        return f"max_total_notional_usdt {config.max_total_notional_usdt:g}"
    if which == 4:
        return f"free USDT on {exposure.spot_venue}"
    return f"available margin on {exposure.futures_venue}"
