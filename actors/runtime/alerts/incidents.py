"""Incidents: conditions that lasted, turned into one alert when they open and one when
they resolve. Pure: the caller says what it observes and when, and gets decisions back.

A condition (something wrong, under a stable key) opens an incident once it has been
present for its ``after_s`` (``open_after_s`` unless it says otherwise), so a blip is no
incident; an open incident resolves once its condition has been gone for
``resolve_after_s``, so a flicker does not resolve it. What the operator was told
follows the incident's state, at most ``max_alerts`` times per ``window_s`` for each
key: a flapping incident beyond that is announced again, with the number of changes in
between, once the window allows it, so the last word the operator has is the truth.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import attrs
import msgspec

from actors.runtime.alerts.alert import Severity


class Condition(msgspec.Struct, frozen=True):
    """Something wrong now, as one observation shows it."""

    key: str
    """The same for as long as it lasts: what an incident is about."""
    severity: Severity
    title: str
    detail: str
    after_s: float | None = None
    """How long it must last to be an incident; ``None``: the book's ``open_after_s``."""


class Decision(msgspec.Struct, frozen=True):
    """Tell the operator that ``condition``'s incident ``kind`` (opened or resolved)."""

    kind: str
    condition: Condition
    lasted_s: float | None
    """For a resolution: how long the incident was open, from its opening (across
    restarts too) to its resolution."""
    held_back: int
    """Changes of this incident that were not sent, for the rate limit."""
    limited: bool
    """This is the last alert about it the rate limit allows in the current window."""


@attrs.define
class _Tracked:
    condition: Condition
    present_since: float | None = None
    gone_since: float | None = None
    is_open: bool = False
    announced_open: bool = False
    opened_at: float | None = None
    sent: deque[float] = attrs.field(factory=deque)
    held_back: int = 0


@attrs.define
class IncidentBook:
    open_after_s: float = 3.0
    resolve_after_s: float = 3.0
    max_alerts: int = 6
    window_s: float = 600.0
    _tracked: dict[str, _Tracked] = attrs.field(factory=dict)

    def restore(self, condition: Condition, opened_at: float, now: float) -> None:
        """An incident announced open before a restart: open and announced, and resolved
        if its condition is not seen again within ``resolve_after_s`` of ``now``.
        ``opened_at`` on the same clock as ``now``."""
        self._tracked[condition.key] = _Tracked(
            condition, gone_since=now, is_open=True, announced_open=True, opened_at=opened_at
        )

    def absent_from(self, now: float) -> None:
        """Every incident not seen at present counts as gone from ``now`` on: the time
        before its condition could be seen again (the system starting) does not count."""
        for tracked in self._tracked.values():
            if tracked.gone_since is not None:
                tracked.gone_since = now

    def open_incidents(self) -> list[Condition]:
        """Incidents the operator was told are open, in the order they were first seen."""
        return [t.condition for t in self._tracked.values() if t.announced_open]

    def observe(self, now: float, present: Iterable[Condition]) -> list[Decision]:
        """What to tell the operator, now that ``present`` are the conditions seen."""
        seen: Mapping[str, Condition] = {c.key: c for c in present}
        for key, condition in seen.items():
            tracked = self._tracked.get(key)
            if tracked is None:
                tracked = self._tracked[key] = _Tracked(condition)
            tracked.condition = condition
            tracked.gone_since = None
            if tracked.present_since is None:
                tracked.present_since = now
            after = self.open_after_s if condition.after_s is None else condition.after_s
            if not tracked.is_open and now - tracked.present_since >= after:
                self._flip(tracked, now)
        for key, tracked in self._tracked.items():
            if key in seen:
                continue
            tracked.present_since = None
            if tracked.gone_since is None:
                tracked.gone_since = now
            if tracked.is_open and now - tracked.gone_since >= self.resolve_after_s:
                self._flip(tracked, now)
        decisions = [
            decision
            for tracked in self._tracked.values()
            if (decision := self._announce(tracked, now)) is not None
        ]
        self._forget_settled(seen, now)
        return decisions

    def _flip(self, tracked: _Tracked, now: float) -> None:
        tracked.is_open = not tracked.is_open
        if tracked.is_open and not tracked.announced_open:
            tracked.opened_at = now
        if tracked.is_open != tracked.announced_open:
            return
        # Back where the operator last heard it was before anyone could be told: two
        # changes nobody heard of.
        tracked.held_back += 2

    def _announce(self, tracked: _Tracked, now: float) -> Decision | None:
        if tracked.is_open == tracked.announced_open:
            return None
        sent = tracked.sent
        while sent and now - sent[0] >= self.window_s:
            sent.popleft()
        if len(sent) >= self.max_alerts:
            return None
        sent.append(now)
        tracked.announced_open = tracked.is_open
        held_back, tracked.held_back = tracked.held_back, 0
        opened_at = tracked.opened_at
        return Decision(
            "opened" if tracked.is_open else "resolved",
            tracked.condition,
            None if tracked.is_open or opened_at is None else now - opened_at,
            held_back,
            len(sent) >= self.max_alerts,
        )

    def _forget_settled(self, seen: Mapping[str, Condition], now: float) -> None:
        """Drop what is gone, told, and no longer counted by the rate limit."""
        for key in [
            key
            for key, t in self._tracked.items()
            if key not in seen
            and not t.is_open
            and not t.announced_open
            and not (t.sent and now - t.sent[-1] < self.window_s)
        ]:
            del self._tracked[key]
