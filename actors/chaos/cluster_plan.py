"""The cluster scenario's fault plan: which instance is killed, frozen or cut off from the
database, when, and for how long.

A plan is data, made from a seed, as the single instance's plans are
(``actors.chaos.plan``). It is played in rounds: each round plays the three faults once,
in an order drawn from the seed, each on an instance drawn from the seed:

- a **kill** (SIGKILL) of the instance, started again ``lasts_s`` later: anything from a
  second (a service manager's restart, its leases still running) to past the lease's
  time to live (the others took its symbols over first);
- a **freeze** (SIGSTOP) for ``lasts_s``, past the lease's time to live, then SIGCONT: the
  instance wakes up holding leases that have expired, perhaps granted to another;
- a **cut** from the database for ``lasts_s``, past the lease's time to live: the
  instance keeps running and reaching the venues but can renew nothing.

One fault plays at a time. After each, the plan leaves the lease's time to live and the
failover's allowance for the symbols to be taken over and the cluster to settle before
the next.
"""

from __future__ import annotations

import enum
import random

import msgspec

FAILOVER_SLACK_S = 5.0
"""What a dead, frozen or cut-off instance's symbols may take beyond the lease's time to
live to be trading again on another instance: the others' next claim, the taking over
(older orders looked up and cancelled at the venues), the strategy's first decision."""
OUTLAST_TTL_S = 1.0
"""How much longer than the lease's time to live a freeze or a cut lasts: long enough
that the lease has expired, whatever the time of its last renewal."""
QUICK_RESTART_S = 1.0
"""The shortest a killed instance stays down."""
FIRST_AT_S = 1.0


class ClusterFaultKind(enum.Enum):
    KILL = "kill"
    FREEZE = "freeze"
    CUT = "cut"


class ClusterStep(msgspec.Struct, frozen=True):
    at_s: float
    kind: ClusterFaultKind
    node: int
    """Which instance (0-based) it plays on."""
    lasts_s: float
    """How long the instance stays down, frozen or cut off."""

    def describe(self, name: str) -> str:
        if self.kind is ClusterFaultKind.KILL:
            return f"kill {name}, started again after {self.lasts_s:.1f} s"
        if self.kind is ClusterFaultKind.FREEZE:
            return f"freeze {name} for {self.lasts_s:.1f} s"
        return f"cut {name} off from the database for {self.lasts_s:.1f} s"


def settle_s(lease_ttl_s: float) -> float:
    """How long the plan leaves after a fault cleared before the next: the symbols of an
    instance that went away are taken over within the lease's time to live and the
    failover's allowance, and one that came back takes its share in as long again."""
    return lease_ttl_s + FAILOVER_SLACK_S


def build_cluster_plan(
    seed: int, duration_s: float, lease_ttl_s: float, nodes: int
) -> tuple[ClusterStep, ...]:
    """The faults of ``duration_s`` seconds on a cluster of ``nodes`` instances whose
    leases live ``lease_ttl_s``: every step ends within the duration."""
    rng = random.Random(f"{seed}:cluster")
    outlast = lease_ttl_s + OUTLAST_TTL_S
    steps: list[ClusterStep] = []
    at = FIRST_AT_S
    while True:
        kinds = list(ClusterFaultKind)
        rng.shuffle(kinds)
        for kind in kinds:
            lasts = outlast
            if kind is ClusterFaultKind.KILL:
                lasts = rng.uniform(QUICK_RESTART_S, outlast)
            lasts = round(lasts, 3)
            if at + lasts > duration_s:
                return tuple(steps)
            steps.append(ClusterStep(at, kind, rng.randrange(nodes), lasts))
            at = round(at + lasts + settle_s(lease_ttl_s), 3)
