"""What the portfolio's caps and balances leave for one strategy's next entry."""

from __future__ import annotations

import math

import msgspec


class EntryLimits(msgspec.Struct, frozen=True, gc=False):
    """Notional per leg (USDT) the portfolio caps and balances leave for this strategy's
    next entry, and which cap binds (``None`` while none does)."""

    room_usdt: float = math.inf
    reason: str | None = None


NO_LIMITS = EntryLimits()
