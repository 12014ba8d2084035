"""The portfolio's stops: a daily loss limit and a drawdown stop against the high-water
mark of realised plus unrealised P&L. Both pause entries (``reducing``), they do not
kill: exits and corrections go on. The daily stop lifts itself at the next UTC day; the
drawdown stop only when the operator resumes (:func:`operator_resumed`)."""

from __future__ import annotations

import msgspec

from actors.risk.config import RiskConfig
from protocols.messages import RiskModeChange
from protocols.model import RiskMode

DAY_S = 86400.0

DAILY_LOSS = "daily_loss_limit"
DRAWDOWN = "max_drawdown"


class StopsState(msgspec.Struct, frozen=True):
    """What the stops remember: the high-water mark of the portfolio's P&L (realised plus
    unrealised, USDT; ``None`` before the first judgement, as JSON has no infinity), the
    UTC day (its number since 1970) and the P&L it began with, and which stop has
    tripped (``None``, ``DAILY_LOSS`` or ``DRAWDOWN``)."""

    high_water_usdt: float | None = None
    day: int | None = None
    day_start_pnl_usdt: float = 0.0
    tripped: str | None = None


def evaluate_stops(
    state: StopsState, now: float, pnl_usdt: float, config: RiskConfig
) -> tuple[StopsState, RiskModeChange | None]:
    """The stops after the portfolio's P&L is ``pnl_usdt`` at ``now``, and the mode
    change they call for (``None`` when none): REDUCING when a stop trips, ACTIVE when
    the daily one lifts at the next UTC day."""
    day = int(now // DAY_S)
    change: RiskModeChange | None = None
    tripped = state.tripped
    day_start = state.day_start_pnl_usdt
    if state.day != day:
        day_start = pnl_usdt
        if tripped == DAILY_LOSS:
            tripped = None
            change = RiskModeChange(
                now, RiskMode.ACTIVE, "a new UTC day lifts the daily loss limit"
            )
    high_water = pnl_usdt if state.high_water_usdt is None else max(state.high_water_usdt, pnl_usdt)
    if tripped is None:
        drawdown = high_water - pnl_usdt
        daily_loss = day_start - pnl_usdt
        if config.max_drawdown_usdt is not None and drawdown >= config.max_drawdown_usdt:
            tripped = DRAWDOWN
            change = RiskModeChange(
                now,
                RiskMode.REDUCING,
                f"drawdown of {drawdown:.2f} USDT from the high-water mark {high_water:.2f} "
                f"reached max_drawdown_usdt {config.max_drawdown_usdt:g}",
            )
        elif (
            config.daily_loss_limit_usdt is not None and daily_loss >= config.daily_loss_limit_usdt
        ):
            tripped = DAILY_LOSS
            change = RiskModeChange(
                now,
                RiskMode.REDUCING,
                f"loss of {daily_loss:.2f} USDT today reached daily_loss_limit_usdt "
                f"{config.daily_loss_limit_usdt:g}",
            )
    return StopsState(high_water, day, day_start, tripped), change


def operator_resumed(state: StopsState, pnl_usdt: float) -> StopsState:
    """The operator resumed trading: the tripped stop is cleared and the loss so far
    accepted (the high-water mark and the day's start move to the P&L now)."""
    return msgspec.structs.replace(
        state, high_water_usdt=pnl_usdt, day_start_pnl_usdt=pnl_usdt, tripped=None
    )


class StoredMarks(msgspec.Struct, frozen=True):
    """The stops' marks as the store keeps them: relative to the P&L when they were
    taken, since the next run's P&L sums other figures (each strategy's lifetime
    realised P&L, taken up as it is restored). ``day_loss_usdt`` is how much the day
    ``day`` has lost so far, ``drawdown_usdt`` how far the P&L is below its high-water
    mark; a row of an earlier format decodes with both at 0."""

    day: int | None = None
    day_loss_usdt: float = 0.0
    drawdown_usdt: float = 0.0
    tripped: str | None = None


def marks_of(state: StopsState, pnl_usdt: float) -> StoredMarks:
    """``state``'s marks relative to the P&L now, ``pnl_usdt``."""
    high_water = state.high_water_usdt
    drawdown = 0.0 if high_water is None else high_water - pnl_usdt
    day_loss = 0.0 if state.day is None else state.day_start_pnl_usdt - pnl_usdt
    return StoredMarks(state.day, day_loss, drawdown, state.tripped)


def rebased(marks: StoredMarks, pnl_usdt: float) -> StopsState:
    """The stops after a restart, the stored ``marks`` set on this run's P&L now: the
    day's loss so far and the drawdown carry over (a new UTC day starts afresh at the
    next :func:`evaluate_stops`)."""
    return StopsState(
        pnl_usdt + marks.drawdown_usdt,
        marks.day,
        pnl_usdt + marks.day_loss_usdt,
        marks.tripped,
    )


MATERIAL_USDT = 0.01
"""A change of a mark smaller than this is not worth storing."""


def moved(before: StoredMarks | None, after: StoredMarks) -> bool:
    """Whether ``after`` differs from the marks stored, ``before``, enough to store."""
    if before is None or (before.day, before.tripped) != (after.day, after.tripped):
        return True
    return (
        abs(before.day_loss_usdt - after.day_loss_usdt) >= MATERIAL_USDT
        or abs(before.drawdown_usdt - after.drawdown_usdt) >= MATERIAL_USDT
    )
