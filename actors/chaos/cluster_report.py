"""What a cluster chaos run reports: the faults it played on which instance and what each
met, how soon each instance's symbols were taken over, the grants and who placed what,
the invariants each with pass or fail, and the seed and timeline to replay it."""

from __future__ import annotations

from collections import Counter

import msgspec

from actors.chaos.cluster_invariants import Failover
from actors.chaos.cluster_plan import ClusterStep
from actors.chaos.invariants import InvariantResult
from actors.chaos.report import percentile


class ClusterFaultRecord(msgspec.Struct, frozen=True):
    """One fault as it was played: on which instance, when it started and cleared
    (seconds into the fault phase), and what it met there."""

    step: ClusterStep
    node: str
    started_s: float
    cleared_s: float
    hit: str
    """The symbols the instance held (with their epochs) and what its strategies were
    doing when the fault hit."""


class ProxyCounts(msgspec.Struct, frozen=True):
    """One instance's connections to the database, as its proxy counted them."""

    forwarded: int
    closed_by_cuts: int
    black_holed: int


class FailoverSpread(msgspec.Struct, frozen=True):
    """How soon the symbols of the instances one kind of fault hit were taken over."""

    kind: str
    symbols: int
    granted_p50_s: float | None
    granted_max_s: float | None
    trading_p50_s: float | None
    trading_max_s: float | None


class ClusterReport(msgspec.Struct, frozen=True):
    seed: int
    duration_s: float
    """The fault phase; settling, the graceful stop and the checks come after it."""
    instances: list[str]
    lease_ttl_s: float
    schema: str
    """The PostgreSQL schema the run's store is in (dropped once the run passed)."""
    timeline: list[ClusterFaultRecord]
    failovers: list[Failover]
    spreads: list[FailoverSpread]
    grants: int
    max_epoch: int
    placements_by_instance: dict[str, int]
    """Placements at the venues by the instance whose grant they carry (``?``: none)."""
    proxies: dict[str, ProxyCounts]
    max_unhedged_usdt: float
    max_unhedged_s: float
    unhedged_bound_s: float
    clock_slack_s: float
    """What the database's clock and the venues' may be off from this host's, as
    measured: the slack placements are judged against their grants with."""
    invariants: list[InvariantResult]
    passed: bool

    @property
    def faults_by_kind(self) -> dict[str, int]:
        return dict(Counter(r.step.kind.value for r in self.timeline))


def spreads(found: list[Failover]) -> list[FailoverSpread]:
    """Per kind of fault, in name order, and then over all of them: the takeover times."""
    kinds: dict[str, list[Failover]] = {}
    for failover in found:
        kinds.setdefault(failover.kind, []).append(failover)
    if found:
        kinds = dict(sorted(kinds.items())) | {"all": list(found)}
    result = []
    for kind, failovers in kinds.items():
        granted = [f.granted_after_s for f in failovers if f.granted_after_s is not None]
        trading = [f.trading_after_s for f in failovers if f.trading_after_s is not None]
        result.append(
            FailoverSpread(
                kind,
                len(failovers),
                percentile(granted, 0.5),
                max(granted, default=None),
                percentile(trading, 0.5),
                max(trading, default=None),
            )
        )
    return result


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(report: ClusterReport) -> str:
    """The report as a person reads it."""
    verdict = "PASSED" if report.passed else "FAILED"
    played = ", ".join(f"{kind} {count}" for kind, count in sorted(report.faults_by_kind.items()))
    lines = [
        f"chaos {verdict}: cluster of {', '.join(report.instances)} for {report.duration_s:g} "
        f"s, seed {report.seed}, leases of {report.lease_ttl_s:g} s",
        f"store: PostgreSQL schema {report.schema}",
        "",
        f"faults: {played or 'none'}",
    ]
    if report.spreads:
        lines += [
            "",
            f"{'failover (s)':<14} {'symbols':>7} {'granted p50':>12} {'max':>6} "
            f"{'trading p50':>12} {'max':>6}",
        ]
        lines += [
            f"{s.kind:<14} {s.symbols:>7} {_seconds(s.granted_p50_s):>12} "
            f"{_seconds(s.granted_max_s):>6} {_seconds(s.trading_p50_s):>12} "
            f"{_seconds(s.trading_max_s):>6}"
            for s in report.spreads
        ]
    placed = ", ".join(f"{name} {n}" for name, n in report.placements_by_instance.items())
    connections = "; ".join(
        f"{name} {p.forwarded} forwarded, {p.closed_by_cuts} closed by cuts, "
        f"{p.black_holed} black-holed"
        for name, p in report.proxies.items()
    )
    lines += [
        "",
        f"grants: {report.grants} (epochs up to {report.max_epoch})",
        f"placements by instance: {placed or 'none'}",
        f"database connections: {connections}",
        f"unhedged: at most {report.max_unhedged_usdt:.2f} USDT, longest "
        f"{report.max_unhedged_s:.2f} s (bound {report.unhedged_bound_s:g} s)",
        f"clocks: the database's and the venues' within {report.clock_slack_s:.3f} s of this "
        "host's",
        "",
        "invariants:",
    ]
    for invariant in report.invariants:
        mark = "pass" if invariant.passed else "FAIL"
        lines.append(f"  [{mark}] {invariant.name}: {invariant.detail}")
    if not report.passed:
        lines += ["", "fault timeline (replay with the same --duration and --seed):"]
        lines += [
            f"  {r.started_s:8.2f} s  {r.step.describe(r.node)} -> {r.hit}" for r in report.timeline
        ]
    return "\n".join(lines)
