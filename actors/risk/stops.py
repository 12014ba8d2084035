"""The portfolio stops: a daily loss limit and a drawdown stop against the high-water
mark of realised plus unrealised P&L. Both put the portfolio in ``reducing``."""

from __future__ import annotations

import msgspec

from actors.risk.config import RiskConfig
from protocols.messages import RiskModeChange
from protocols.model import RiskMode

DAY_S = 86400.0


class StopsState(msgspec.Struct, frozen=True):
    high_water_usdt: float | None = None
    day: int | None = None
    """The UTC day (days since the epoch) ``day_start_usdt`` is of."""
    day_start_usdt: float = 0.0
    tripped: str | None = None
    """``daily`` or ``drawdown`` while a stop holds the portfolio in reducing."""


def evaluate_stops(
    state: StopsState, now: float, pnl_usdt: float, config: RiskConfig
) -> tuple[StopsState, RiskModeChange | None]:
    """The stops' new state on ``pnl_usdt`` (realised + unrealised) at ``now``, and the
    mode change it calls for (``None``: none)."""
    day = int(now // DAY_S)
    change = None
    if state.day != day:
        if state.tripped == "daily":
            change = RiskModeChange(
                now, RiskMode.ACTIVE, "a new UTC day lifts the daily loss limit"
            )
            state = msgspec.structs.replace(state, tripped=None)
        state = msgspec.structs.replace(state, day=day, day_start_usdt=pnl_usdt)
    high = pnl_usdt if state.high_water_usdt is None else max(state.high_water_usdt, pnl_usdt)
    state = msgspec.structs.replace(state, high_water_usdt=high)
    if state.tripped is not None:
        return state, change
    limit = config.daily_loss_limit_usdt
    if limit is not None and pnl_usdt - state.day_start_usdt <= -limit:
        return msgspec.structs.replace(state, tripped="daily"), RiskModeChange(
            now,
            RiskMode.REDUCING,
            f"daily loss limit: {pnl_usdt - state.day_start_usdt:+.2f} USDT today "
            f"(limit {limit:g})",
        )
    drawdown = config.max_drawdown_usdt
    if drawdown is not None and high - pnl_usdt >= drawdown:
        return msgspec.structs.replace(state, tripped="drawdown"), RiskModeChange(
            now,
            RiskMode.REDUCING,
            f"drawdown stop: {high - pnl_usdt:.2f} USDT below the high-water mark "
            f"(limit {drawdown:g})",
        )
    return state, change
