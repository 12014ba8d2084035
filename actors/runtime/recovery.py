"""Recovery: strategies come back from their last snapshot after a stop, a crash or a
reboot.

Snapshots are restored by task type through a registry, so a store written under the
design note's older name (``mexc_gateio_arbitrage``) restores the same strategy. A
snapshot that cannot be decoded is quarantined with the reason — shown in status and in
``basis state`` — and the rest of the system recovers and trades: the symbol starts
afresh.

Orders a restored strategy had in flight are settled through its routers, which look
each one up at its venue by client id (see ``Router``): filled, partly filled, still open
(then cancelled), or never arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from actors.arbitrage.context import (
    LEGACY_TASK_TYPES,
    SCHEMA_VERSION,
    TASK_TYPE,
    ArbitrageContext,
)
from actors.runtime.persistence.store import Store, TaskRow

log = logging.getLogger("basis.recovery")

_decode_context = msgspec.json.Decoder(ArbitrageContext).decode


def _arbitrage(row: TaskRow) -> ArbitrageContext:
    ctx = _decode_context(row.snapshot)
    if ctx.schema_version > SCHEMA_VERSION:
        raise ValueError(
            f"snapshot schema {ctx.schema_version} is newer than this Basis ({SCHEMA_VERSION})"
        )
    # An older alias is restored as the strategy it always was, under today's name.
    return msgspec.structs.replace(ctx, task_type=TASK_TYPE)


RESTORERS: dict[str, Callable[[TaskRow], ArbitrageContext]] = {
    TASK_TYPE: _arbitrage,
    **{legacy: _arbitrage for legacy in LEGACY_TASK_TYPES},
}


def restore(
    store: Store, symbol: str, spot_venue: str, futures_venue: str
) -> ArbitrageContext | None:
    """The newest active task trading ``symbol`` on these venues, restored; ``None`` if
    there is none. Records that do not restore are quarantined (and left stored)."""
    for row in reversed(store.tasks(active_only=True)):
        if row.symbol != symbol:
            continue
        restorer = RESTORERS.get(row.task_type)
        if restorer is None:
            _quarantine(store, row, f"no strategy is registered for task type {row.task_type!r}")
            continue
        try:
            ctx = restorer(row)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
            _quarantine(store, row, f"snapshot does not restore: {error}")
            continue
        if (ctx.spot_venue, ctx.futures_venue) != (spot_venue, futures_venue):
            continue
        log.info("task %s: restored in state %s", ctx.task_id, ctx.state.value)
        return ctx
    return None


def _quarantine(store: Store, row: TaskRow, reason: str) -> None:
    log.error("task %s quarantined: %s", row.task_id, reason)
    store.quarantine(row.task_id, reason, row.snapshot)
    store.mark_quarantined(row.task_id)
