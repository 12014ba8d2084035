"""What a chaos run reports: the faults it played and how many hit what they aim at, how
the system reacted, the invariants each with pass or fail, and the seed and timeline to
replay it.

A fault *hits* when it met what it aims at: an order fault the placement it waited for
(before its deadline; otherwise it *expired*); a websocket drop, a venue going down or
an upgrade notice at least one open connection; a stall at least one connection to keep
silent; a depth gap a depth diff to leave out; a read-after-write lag a lookup to hide;
a crash an actor to crash; a kill the trading process. A run whose faults hit less than
``[chaos] min_hit_share`` of the time, all of them or those on the order path, fails:
its figures would overstate what it exercised. A part of fewer than ``[chaos]
min_aimed_faults`` faults (a short run's) is reported but not judged.
"""

from __future__ import annotations

import msgspec

from actors.chaos.invariants import InvariantResult, PositionCheck
from actors.chaos.plan import ORDER_FAULTS, FaultStep
from actors.sim.aimed_faults import OrderHit


class FaultRecord(msgspec.Struct, frozen=True):
    """One fault as it was played: when it started and cleared (seconds into the fault
    phase), what it hit (the actor crashed, say), and how the system recovered."""

    step: FaultStep
    started_s: float
    cleared_s: float
    hit: str
    """What the fault reached: the actor crashed, the connections dropped, ..."""
    fresh_after_s: float | None = None
    """Fault cleared to fresh quotes again (``None``: not measured or not recovered)."""
    decided_after_s: float | None = None
    """Fault cleared to the strategies' first decision on those quotes."""
    met: bool = False
    """Whether the fault hit what it aims at (see the module)."""
    order: OrderHit | None = None
    """The placement an order fault met (``None``: not an order fault, or it expired)."""


class FaultTally(msgspec.Struct, frozen=True):
    """The faults of one kind: how many played, hit what they aim at, or did not (an
    order fault: expired unmet at its deadline)."""

    kind: str
    played: int
    hit: int
    expired: int


class Recovery(msgspec.Struct, frozen=True):
    """Recovery times of one fault kind, in seconds."""

    kind: str
    samples: int
    fresh_p50_s: float | None
    fresh_p99_s: float | None
    decided_p50_s: float | None
    decided_p99_s: float | None


class OrderOutcomes(msgspec.Struct, frozen=True):
    """Orders by outcome: as the venues' ledgers tell it, and as the routers counted."""

    venue_accepted: int
    venue_filled: int
    venue_partly_filled: int
    venue_unfilled: int
    """Ended (cancelled or expired) with nothing filled."""
    venue_refused: int
    routers_placed: int
    routers_rejected: int
    unknown_resolved: int
    """Orders whose outcome was unknown (a timeout, a 5xx, a restart) and was looked up."""
    rate_limited: int


class ChaosReport(msgspec.Struct, frozen=True):
    seed: int
    scenarios: list[str]
    duration_s: float
    """The fault phase; settling and the final checks come after it."""
    faults_by_kind: dict[str, int]
    faults: list[FaultTally]
    aim: InvariantResult
    """Whether enough of the faults hit (``[chaos] min_hit_share``); a run fails without."""
    venue_faults_served: dict[str, dict[str, int]]
    """What each simulated venue counted as served (connections dropped, 5xx, ...)."""
    reconnects: int
    restarts: int
    """Actor restarts by their supervisors."""
    process_restarts: int
    ws_disconnects: int
    """Websocket connections the venues cut (a venue going down cuts them too)."""
    kills: int
    """SIGKILLs of the trading process."""
    orders: OrderOutcomes
    max_unhedged_usdt: float
    max_unhedged_s: float
    unhedged_bound_s: float
    recovery: list[Recovery]
    cold_start_fresh_s: float | None
    """The first trading process: launched → every feed fresh (the recoveries' baseline)."""
    cold_start_decided_s: float | None
    """Launched → every strategy deciding."""
    position_checks: list[PositionCheck]
    invariants: list[InvariantResult]
    timeline: list[FaultRecord]
    passed: bool
    risk_play: dict[str, int] = msgspec.field(default_factory=dict)
    """What the run played on the risk side: auto-deleveragings, liquidation runs,
    balance shortfalls, mode switches, kills while reducing or halted (and liquidations,
    which should be none)."""
    alert_delays_s: list[float] = msgspec.field(default_factory=list)
    """Each checked alert's delay: an incident's opening from its first appearance in
    ``/status``, its resolution from its end."""


def tally(timeline: list[FaultRecord]) -> list[FaultTally]:
    """Per fault kind, in name order: played, hit, expired."""
    played: dict[str, list[bool]] = {}
    for record in timeline:
        played.setdefault(record.step.kind.value, []).append(record.met)
    return [
        FaultTally(kind, len(met), sum(met), len(met) - sum(met))
        for kind, met in sorted(played.items())
    ]


def aim_held(timeline: list[FaultRecord], min_share: float, min_faults: int) -> InvariantResult:
    """Whether at least ``min_share`` of all faults, and of the order faults, hit. A part
    of fewer than ``min_faults`` faults is reported but not judged: one fault expiring
    on a loaded machine would swing its share too far to mean anything."""
    order = [r.met for r in timeline if r.step.kind in ORDER_FAULTS]
    every = [r.met for r in timeline]
    judged = [met for met in (every, order) if len(met) >= max(1, min_faults)]
    detail = (
        f"{_share(every, min_faults)} of all faults hit, {_share(order, min_faults)} of those "
        f"on the order path; at least {min_share:.0%} of {min_faults} or more required"
    )
    passed = all(sum(met) / len(met) >= min_share for met in judged)
    return InvariantResult("faults hit what they aim at", passed, detail)


def _share(met: list[bool], min_faults: int) -> str:
    if not met:
        return "none"
    judged = "" if len(met) >= min_faults else ", too few to judge"
    return f"{sum(met)} of {len(met)} ({sum(met) / len(met):.0%}{judged})"


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def recoveries(timeline: list[FaultRecord]) -> list[Recovery]:
    by_kind: dict[str, list[FaultRecord]] = {}
    for record in timeline:
        if record.decided_after_s is not None or record.fresh_after_s is not None:
            by_kind.setdefault(_recovery_kind(record.step), []).append(record)
    found = []
    for kind, records in sorted(by_kind.items()):
        fresh = [r.fresh_after_s for r in records if r.fresh_after_s is not None]
        decided = [r.decided_after_s for r in records if r.decided_after_s is not None]
        found.append(
            Recovery(
                kind,
                len(records),
                percentile(fresh, 0.5),
                percentile(fresh, 0.99),
                percentile(decided, 0.5),
                percentile(decided, 0.99),
            )
        )
    return found


def _recovery_kind(step: FaultStep) -> str:
    if step.target in ("strategy", "router", "writer"):
        return f"{step.kind.value} {step.target}"
    return step.kind.value


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(report: ChaosReport) -> str:
    """The report as a person reads it."""
    verdict = "PASSED" if report.passed else "FAILED"
    lines = [
        f"chaos {verdict}: {', '.join(report.scenarios)} for {report.duration_s:g} s, "
        f"seed {report.seed}",
        "",
        "faults injected:",
        f"  {'':<16} {'played':>6} {'hit':>6} {'expired':>8}",
    ]
    lines += [f"  {t.kind:<16} {t.played:>6} {t.hit:>6} {t.expired:>8}" for t in report.faults]
    mark = "pass" if report.aim.passed else "FAIL"
    lines.append(f"  [{mark}] {report.aim.name}: {report.aim.detail}")
    for venue, served in report.venue_faults_served.items():
        if served:
            text = ", ".join(f"{name} {count}" for name, count in sorted(served.items()))
            lines.append(f"  served by {venue}: {text}")
    o = report.orders
    lines += [
        "",
        f"reconnects {report.reconnects}, actor restarts {report.restarts}, "
        f"process restarts {report.process_restarts}",
        f"websocket connections the venues cut {report.ws_disconnects}, SIGKILLs of the "
        f"trading process {report.kills}",
        f"orders at the venues: {o.venue_accepted} accepted, {o.venue_filled} filled, "
        f"{o.venue_partly_filled} partly filled, {o.venue_unfilled} ended unfilled, "
        f"{o.venue_refused} refused",
        f"routers: {o.routers_placed} placements, {o.routers_rejected} rejected, "
        f"{o.unknown_resolved} unknown outcomes resolved, {o.rate_limited} rate limited",
        f"unhedged: at most {report.max_unhedged_usdt:.2f} USDT, longest "
        f"{report.max_unhedged_s:.2f} s (bound {report.unhedged_bound_s:g} s)",
    ]
    if any(report.risk_play.values()):
        played = ", ".join(f"{what} {count}" for what, count in report.risk_play.items())
        lines.append(f"risk play: {played}")
    lines.append(
        f"cold start: fresh quotes {_seconds(report.cold_start_fresh_s)} s, first decisions "
        f"{_seconds(report.cold_start_decided_s)} s after launch"
    )
    if report.recovery:
        lines += ["", f"{'recovery (s)':<24} {'n':>4} {'fresh p50':>10} {'p99':>7} "
                  f"{'decided p50':>12} {'p99':>7}"]  # fmt: skip
        for r in report.recovery:
            lines.append(
                f"{r.kind:<24} {r.samples:>4} {_seconds(r.fresh_p50_s):>10} "
                f"{_seconds(r.fresh_p99_s):>7} {_seconds(r.decided_p50_s):>12} "
                f"{_seconds(r.decided_p99_s):>7}"
            )
    lines += ["", "invariants:"]
    for invariant in report.invariants:
        mark = "pass" if invariant.passed else "FAIL"
        lines.append(f"  [{mark}] {invariant.name}: {invariant.detail}")
    if not report.passed:
        lines += ["", "fault timeline (replay with the same --scenario, --duration and --seed):"]
        lines += [
            f"  {r.started_s:8.2f} s  {r.step.describe()}" + (f" -> {r.hit}" if r.hit else "")
            for r in report.timeline
        ]
    return "\n".join(lines)


def render_totals(reports: list[ChaosReport]) -> str:
    """Several runs summed up, as a soak made of them prints its totals."""
    verdict = "every run passed" if all(r.passed for r in reports) else "a run FAILED"
    return (
        f"{len(reports)} chaos runs, {sum(r.duration_s for r in reports):g} s of faults: "
        f"{sum(r.ws_disconnects for r in reports)} websocket connections cut by the venues, "
        f"{sum(r.kills for r in reports)} SIGKILLs of the trading process, "
        f"{sum(r.process_restarts for r in reports)} process restarts; {verdict}"
    )
