"""Chaos scenarios as fault plans: which fault, on what, when, and for how long.

A plan is data, made from a seed: the same scenarios, duration, seed and timing always
give the same plan, so a failing run is replayed by running it again with its seed. Each
:class:`FaultStep` starts ``at_s`` seconds into the fault phase and is cleared
``lasts_s`` later (0: a one-off, like dropping every websocket). A fault on the order
path (:data:`ORDER_FAULTS`) is instead armed at ``at_s`` with a target: a venue and
the kind of order (``actors.sim.aimed_faults``: one leg of an entry, first or second to
reach its venue, or an exit); it fires on the first placement that matches and expires
unmet ``lasts_s`` later. Its wait is drawn from how long the runner's stirring takes to
bring each symbol an entry and an exit (:attr:`Timing.cycle_s`).

Rates are kept under what the supervision tree tolerates (a supervisor gives up after
more than 10 restarts within 60 s, 20 for the strategies'), because "none gives up in
the standard scenarios" is one of the invariants: a scenario that made it give up would
test the limit, not the system.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable

import attrs
import msgspec

from actors.sim.aimed_faults import Arrival, Role

VENUES = ("mexc", "gateio")


class FaultKind(enum.Enum):
    WS_DROP = "ws_drop"
    """Every websocket of a venue cut at once."""
    WS_STALL = "ws_stall"
    """Websockets open but silent: only staleness can tell."""
    VENUE_DOWN = "venue_down"
    """Websockets cut and new connections refused for a while."""
    REST_TIMEOUT = "rest_timeout"
    """Order placements accepted by the venue, never answered."""
    SERVER_ERRORS = "server_errors"
    """A burst of 5xx answers."""
    RATE_LIMITS = "rate_limits"
    """A storm of 429 answers, each asking to wait."""
    REJECTS = "rejects"
    """Order placements refused."""
    PARTIAL_FILLS = "partial_fills"
    """Orders filled only in part."""
    DEPTH_GAP = "depth_gap"
    """A skipped depth version on every symbol."""
    UPGRADE_NOTICE = "upgrade_notice"
    """Gate.io's notice that the server is being upgraded."""
    READ_AFTER_WRITE = "read_after_write"
    """A venue's queries lag behind its writes: new orders hidden for ``lag_s`` (orders
    that ended unfilled are forgotten as the venue's config says)."""
    CRASH = "crash"
    """An exception injected into a strategy, router or the writer."""
    KILL = "kill"
    """SIGKILL of the trading process, restarted with recovery."""
    ADL = "adl"
    """The futures venue auto-deleverages ``fraction`` of a short it holds (1: all of it),
    as soon as one is held within ``lasts_s``."""
    LIQUIDATION_RUN = "liquidation_run"
    """The price of a symbol whose short is held runs ``fraction`` of the way to the
    short's liquidation price (beyond 1: past it) over ``run_s``."""
    BALANCE_SHORTFALL = "balance_shortfall"
    """A venue's free USDT cut to ``fraction`` of what one entry's leg there needs, for
    ``lasts_s`` (withdrawn, then paid back)."""
    RISK_MODE = "risk_mode"
    """The operator sets the portfolio's risk mode (the target: ``active``, ``reducing``
    or ``halted``) through the status port."""


FEED_FAULTS = frozenset(
    {
        FaultKind.WS_DROP,
        FaultKind.WS_STALL,
        FaultKind.VENUE_DOWN,
        FaultKind.DEPTH_GAP,
        FaultKind.UPGRADE_NOTICE,
    }
)
"""Faults that interrupt market data: recovering from them means fresh quotes again."""

ORDER_FAULTS = frozenset(
    {
        FaultKind.REST_TIMEOUT,
        FaultKind.SERVER_ERRORS,
        FaultKind.RATE_LIMITS,
        FaultKind.REJECTS,
        FaultKind.PARTIAL_FILLS,
    }
)
"""Faults aimed at order placements: armed with a target, they wait for it."""

VENUE_MOVES = frozenset({FaultKind.ADL, FaultKind.LIQUIDATION_RUN, FaultKind.BALANCE_SHORTFALL})
"""What the venues do by themselves to the account: a share of a position or a balance."""

TARGETS: tuple[tuple[Role, Arrival | None], ...] = (
    (Role.ENTRY, Arrival.FIRST),
    (Role.ENTRY, Arrival.SECOND),
    (Role.EXIT, None),
)
"""What an order fault waits for on its venue: one leg of an entry (the riskiest: the
other leg fills meanwhile), the first or the second to arrive, or an exit's leg."""


class FaultStep(msgspec.Struct, frozen=True):
    at_s: float
    kind: FaultKind
    target: str
    """The venue (``mexc``, ``gateio``), the actor kind crashed (``strategy``, ``router``,
    ``writer``), or ``process``."""
    lasts_s: float = 0.0
    """How long the fault is on; for an order fault, how long it waits for its order."""
    count: int = 0
    """How many requests or placements a counted fault hits."""
    fraction: float = 0.0
    """The share of an order a partial fill gives."""
    retry_after_s: float = 0.0
    hold_s: float = 0.0
    """How long a timed-out placement's connection is held before it closes unanswered."""
    lag_s: float = 0.0
    """How long a new order stays hidden from queries."""
    role: Role | None = None
    """An order fault's target on its venue: an entry's or an exit's leg..."""
    arrival: Arrival | None = None
    """...and for an entry, the leg to reach its venue first or second."""
    run_s: float = 0.0
    """How long a price run takes to reach its price."""

    def describe(self) -> str:
        if self.role is not None:
            leg = f" {self.arrival.value} leg" if self.arrival else ""
            target = f"{self.kind.value} at {self.target}: {self.role.value}{leg}"
            burst = [f"burst {self.count}"] if self.count > 1 else []
            detail = [f"waits {self.lasts_s:.1f} s", *burst, *self._shape()]
            return f"{target} ({', '.join(detail)})"
        detail = [f"count {self.count}"] if self.count else []
        if self.kind in VENUE_MOVES:
            detail.append(f"share {self.fraction:.2f}")
        if self.run_s:
            detail.append(f"over {self.run_s:.1f} s")
        detail += self._shape() if self.kind not in VENUE_MOVES else []
        if self.lag_s:
            detail.append(f"queries lag {self.lag_s:.1f} s")
        if self.lasts_s:
            detail.append(f"for {self.lasts_s:.1f} s")
        more = f" ({', '.join(detail)})" if detail else ""
        return f"{self.kind.value} {self.target}{more}"

    def _shape(self) -> list[str]:
        """What an order fault does, in words: its fraction, wait asked for, hold."""
        shape = []
        if self.fraction:
            shape.append(f"fraction {self.fraction:.2f}")
        if self.retry_after_s:
            shape.append(f"retry after {self.retry_after_s:.2f} s")
        if self.hold_s:
            shape.append(f"held {self.hold_s:.1f} s")
        return shape


@attrs.frozen
class Timing:
    """What the plan is shaped by, from the system's configuration."""

    stale_after_s: float = 10.0
    """The feeds' stall detection: a stall must outlast it to be noticed."""
    request_timeout_s: float = 5.0
    """How long a router waits for an answer: a timeout holds its answer longer."""
    restart_delay_s: float = 0.5
    """How long a killed trading process stays down before it is started again."""
    cycle_s: float = 12.0
    """About how long the stirring takes to bring a symbol an entry and then an exit
    (twice ``stir_every_s`` per symbol): order faults wait a few of them."""
    spot_venues: tuple[str, ...] = VENUES[:1]
    """The spot venues faults are switched on, by name: one per pair of venues traded."""
    futures_venues: tuple[str, ...] = VENUES[1:]
    """The futures venues, likewise."""
    upgrade_notices: tuple[str, ...] = VENUES[1:]
    """The venues that tell their connections of a server upgrade (Gate.io does)."""
    order_venues: tuple[str, ...] | None = None
    """The venues order faults are aimed at (``None``: every venue): those an arbitrage
    trades at. A funding carry enters once and holds for days, so a fault aimed at a
    venue only carries trade at would wait in vain."""

    @property
    def venues(self) -> tuple[str, ...]:
        """Every venue, the spot ones first."""
        return self.spot_venues + self.futures_venues


Maker = Callable[[random.Random, float, Timing], list[FaultStep]]


def _one_of(rng: random.Random, venues: tuple[str, ...]) -> str:
    """One of ``venues``, drawn only when there is a choice: a run on one pair of venues
    draws what it drew before several pairs could be traded, so its seeds play as they
    did."""
    return venues[0] if len(venues) == 1 else rng.choice(venues)


def _every(
    rng: random.Random, duration_s: float, low_s: float, high_s: float, start_s: float = 0.5
) -> list[float]:
    """Moments from ``start_s`` to the end of the phase, ``low_s``..``high_s`` apart."""
    moments = []
    at = round(start_s, 3)
    while at < duration_s:  # rounded first: a moment a hair short of the end is not the end
        moments.append(at)
        at = round(at + rng.uniform(low_s, high_s), 3)
    return moments


def _flapping_one(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    venue = rng.choice(timing.venues)
    return [FaultStep(at, FaultKind.WS_DROP, venue) for at in _every(rng, duration_s, 1.5, 3.0)]


def _flapping_both(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    return [
        FaultStep(at, FaultKind.WS_DROP, venue)
        for at in _every(rng, duration_s, 1.5, 3.0)
        for venue in timing.venues
    ]


def _stall_s(timing: Timing) -> float:
    return max(2.0 * timing.stale_after_s, timing.stale_after_s + 2.0)


def _stalled(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    stall = _stall_s(timing)
    return [
        FaultStep(at, FaultKind.WS_STALL, rng.choice(timing.venues), lasts_s=stall)
        for at in _every(rng, duration_s - stall, stall + 2.0, stall + 4.0)
    ]


def _venue_down_s(duration_s: float) -> float:
    """A minute, or half of a shorter run."""
    return min(60.0, max(1.0, duration_s / 2.0))


def _refused(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    venue = rng.choice(timing.venues)
    return [FaultStep(0.5, FaultKind.VENUE_DOWN, venue, _venue_down_s(duration_s))]


def _aimed(
    rng: random.Random,
    duration_s: float,
    timing: Timing,
    kind: FaultKind,
    low_s: float,
    high_s: float,
    venues: tuple[str, ...] | None = None,
    start_s: float = 0.5,
    targets: tuple[tuple[Role, Arrival | None], ...] = TARGETS,
) -> list[FaultStep]:
    """Order faults armed ``low_s``..``high_s`` apart, each on a venue of ``venues``
    (``timing``'s order venues when ``None``) for one of :data:`TARGETS`, waiting
    :data:`AIMED_WAIT_CYCLES` for it, or what is left of the phase, and at least
    :func:`_least_wait` (no fault is armed later than that)."""
    steps = []
    for at in _every(rng, duration_s - _least_wait(duration_s, timing), low_s, high_s, start_s):
        venue = rng.choice(venues or timing.order_venues or timing.venues)
        role, arrival = rng.choice(targets)
        waits = min(
            round(rng.uniform(*AIMED_WAIT_CYCLES) * timing.cycle_s, 1), _left(duration_s, at)
        )
        steps.append(FaultStep(at, kind, venue, waits, role=role, arrival=arrival))
    return steps


def _least_wait(duration_s: float, timing: Timing) -> float:
    """The least an order fault waits: a cycle of the stirring, or half of a shorter run."""
    return min(timing.cycle_s, duration_s / 2.0)


def _left(duration_s: float, at_s: float) -> float:
    """The time left in the phase after ``at_s``, in whole tenths, short of its end."""
    return max(0.0, math.floor((duration_s - at_s) * 10.0 - 1e-6) / 10.0)


AIMED_WAIT_CYCLES = (2.0, 4.0)
"""How many cycles of the stirring an order fault waits: one brings every symbol an entry
and an exit, and the rest covers the reconnections, kills and held placements that other
faults of a mixed run leave trading without (data outages are added: see
:func:`_waiting_out_outages`)."""


def _timeouts(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    hold = timing.request_timeout_s + 1.0  # longer than the router waits for an answer
    return [
        msgspec.structs.replace(step, hold_s=hold)
        for step in _aimed(rng, duration_s, timing, FaultKind.REST_TIMEOUT, 3.0, 4.0)
    ]


READ_AFTER_WRITE_FORGET_S = 2.0
"""How soon the lagging Gate.io forgets an order that ended unfilled: seconds, not its
ten minutes, so that a run of seconds meets it; longer than a placement's lookup takes,
since an order forgotten before its placement was answered looks as if it never came."""


def _read_after_write(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """MEXC's queries lag for the whole phase while its placements time out now and then,
    so routers look orders up while MEXC still hides them: the lag outlasts the router's
    wait for an answer (it hides the order when the lookup starts). Meanwhile Gate.io
    forgets unfilled orders within seconds (``Scenario.gateio_forgets_s``): its own
    behaviour, shortened, which meets a lookup only when an order ended unfilled, so it
    is set for the run rather than played as a fault that could hit."""
    lasts = max(1.0, duration_s - 1.0)
    lag = timing.request_timeout_s + 1.0
    spot = _one_of(rng, timing.spot_venues)
    steps = [FaultStep(0.5, FaultKind.READ_AFTER_WRITE, spot, lasts, lag_s=lag)]
    hold = timing.request_timeout_s + 1.0
    timeouts = _aimed(rng, duration_s, timing, FaultKind.REST_TIMEOUT, 3.0, 4.0, (spot,), 1.0)
    return steps + [msgspec.structs.replace(step, hold_s=hold) for step in timeouts]


BURST_S = {FaultKind.SERVER_ERRORS: 1.5, FaultKind.RATE_LIMITS: 2.0}
"""How long a burst of 5xx or a storm of 429 goes on after the placement it met: for the
venue's next ``count - 1`` requests within that time (a storm honoured request by
request would otherwise outlast the run)."""


def _server_errors(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """A burst of 5xx that starts with the placement aimed at and goes on for the venue's
    next requests (the lookup of that placement's outcome among them)."""
    return [
        msgspec.structs.replace(step, count=rng.randint(3, 8))
        for step in _aimed(rng, duration_s, timing, FaultKind.SERVER_ERRORS, 2.0, 3.0)
    ]


def _rate_limits(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """A storm of 429 that starts with the placement aimed at."""
    return [
        msgspec.structs.replace(
            step, count=rng.randint(10, 30), retry_after_s=round(rng.uniform(0.2, 1.0), 2)
        )
        for step in _aimed(rng, duration_s, timing, FaultKind.RATE_LIMITS, 3.0, 4.0)
    ]


def _rejects(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    return _aimed(rng, duration_s, timing, FaultKind.REJECTS, 2.0, 3.0)


def _partial_fills(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    return [
        msgspec.structs.replace(step, fraction=round(rng.uniform(0.3, 0.7), 2))
        for step in _aimed(rng, duration_s, timing, FaultKind.PARTIAL_FILLS, 4.5, 6.0)
    ]


def _depth_gaps(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    return [
        FaultStep(at, FaultKind.DEPTH_GAP, venue)
        for at in _every(rng, duration_s, 2.0, 3.0)
        for venue in timing.venues
    ]


def _upgrade_notices(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    if not timing.upgrade_notices:
        return []  # nothing the venues would send
    moments = _every(rng, duration_s, 3, 4)
    return [
        FaultStep(at, FaultKind.UPGRADE_NOTICE, _one_of(rng, timing.upgrade_notices))
        for at in moments
    ]


ACTOR_CRASH_SPACING_S = {"router": 7.0, "strategy": 3.5}
"""The least time between two crashes of routers (or of strategies) in ``actor-crashes``:
no minute then holds more than 9 router crashes or 18 strategy crashes, under their
supervisors' limits (10 and 20 restarts within 60 s); a crash every 2-3 s at either
kind at random once put 11 router crashes in 46 s, and ``routers`` gave up as it should."""


def _actor_crashes(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    steps = []
    last = dict.fromkeys(ACTOR_CRASH_SPACING_S, -1e9)
    for at in _every(rng, duration_s, 2.0, 3.0):
        target = rng.choice(("strategy", "router"))
        if at - last[target] < ACTOR_CRASH_SPACING_S[target]:
            target = "router" if target == "strategy" else "strategy"
        if at - last[target] >= ACTOR_CRASH_SPACING_S[target]:
            steps.append(FaultStep(at, FaultKind.CRASH, target))
            last[target] = at
    return steps


def _writer_crashes(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    # One every 7 s or more keeps the root well inside its 10 restarts a minute.
    return [
        FaultStep(at, FaultKind.CRASH, "writer") for at in _every(rng, duration_s, 7.0, 9.0, 1.0)
    ]


def _kills(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    return [
        FaultStep(at, FaultKind.KILL, "process", timing.restart_delay_s)
        for at in _every(rng, duration_s, 5.0, 7.0, 1.0)
    ]


KILL_STORM_LIFE_S = (2.0, 3.0)
"""How long each trading process in a kill storm lives, launch to SIGKILL. A restarted
process is deciding again 1.5 s after launch at the median: a cold start's 0.6-0.9 s to
fresh quotes, the recovery from the store, and the drops around it. So most processes
trade for a second or so on live quotes before they are killed."""
KILL_STORM_DROP_EVERY_S = (0.5, 1.0)
"""How far apart both venues' websockets are cut in a kill storm: sooner than a feed
comes back, so drops meet connections that are still reconnecting, as well as live ones."""


def _kill_storm(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """SIGKILLs as often as a restart allows, and both venues' websockets (market data
    and private streams) cut in between: a kill every ``restart_delay_s`` plus a
    process's life (:data:`KILL_STORM_LIFE_S`), 2.5-3.5 s with the defaults. Measured
    over 450 s on two cores: 148 kills, each played on time, and 847 connections cut,
    0.33 kills and 1.9 disconnects a second (a drop finds nothing to cut while a process
    is down or its feeds are waiting to reconnect)."""
    low, high = (timing.restart_delay_s + life for life in KILL_STORM_LIFE_S)
    kills = [
        FaultStep(at, FaultKind.KILL, "process", timing.restart_delay_s)
        for at in _every(rng, duration_s, low, high, 1.0)
    ]
    drops = [
        FaultStep(at, FaultKind.WS_DROP, venue)
        for at in _every(rng, duration_s, *KILL_STORM_DROP_EVERY_S)
        for venue in timing.venues
    ]
    return kills + drops


ENTRY_TARGETS = tuple(target for target in TARGETS if target[0] is Role.ENTRY)


def _one_leg_partial_fills(
    rng: random.Random, duration_s: float, timing: Timing
) -> list[FaultStep]:
    """Partial fills aimed at entries' legs only, one armed every 3-4.5 s: one leg of an
    entry fills in part while its partner fills whole, again and again, and the partner
    is to be resized (or the difference corrected) each time."""
    return [
        msgspec.structs.replace(step, fraction=round(rng.uniform(0.3, 0.7), 2))
        for step in _aimed(
            rng, duration_s, timing, FaultKind.PARTIAL_FILLS, 3.0, 4.5, targets=ENTRY_TARGETS
        )
    ]


ADL_EVERY_S = (6.0, 9.0)
ADL_PART = (0.3, 0.7)
"""The share of a short a partial auto-deleveraging takes."""


def _adl(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """Auto-deleveraging of whichever short is held, 6-9 s apart, in turn a part of it
    (:data:`ADL_PART`) and then all of it; each waits up to two cycles of the stirring
    for a short to take."""
    steps = []
    moments = _every(rng, duration_s - _least_wait(duration_s, timing), *ADL_EVERY_S, 1.0)
    for index, at in enumerate(moments):
        share = round(rng.uniform(*ADL_PART), 2) if index % 2 == 0 else 1.0
        waits = min(round(2.0 * timing.cycle_s, 1), _left(duration_s, at))
        venue = _one_of(rng, timing.futures_venues)
        steps.append(FaultStep(at, FaultKind.ADL, venue, waits, fraction=share))
    return steps


LIQUIDATION_RUN_LEVERAGE = 10.0
"""The perpetual's leverage in ``liquidation-run``: a short at 10x is liquidated about
9.5 % above its entry (Gate.io: initial margin 10 %, less the first tier's maintenance
margin), so a run to it is a move of a few percent in seconds, as a volatile market
makes; at the default 1x it would be a doubling of the price."""
LIQUIDATION_RUN_DISTANCES_PCT = (5.0, 2.5)
"""``[risk] liquidation_reduce_distance_pct`` and ``liquidation_exit_distance_pct`` in
``liquidation-run``: the defaults (30 and 15) are for 1-3x and would close a 10x short at
once; these reduce about half way to the liquidation price and close a quarter of the way
from it, leaving the stirring's jumps of 1.2-1.5 % well clear of either."""
LIQUIDATION_RUN_SHARE = (1.05, 1.2)
"""How far a run goes, in shares of the way to the liquidation price: past it, so that a
short still held when the run ends is liquidated."""
LIQUIDATION_RUN_S = (8.0, 12.0)
LIQUIDATION_RUN_EVERY_S = (14.0, 18.0)


def _liquidation_runs(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """Price runs past a held short's liquidation price, one every 14-18 s, each over
    8-12 s; each waits up to two cycles of the stirring for a short to run at."""
    steps = []
    moments = _every(
        rng, duration_s - _least_wait(duration_s, timing), *LIQUIDATION_RUN_EVERY_S, 1.0
    )
    for at in moments:
        waits = min(round(2.0 * timing.cycle_s, 1), _left(duration_s, at))
        steps.append(
            FaultStep(
                at,
                FaultKind.LIQUIDATION_RUN,
                _one_of(rng, timing.futures_venues),
                waits,
                fraction=round(rng.uniform(*LIQUIDATION_RUN_SHARE), 2),
                run_s=round(rng.uniform(*LIQUIDATION_RUN_S), 1),
            )
        )
    return steps


SHORTFALL_S = (4.0, 7.0)
SHORTFALL_LEFT = (0.2, 0.6)
"""What a shortfall leaves free, in shares of what one entry's leg at that venue needs."""


def _balance_shortfalls(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """A venue's free USDT cut below what an entry's leg there needs, for 4-7 s, one
    shortfall every 8-11 s at either venue."""
    return [
        FaultStep(
            at,
            FaultKind.BALANCE_SHORTFALL,
            rng.choice(timing.venues),
            round(rng.uniform(*SHORTFALL_S), 1),
            fraction=round(rng.uniform(*SHORTFALL_LEFT), 2),
        )
        for at in _every(rng, duration_s - SHORTFALL_S[1], 8.0, 11.0, 1.0)
    ]


RISK_MODE_HOLD_S = (3.0, 5.0)
"""How long a mode is held before the next move (a kill, a resumption, the next round)."""


def _risk_modes(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """Rounds of: ``reducing`` or ``halted`` set by the operator, the trading process
    SIGKILLed while in it (it must come back in it), and ``active`` set again after the
    restart; each held 3-5 s (a fifth of a shorter run)."""
    hold = tuple(min(h, duration_s / 5.0) for h in RISK_MODE_HOLD_S)
    steps = []
    at = 1.0
    while True:
        mode = rng.choice(("reducing", "halted"))
        kill_at = round(at + rng.uniform(*hold), 3)
        resume_at = round(kill_at + timing.restart_delay_s + rng.uniform(*hold), 3)
        if resume_at >= duration_s:
            return steps
        steps += [
            FaultStep(at, FaultKind.RISK_MODE, mode),
            FaultStep(kill_at, FaultKind.KILL, "process", timing.restart_delay_s),
            FaultStep(resume_at, FaultKind.RISK_MODE, "active"),
        ]
        at = round(resume_at + rng.uniform(*hold), 3)


_MIXED_MAKERS: tuple[tuple[Maker, float], ...] = (
    (_flapping_one, 3.0),
    (_flapping_both, 1.0),
    (_stalled, 1.0),
    (_refused, 0.5),
    (_timeouts, 2.0),
    (_server_errors, 2.0),
    (_rate_limits, 1.5),
    (_rejects, 2.0),
    (_partial_fills, 1.5),
    (_depth_gaps, 1.5),
    (_upgrade_notices, 1.0),
    (_actor_crashes, 2.0),
    (_writer_crashes, 0.5),
    (_kills, 0.5),
)
"""Each scenario's maker and how often the mixed scenario draws it (not the kill storm:
a mixed run's second half is free of kills). A new entry changes every seed's mixed
plan."""

MIXED_KILL_SHARE = 0.5
"""Process kills happen only in the first half of a mixed run: its second half shows
whether one long-lived process keeps its memory flat."""

_MIXED_SPACING_S = {FaultKind.KILL: 60.0, FaultKind.VENUE_DOWN: 90.0, FaultKind.CRASH: 5.0}
"""The least time between two faults of a kind in a mixed run."""
_MIXED_WRITER_SPACING_S = 20.0
_MIXED_VENUE_DOWN_S = 20.0
_MIXED_DRAW_S = 60.0


def _mixed(rng: random.Random, duration_s: float, timing: Timing) -> list[FaultStep]:
    """Every kind of fault at random, one every 1.5..4 s, each shaped as its own scenario
    shapes it, spaced so that no supervisor nears its restart limit."""
    steps: list[FaultStep] = []
    last: dict[FaultKind, float] = {}
    last_writer = -1e9
    makers = [maker for maker, _ in _MIXED_MAKERS]
    weights = [weight for _, weight in _MIXED_MAKERS]
    at = 1.0
    while at < duration_s:
        # A short window is enough to draw one fault of the kind's shape.
        drawn = rng.choices(makers, weights)[0](rng, min(duration_s, _MIXED_DRAW_S), timing)
        if drawn:
            step = msgspec.structs.replace(drawn[0], at_s=at)
            if step.kind is FaultKind.VENUE_DOWN:
                step = msgspec.structs.replace(step, lasts_s=min(step.lasts_s, _MIXED_VENUE_DOWN_S))
            elif step.kind in ORDER_FAULTS:
                # An order fault near the end waits what is left, if that is worth it.
                step = msgspec.structs.replace(
                    step, lasts_s=min(step.lasts_s, _left(duration_s, at))
                )
            short = step.kind in ORDER_FAULTS and step.lasts_s < _least_wait(duration_s, timing)
            writer = step.target == "writer"
            allowed = (
                at - last.get(step.kind, -1e9) >= _MIXED_SPACING_S.get(step.kind, 0.0)
                and not (step.kind is FaultKind.KILL and at > duration_s * MIXED_KILL_SHARE)
                and not (writer and at - last_writer < _MIXED_WRITER_SPACING_S)
                and at + step.lasts_s < duration_s
                and not short
            )
            if allowed:
                steps.append(step)
                last[step.kind] = at
                last_writer = at if writer else last_writer
        # Rounded as it goes, so the spacing checked is the spacing played.
        at = round(at + rng.uniform(1.5, 4.0), 3)
    return steps


@attrs.frozen
class Scenario:
    name: str
    summary: str
    make: Maker
    needs_depth: bool = False
    """Its faults act only on feeds that keep a depth book."""
    gateio_forgets_s: float | None = None
    """How soon the simulated Gate.io forgets an order that ended unfilled in this
    scenario (``None``: as configured)."""
    futures_leverage: float | None = None
    """The perpetual's leverage this scenario trades at, with the liquidation distances
    that go with it (``None``: as configured)."""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "flapping-ws-one", "one venue's websockets dropped every few seconds", _flapping_one
        ),
        Scenario("flapping-ws-both", "both venues' websockets dropped together", _flapping_both),
        Scenario("stalled-ws", "websockets open but silent, longer than staleness", _stalled),
        Scenario("venue-down", "a venue refusing connections for a minute, then back", _refused),
        Scenario("rest-timeouts", "orders accepted by the venue but never answered", _timeouts),
        Scenario("server-errors", "bursts of 5xx answers", _server_errors),
        Scenario("rate-limit-storm", "storms of 429 answers", _rate_limits),
        Scenario("order-rejects", "order placements refused on one leg", _rejects),
        Scenario("partial-fills", "orders filled only in part on one leg", _partial_fills),
        Scenario("depth-gap", "skipped depth versions", _depth_gaps, needs_depth=True),
        Scenario("upgrade-notice", "Gate.io's server-upgrade notice", _upgrade_notices),
        Scenario(
            "read-after-write",
            "queries that do not see new orders (MEXC) or forget unfilled ones (Gate.io)",
            _read_after_write,
            gateio_forgets_s=READ_AFTER_WRITE_FORGET_S,
        ),
        Scenario("actor-crashes", "strategies and routers crashing at random", _actor_crashes),
        Scenario("writer-crash", "the persistence writer crashing", _writer_crashes),
        Scenario("process-kill", "SIGKILL of the trading process mid-cycle, restart", _kills),
        Scenario("mixed", "all of the above at random", _mixed, needs_depth=True),
        Scenario(
            "kill-storm",
            "SIGKILLs as often as a restart allows, both venues' websockets cut in between",
            _kill_storm,
        ),
        Scenario(
            "one-leg-partial-fills",
            "one leg of entries filled only in part, again and again",
            _one_leg_partial_fills,
        ),
        Scenario("adl", "the futures venue auto-deleveraging part, then all, of a short", _adl),
        Scenario(
            "liquidation-run",
            "the price running past a held short's liquidation price, at 10x",
            _liquidation_runs,
            futures_leverage=LIQUIDATION_RUN_LEVERAGE,
        ),
        Scenario(
            "balance-shortfall",
            "a venue's free USDT cut below what an entry's leg needs",
            _balance_shortfalls,
        ),
        Scenario(
            "risk-modes",
            "the operator reducing, halting, resuming; SIGKILL while reducing or halted",
            _risk_modes,
        ),
    )
}


CLUSTER_SCENARIO = "cluster"
"""Several instances sharing the symbols over PostgreSQL, killed, frozen and cut off from
the database in turn: a plan of its own (``actors.chaos.cluster_plan``) played alone by
a runner of its own (``actors.chaos.cluster``), not one of :data:`SCENARIOS`."""
CLUSTER_SUMMARY = (
    "three instances sharing the symbols over PostgreSQL, killed, frozen and cut off from "
    "the database in turn (played alone, on the database [persistence] dsn_env names)"
)


class UnknownScenario(ValueError):
    pass


def build_plan(
    names: list[str], seed: int, duration_s: float, timing: Timing
) -> tuple[FaultStep, ...]:
    """The plan of ``names`` played together over ``duration_s``, in time order."""
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise UnknownScenario(
            f"no scenario {', '.join(map(repr, unknown))}; known: {', '.join(SCENARIOS)}"
        )
    steps: list[FaultStep] = []
    for index, name in enumerate(names):
        rng = random.Random(f"{seed}:{index}:{name}")
        steps += SCENARIOS[name].make(rng, duration_s, timing)
    steps.sort(key=lambda step: step.at_s)
    return tuple(_waiting_out_outages(steps, duration_s))


OUTAGES = frozenset({FaultKind.WS_STALL, FaultKind.VENUE_DOWN})
"""Faults that leave a venue without market data for their whole length."""


def _waiting_out_outages(steps: list[FaultStep], duration_s: float) -> list[FaultStep]:
    """Each order fault's wait lengthened by the data outages it overlaps (within the
    phase): while a venue's data is out no strategy enters or exits, so a fault waiting
    for an entry or an exit waits that much longer."""
    outages: list[list[float]] = []
    for step in steps:
        if step.kind in OUTAGES:
            start, end = step.at_s, step.at_s + step.lasts_s
            if outages and start <= outages[-1][1]:
                outages[-1][1] = max(outages[-1][1], end)
            else:
                outages.append([start, end])
    found = []
    for step in steps:
        if step.kind in ORDER_FAULTS:
            until = step.at_s + step.lasts_s
            out = sum(max(0.0, min(end, until) - max(start, step.at_s)) for start, end in outages)
            if out > 0.0:
                longer = min(round(step.lasts_s + out, 1), _left(duration_s, step.at_s))
                step = msgspec.structs.replace(step, lasts_s=max(step.lasts_s, longer))
        found.append(step)
    return found
