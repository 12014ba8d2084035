"""The dashboard's live status: the newest sample of ``/status`` and the log of the
events that led to it. The sampler publishes into it; each event stream reads from it
what its page has not seen, and waits in it for what comes next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trio

from actors.dashboard.events import EventLog, diff, frame_of, steady

KEEP_ALIVE_S = 2.0
IDLE_AFTER_S = 60.0
REPLAYED_BELOW_BYTES = 256 * 1024
"""A replay this small is sent as it is (one slice), even where a snapshot would be
smaller: a page that was away for a moment keeps its sequence whole."""
SLICE_BYTES = 256 * 1024
"""A replay is sent in slices of about this size, the event loop free between them (the
trading runs in it): a page back after minutes may have megabytes to catch up on."""


class LiveStatus:
    """The newest status sample, and the log of the events that led to it. It outlives
    the dashboard actor's incarnations, so that a page reconnecting after a restart of
    the actor still gets only what it missed."""

    def __init__(
        self,
        log: EventLog | None = None,
        keep_alive_s: float = KEEP_ALIVE_S,
        idle_after_s: float = IDLE_AFTER_S,
    ) -> None:
        self.log = log or EventLog()
        self.idle_after_s = idle_after_s
        """How long after its last stream closed the sampler goes on (a page that lost
        its stream for a moment gets every sample it missed), before it waits for one."""
        self.unwatched_since: float | None = None
        """When the last stream closed (trio time); ``None`` before any opened."""
        self.keep_alive_s = keep_alive_s
        """How long a stream may stay silent before a comment keeps it open."""
        self.status: dict[str, Any] | None = None
        self.at = 0.0
        self.closing: str | None = None
        """Why the streams end (a graceful stop), while they do."""
        self.watchers = 0
        """Streams open now: the sampler samples only while there is one."""
        self.sampler_waiting = False
        """The sampler waits for a stream: the newest sample may be old."""
        self.replayed_below_bytes = REPLAYED_BELOW_BYTES
        self._snapshot: tuple[int, float, bytes] | None = None
        """The newest snapshot made: for the log's seq and the sample's time it is of."""
        self._changed = trio.Event()
        self._wanted = trio.Event()

    def publish(self, status: dict[str, Any], at: float) -> None:
        """``status``, sampled at ``at`` (Unix seconds), is the newest: its differences
        from the one before become events."""
        status = steady(status)
        before, seq = self.status, self.log.seq
        if before is not None:
            self.log.extend(diff(before, status, at))
        self.status, self.at = status, at
        if before is None or self.log.seq != seq or self.sampler_waiting:
            self.wake()
        self.sampler_waiting = False

    def sample_failed(self) -> None:
        """A sample could not be taken: streams waiting for a fresh one go on from the
        last that worked."""
        if self.sampler_waiting:
            self.sampler_waiting = False
            self.wake()

    @contextmanager
    def watched(self) -> Iterator[None]:
        """A stream is open for as long as this lasts."""
        self.watchers += 1
        self._wanted.set()
        try:
            yield
        finally:
            self.watchers -= 1
            if not self.watchers:
                self._wanted = trio.Event()
                self.unwatched_since = trio.current_time()

    @property
    def idle(self) -> bool:
        """No stream is open, nor was one within ``idle_after_s``."""
        if self.watchers:
            return False
        since = self.unwatched_since
        return since is None or trio.current_time() - since >= self.idle_after_s

    async def wait_for_watchers(self) -> None:
        """Returns once a stream is open (the sampler's pause: with nobody watching, a
        sample would be built for nothing, and the events of the next one still take a
        page from the last sample to it)."""
        self.sampler_waiting = True
        await self._wanted.wait()

    def snapshot(self) -> bytes:
        """The whole status now, as a ``snapshot`` event numbered with the newest event
        it includes (made once per sample, however many pages ask)."""
        made = self._snapshot
        if made is None or made[:2] != (self.log.seq, self.at):
            data = {"run": self.log.run, "at": self.at, "status": self.status}
            made = (self.log.seq, self.at, frame_of(self.log.run, self.log.seq, "snapshot", data))
            self._snapshot = made
        return made[2]

    def catch_up(self, sent: int | None) -> tuple[list[bytes], int]:
        """What a stream that sent every event up to ``sent`` (``None``: nothing yet) sends
        to be up to date, in slices, and the newest seq it then sent. A snapshot, not a
        replay, when the replay would be large and the larger (or is no longer kept)."""
        missed = None if sent is None else self.log.bytes_after(self.log.run, sent)
        small = missed is not None and missed < self.replayed_below_bytes
        if sent is None or missed is None or (not small and missed > len(self.snapshot())):
            return [self.snapshot()], self.log.seq
        events = self.log.after(self.log.run, sent) or []
        slices: list[bytes] = []
        frames: list[bytes] = []
        size = 0
        for event in events:
            frames.append(event.frame)
            size += len(event.frame)
            if size >= SLICE_BYTES:
                slices.append(b"".join(frames))
                frames, size = [], 0
        if frames:
            slices.append(b"".join(frames))
        return slices, events[-1].seq if events else sent

    def say_bye(self, reason: str) -> None:
        self.closing = reason
        self.wake()

    def reopen(self) -> None:
        self.closing = None

    async def changed(self, timeout_s: float) -> None:
        """Returns when something was published, the streams are told to end or to look
        at their sessions again (:meth:`wake`), or after ``timeout_s``."""
        with trio.move_on_after(timeout_s):
            await self._changed.wait()

    def wake(self) -> None:
        """Every stream waiting in :meth:`changed` looks again."""
        self._changed.set()
        self._changed = trio.Event()
