"""Faults of one simulated venue's wire edge, switched at run time (chaos runs).

These are what a client sees of a venue's network and front end, as opposed to its
matching engine (``actors.sim.faults``: rejected orders, partial fills):

- websockets *stalled* for a while: connections stay open but nothing is sent on them,
  answers to application pings included;
- every websocket frame *delayed* by a fixed time;
- new connections (REST and websocket) *refused* for a while: the port is closed;
- the next ``n`` REST requests answered with a *server error* (5xx);
- the next ``n`` REST requests answered *rate limited* (429, with how long to wait);
- the next ``n`` order placements *timing out*: the order is accepted, but the answer
  never comes (the connection closes after a hold);
- the next depth diff *skipped* (so clients see a gap in the versions).

Durations run on trio's clock, so the state is read with ``trio.current_time()``;
counts are used up as the faults are served. ``injected`` counts what was served.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import attrs
import msgspec
import trio

from protocols.model import Symbol


class WireFaultsView(msgspec.Struct, frozen=True):
    """What is switched on now (``*_left`` counts still to serve, ``*_for_s`` time left)
    and what has been served so far (``injected``, by fault)."""

    stalled_for_s: float
    refusing_for_s: float
    frame_delay_ms: float
    server_errors_left: int
    rate_limits_left: int
    retry_after_s: float
    timeouts_left: int
    timeout_hold_s: float
    depth_skips_pending: list[str]
    injected: dict[str, int]


@attrs.define
class WireFaults:
    """The wire faults of one venue; all off when created."""

    _stalled_until: float = attrs.field(default=-math.inf, init=False)
    _refusing_until: float = attrs.field(default=-math.inf, init=False)
    _frame_delay_s: float = attrs.field(default=0.0, init=False)
    _server_errors_left: int = attrs.field(default=0, init=False)
    _rate_limits_left: int = attrs.field(default=0, init=False)
    _retry_after_s: float = attrs.field(default=1.0, init=False)
    _timeouts_left: int = attrs.field(default=0, init=False)
    _timeout_hold_s: float = attrs.field(default=10.0, init=False)
    _skip_every_symbol: bool = attrs.field(default=False, init=False)
    _passed_since_skip_every: set[Symbol] = attrs.field(factory=set, init=False)
    """The symbols whose depth pass went out since a skip was asked for every symbol."""
    _skip_symbols: set[Symbol] = attrs.field(factory=set, init=False)
    injected: Counter[str] = attrs.field(factory=Counter, init=False)

    # ------------------------------------------------------------------ switching

    def stall(self, seconds: float) -> None:
        """Send nothing on any websocket for ``seconds`` from now (0 ends a stall)."""
        _check_non_negative("stall", seconds)
        self._stalled_until = trio.current_time() + seconds

    def delay_frames(self, ms: float) -> None:
        """Send every websocket frame ``ms`` milliseconds late from now on (0: on time)."""
        _check_non_negative("delay_frames", ms)
        self._frame_delay_s = ms / 1000.0

    def refuse_connections(self, seconds: float) -> None:
        """Refuse new connections for ``seconds`` from now (0 ends it)."""
        _check_non_negative("refuse_connections", seconds)
        self._refusing_until = trio.current_time() + seconds
        if seconds > 0:
            self.injected["refused_connections"] += 1

    def fail_requests(self, count: int) -> None:
        """Answer the next ``count`` REST requests with a server error."""
        _check_count("fail_requests", count)
        self._server_errors_left = count

    def rate_limit_requests(self, count: int, retry_after_s: float = 1.0) -> None:
        """Answer the next ``count`` REST requests with 429, asking for ``retry_after_s``."""
        _check_count("rate_limit_requests", count)
        if retry_after_s <= 0.0:
            raise ValueError(f"rate_limit_requests: retry_after_s {retry_after_s} must be > 0")
        self._rate_limits_left = count
        self._retry_after_s = retry_after_s

    def time_out_orders(self, count: int, hold_s: float = 10.0) -> None:
        """Accept the next ``count`` order placements but never answer them: hold each
        connection ``hold_s`` (longer than a client waits, by default) and close it."""
        _check_count("time_out_orders", count)
        _check_non_negative("time_out_orders hold", hold_s)
        self._timeouts_left = count
        self._timeout_hold_s = hold_s

    def skip_depth_update(self, symbol: Symbol | None = None) -> None:
        """Leave out the next depth diff of ``symbol`` (of every symbol when ``None``)."""
        if symbol is None:
            self._skip_every_symbol = True
            self._passed_since_skip_every.clear()
        else:
            self._skip_symbols.add(symbol)

    def clear(self) -> None:
        """Switch every wire fault off (what was served stays counted)."""
        self._stalled_until = self._refusing_until = -math.inf
        self._frame_delay_s = 0.0
        self._server_errors_left = self._rate_limits_left = self._timeouts_left = 0
        self._skip_every_symbol = False
        self._passed_since_skip_every.clear()
        self._skip_symbols.clear()

    # ------------------------------------------------------------------- serving

    @property
    def stalled(self) -> bool:
        return trio.current_time() < self._stalled_until

    @property
    def refusing(self) -> bool:
        return trio.current_time() < self._refusing_until

    @property
    def refusing_until(self) -> float:
        """The trio time refusals end (in the past when there are none)."""
        return self._refusing_until

    @property
    def frame_delay_s(self) -> float:
        return self._frame_delay_s

    def take_server_error(self) -> bool:
        if self._server_errors_left <= 0:
            return False
        self._server_errors_left -= 1
        self.injected["server_error"] += 1
        return True

    def take_rate_limit(self) -> float | None:
        """The wait to ask for if this request is to be refused, else ``None``."""
        if self._rate_limits_left <= 0:
            return None
        self._rate_limits_left -= 1
        self.injected["rate_limit"] += 1
        return self._retry_after_s

    def take_timeout(self) -> float | None:
        """How long to hold this placement before closing it unanswered, else ``None``."""
        if self._timeouts_left <= 0:
            return None
        self._timeouts_left -= 1
        self.injected["timeout"] += 1
        return self._timeout_hold_s

    def take_depth_skip(self, symbol: Symbol) -> bool:
        every = self._skip_every_symbol and symbol not in self._passed_since_skip_every
        if not every and symbol not in self._skip_symbols:
            return False
        self._skip_symbols.discard(symbol)
        self.injected["depth_skip"] += 1
        return True

    def depth_pass_done(self, symbols: Iterable[Symbol], listed: int) -> None:
        """The depth pass of ``symbols`` went out (each that had a diff took a skip due);
        a skip asked for every symbol is served once each of the ``listed`` symbols has
        had its pass since."""
        if not self._skip_every_symbol:
            return
        self._passed_since_skip_every.update(symbols)
        if len(self._passed_since_skip_every) >= listed:
            self._skip_every_symbol = False
            self._passed_since_skip_every.clear()

    def count(self, fault: str, times: int = 1) -> None:
        """Count a fault served elsewhere (dropped connections, a rejected order, ...)."""
        self.injected[fault] += times

    def view(self) -> WireFaultsView:
        now = trio.current_time()
        pending = ["*"] if self._skip_every_symbol else []
        return WireFaultsView(
            stalled_for_s=max(0.0, self._stalled_until - now),
            refusing_for_s=max(0.0, self._refusing_until - now),
            frame_delay_ms=self._frame_delay_s * 1000.0,
            server_errors_left=self._server_errors_left,
            rate_limits_left=self._rate_limits_left,
            retry_after_s=self._retry_after_s,
            timeouts_left=self._timeouts_left,
            timeout_hold_s=self._timeout_hold_s,
            depth_skips_pending=pending + sorted(str(s) for s in self._skip_symbols),
            injected=dict(sorted(self.injected.items())),
        )


def _check_count(fault: str, count: int) -> None:
    if count < 0:
        raise ValueError(f"{fault}: count {count} must be >= 0")


def _check_non_negative(fault: str, value: float) -> None:
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"{fault}: {value} must be a finite number >= 0")
