"""The hot path's trace: named points of the tick-to-order path stamped with
``time.perf_counter_ns()`` (CLOCK_MONOTONIC on Linux, which every process of the machine
shares), so that a benchmark can split the path into segments.

Off unless a benchmark turns it on; a mark then costs one call and one check. The points
marked: ``quote`` (a feed publishing a quote, tagged with its leg), ``decision`` (a
strategy handing a decision's orders on), ``committed`` (their intents committed),
``wire`` (a request written to the socket, tagged with its method and target).
"""

from __future__ import annotations

from time import perf_counter_ns

Stamp = tuple[str, object, int]
"""A point's name, its tag, and when (nanoseconds, ``perf_counter_ns``)."""

_on = False
_stamps: list[Stamp] = []


def mark(point: str, tag: object = None) -> None:
    if _on:
        _stamps.append((point, tag, perf_counter_ns()))


def start() -> None:
    """Stamp marks from now on, forgetting any taken before."""
    global _on
    _stamps.clear()
    _on = True


def stop() -> list[Stamp]:
    """Stop stamping; the stamps taken since :func:`start`, in order."""
    global _on
    _on = False
    taken = list(_stamps)
    _stamps.clear()
    return taken
