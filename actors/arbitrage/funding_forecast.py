"""The funding a short is expected to receive: the schedule of a contract's settlements,
the decayed mean of the rates settled, and the forecast over a hold.

Rates are fractions of the position's value per settlement (0.0001 = 0.01 %), positive
when longs pay shorts. A contract settles every ``interval_s`` (1, 4 or 8 hours, its
own); a rate is compared across contracts per hour, so a 1 h contract at 0.01 % a
settlement earns what an 8 h one earns at 0.08 %. The forecast counts the venue's
indicative rate for the next settlement, while it is the next one's, and the decayed
mean of the settled rates for every settlement after it (docs/strategy.md,
"Funding-aware entry").
"""

from __future__ import annotations

import math

import msgspec

from actors.arbitrage.context import FundingHistory

HOUR_S = 3600.0


def next_settlement(now: float, next_ts: float | None, interval_s: float) -> float:
    """The first settlement strictly after ``now``: ``next_ts`` moved on by whole
    intervals once it has passed, or, when the venue has not said, the next multiple of
    the interval since the epoch (where the venues settle: 00:00, 08:00, 16:00 UTC for
    8 h)."""
    if next_ts is None:
        return (math.floor(now / interval_s) + 1.0) * interval_s
    if next_ts > now:
        return next_ts
    return next_ts + (math.floor((now - next_ts) / interval_s) + 1.0) * interval_s


def settlements_within(first: float, interval_s: float, end: float) -> int:
    """How many of the settlements ``first``, ``first + interval_s``, ... are at or
    before ``end``."""
    if first > end:
        return 0
    return math.floor((end - first) / interval_s) + 1


def fold(
    history: FundingHistory, rate: float, interval_s: float, settled_at: float, half_life_h: float
) -> FundingHistory:
    """``history`` with ``rate``, settled at ``settled_at`` on a contract of
    ``interval_s``, folded into its decayed mean; unchanged when a rate settled at or
    after that time is in it already (a rate is counted once).

    The mean is per hour, each rate weighted by its interval in hours, and what was in
    it decays by half every ``half_life_h`` hours between settlements."""
    until = history.settled_until
    if until is not None and settled_at <= until:
        return history
    hours = interval_s / HOUR_S
    weight = history.weight_h
    if until is not None and weight > 0.0:
        weight *= 0.5 ** ((settled_at - until) / HOUR_S / half_life_h)
    total = weight + hours
    # The rate per hour, rate / hours, weighted by its hours: the rate itself.
    mean = (history.mean_per_h * weight + rate) / total
    return FundingHistory(mean, total, settled_at)


class FundingForecast(msgspec.Struct, frozen=True, gc=False):
    """The funding expected over a hold, as a fraction of the short's value (positive:
    received), and how it was made up."""

    expected: float
    settlements: int
    next_ts: float
    next_rate: float | None
    """The rate counted for the next settlement (``None`` when none is known)."""
    mean_per_h: float | None
    """The rate per hour counted for the settlements after it (``None`` likewise)."""


def forecast(
    now: float,
    hold_s: float,
    rate: float | None,
    next_ts: float | None,
    interval_s: float,
    history: FundingHistory,
) -> FundingForecast:
    """The funding a short opened at ``now`` and held ``hold_s`` is expected to receive:
    ``rate`` for the next settlement while ``next_ts`` is still ahead (the indicative
    rate is the next settlement's only until then), the decayed mean of ``history`` for
    every later one in the hold. Without any settled rate the mean is the last rate
    known, per hour; without either, nothing is expected."""
    first = next_settlement(now, next_ts, interval_s)
    count = settlements_within(first, interval_s, now + hold_s)
    hours = interval_s / HOUR_S
    mean: float | None = history.mean_per_h if history.weight_h > 0.0 else None
    if mean is None and rate is not None:
        mean = rate / hours
    indicative = rate if next_ts is not None and first == next_ts else None
    next_rate = indicative if indicative is not None else (None if mean is None else mean * hours)
    if count == 0 or next_rate is None:
        return FundingForecast(0.0, count, first, next_rate, mean)
    later = 0.0 if mean is None else (count - 1) * mean * hours
    return FundingForecast(next_rate + later, count, first, next_rate, mean)


def rate_at_next(
    now: float,
    rate: float | None,
    next_ts: float | None,
    interval_s: float,
    history: FundingHistory,
) -> tuple[float, float | None]:
    """The next settlement after ``now`` and the rate expected at it (``None`` when
    nothing is known): what an exit due before it weighs."""
    result = forecast(now, 0.0, rate, next_ts, interval_s, history)
    return result.next_ts, result.next_rate
