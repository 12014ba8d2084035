"""The tick-to-order path split into segments: the venue's stamps of each decision (its
quote frame sent, its order request parsed) matched with the trace the bench process
took (``actors/hot_path.py``), all on the clock both processes share.

A decision's marks are the first of each point, in the path's order, inside its window
(frame sent to request parsed): the spot quote published, the strategy deciding, the
intents committed, then the order request written. Quotes of the futures leg (the venue
pushes them on its own rhythm) and requests that are not orders (queries, trade lists)
fall inside windows too, and are told apart by their tags. A decision missing a mark is
counted, not guessed at.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence

from actors.hot_path import Stamp

SEGMENTS = (
    "frame -> quote published",
    "quote -> decision",
    "decision -> intent committed",
    "intent -> request on the wire",
    "wire -> parsed by the venue",
)
PATH = ("quote", "decision", "committed", "wire")
"""The points marked between the frame sent and the request parsed, in the path's order."""


def split(
    decisions: Sequence[tuple[int, int]],
    stamps: Sequence[Stamp],
    quote_tag: object,
    is_order: Callable[[object], bool],
) -> tuple[list[tuple[int, ...]], int]:
    """Each matched decision's segments (nanoseconds, in ``SEGMENTS``' order; they add up
    to its whole path), and how many decisions lacked a mark. ``stamps`` are in time
    order; a ``quote`` counts when tagged ``quote_tag``, a ``wire`` when ``is_order`` of
    its tag."""
    times = [ns for _, _, ns in stamps]
    accepts = {"quote": lambda tag: tag == quote_tag, "wire": is_order}
    matched: list[tuple[int, ...]] = []
    unmatched = 0
    for sent, parsed in decisions:
        at = [sent]
        i = bisect.bisect_left(times, sent)
        for point in PATH:
            found = _first(stamps, i, parsed, point, accepts.get(point))
            if found is None:
                unmatched += 1
                break
            at.append(stamps[found][2])
            i = found + 1
        else:
            at.append(parsed)
            matched.append(tuple(b - a for a, b in itertools.pairwise(at)))
    return matched, unmatched


def _first(
    stamps: Sequence[Stamp],
    i: int,
    until_ns: int,
    point: str,
    accept: Callable[[object], bool] | None,
) -> int | None:
    """The index of the first ``point`` from ``i`` on, no later than ``until_ns``."""
    while i < len(stamps):
        name, tag, ns = stamps[i]
        if ns > until_ns:
            return None
        if name == point and (accept is None or accept(tag)):
            return i
        i += 1
    return None
