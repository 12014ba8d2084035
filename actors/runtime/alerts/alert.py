"""An alert as every sink receives it, and what a sink is.

An alert is one message to the operator: an incident opening or resolving, or an event
that has no end (a start, a stop, an exit at ``max_hours``). Its ``id`` is the same on
every attempt to deliver it, across restarts too, so that a receiver that saw it already
can tell: delivery is at least once, and the id makes it once for whoever checks it.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

AlertKind = Literal["opened", "resolved", "event"]
Severity = Literal["info", "warning", "critical"]


class Alert(msgspec.Struct, frozen=True):
    id: str
    """Unique, and the same on every delivery attempt of this alert."""
    incident: str
    """What it is about, the same from an incident's opening to its resolution
    (``feed:feed-mexc``, ``writer``, ``quarantine:BTC/USDT``)."""
    kind: AlertKind
    severity: Severity
    title: str
    """One line, readable on a phone's lock screen."""
    detail: str
    """What happened and, where there is one, what the operator should do."""
    instance: str
    """Which Basis raised it."""
    ts: float
    """When it was raised (Unix time)."""

    def text(self) -> str:
        """The alert as one message of plain text, for chat sinks."""
        mark = {"opened": "▲", "resolved": "✓", "event": "•"}[self.kind]
        return f"{mark} [{self.severity}] {self.title}\n{self.detail}\n({self.instance})"


class DeliveryFailed(Exception):
    """A sink could not deliver an alert this time; ``str()`` says why.

    ``retry_after_s``: how long the receiver asked to be left alone (a 429's
    ``Retry-After``), if it said; ``permanent``: asking again cannot help (a 4xx other
    than 408 and 429: a wrong URL or token), so the alert is given up on, loudly."""

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.permanent = permanent


def refused(message: str, status: int, retry_after_s: float | None) -> DeliveryFailed:
    """A receiver's refusal with HTTP ``status``: permanent unless asking again can help
    (408, 429 and the receiver's own errors)."""
    permanent = 400 <= status < 500 and status not in (408, 429)
    return DeliveryFailed(message, retry_after_s=retry_after_s, permanent=permanent)


def retry_after_seconds(value: object) -> float | None:
    """A receiver's "retry after" (a header's text or a JSON number) in seconds, if it is
    one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class Sink(Protocol):
    """Somewhere alerts go. ``send`` makes one attempt, bounded by the sink's own timeout,
    and raises :class:`DeliveryFailed` when it did not deliver; whoever holds the alert
    decides when to try again."""

    name: str

    async def send(self, alert: Alert) -> None: ...
