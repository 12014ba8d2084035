"""A latency histogram with cumulative buckets, as Prometheus reads it."""

from __future__ import annotations

import bisect
import math

import attrs
import msgspec

LAG_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 1.0)


class HistogramStatistics(msgspec.Struct, frozen=True):
    """A histogram at one moment, in Prometheus's terms.

    ``buckets`` are ``(upper bound, observations at or below it)`` pairs, cumulative and in
    increasing order of bound, the last one ``(inf, count)``; ``total`` is the sum of all
    observed values."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total: float


@attrs.define
class Histogram:
    """Observations counted into fixed buckets; read as cumulative buckets with
    :meth:`statistics`."""

    bounds: tuple[float, ...] = LAG_BUCKETS_S
    counts: list[int] = attrs.field(init=False)
    """Observations per bucket (not cumulative); the last one is above every bound."""
    total: float = 0.0
    n: int = 0
    _statistics: HistogramStatistics | None = attrs.field(default=None, init=False, eq=False)
    """What ``statistics`` last gave: the same while no observation came since (status is
    read twice a second of histograms that rarely move)."""

    def __attrs_post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1

    def statistics(self) -> HistogramStatistics:
        kept = self._statistics
        if kept is not None and kept.count == self.n:
            return kept
        buckets = []
        running = 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        kept = self._statistics = HistogramStatistics(tuple(buckets), self.n, self.total)
        return kept
