"""The local clock against a venue's: how far off it is, and what that costs.

Every signed request carries the local time, and a venue refuses one whose time is
outside a window around its own clock (docs/venues.md): MEXC takes a timestamp at most
1 s ahead of its clock and at most ``recvWindow`` behind it, Gate.io one within 60 s
either way. The router measures the skew from the venue's server time, against the
local clock at the middle of the request's round trip, when it loads the rules (at start
and at each refresh). Beyond half the window the system is degraded: a little more drift
and orders are refused. Beyond the window it is failing: they are.
"""

from __future__ import annotations

import msgspec


class ClockWindow(msgspec.Struct, frozen=True):
    """How far the local clock may be from a venue's before it refuses signed requests."""

    ahead_s: float
    """The local clock ahead of the venue's."""
    behind_s: float
    """The local clock behind the venue's."""


def skew_s(server_s: float, sent_at: float, received_at: float) -> float:
    """How far the local clock is ahead of the venue's (negative: behind), from the
    venue's time ``server_s`` in an answer to a request sent at local time ``sent_at``
    and answered at ``received_at``: the venue read its clock about halfway between."""
    return (sent_at + received_at) / 2.0 - server_s


def judged(skew: float, window: ClockWindow) -> tuple[str, str] | None:
    """``(level, reason)`` for a local clock ``skew`` seconds ahead of a venue's with
    ``window``: ``failing`` beyond it, ``degraded`` beyond half of it, else ``None``."""
    limit, side = (window.ahead_s, "ahead of") if skew >= 0.0 else (window.behind_s, "behind")
    off = abs(skew)
    if off <= limit / 2.0:
        return None
    level = "failing" if off > limit else "degraded"
    return level, f"the local clock is {off:.2f} s {side} the venue's (it allows {limit:g} s)"
