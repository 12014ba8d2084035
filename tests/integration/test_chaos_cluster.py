"""The cluster chaos scenario for real: three instances of the trading system sharing the
symbols over a throwaway PostgreSQL (each through a proxy of its own), trading against
the simulated venues, while one is killed, one frozen past its lease and one cut off
from the database; every promise of the cluster must hold, checked against the venues'
ledgers and the store's grants and journal (``actors.chaos.cluster_invariants``).

``make test`` plays one round (a kill, a freeze and a cut, in the seed's order) with
leases of a few seconds; ``make soak`` plays rounds for ``BASIS_CHAOS_SOAK_S`` seconds
(30 minutes by default). A failure prints the report with its seed and fault timeline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import msgspec
import pytest

from actors.chaos.cluster import (
    CHAOS_LEASE_TTL_S,
    ClusterOptions,
    configured_dsn,
    run_cluster_chaos,
)
from actors.chaos.cluster_plan import FIRST_AT_S, OUTLAST_TTL_S, ClusterFaultKind, settle_s
from actors.chaos.cluster_report import ClusterReport, render
from actors.system_config import SystemConfig

SEED = int(os.environ.get("BASIS_CHAOS_SEED", "20261205"))
DSN_ENV = "BASIS_CHAOS_TEST_DSN"
ROUND_S = FIRST_AT_S + 3 * (CHAOS_LEASE_TTL_S + OUTLAST_TTL_S) + 2 * settle_s(CHAOS_LEASE_TTL_S)
"""Long enough for one round of the three faults, whatever their order and the kill's
downtime (at the default leases of 4 s: 34 s, and about 25 s more to start the cluster,
settle after the last fault and stop)."""
SOAK_S = float(os.environ.get("BASIS_CHAOS_SOAK_S", "1800"))

# Timings short enough that entries and exits happen every few seconds: each symbol is
# stirred every 6 s, so each instance's strategies trade between the faults.
CONFIG_TOML = f"""\
symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
[venues.spot]
kind = "mexc"
stale_after_s = 2.0
request_timeout_s = 2.0
[venues.futures]
kind = "gateio_futures"
stale_after_s = 2.0
request_timeout_s = 2.0
[strategy]
base_position_size_usdt = 200.0
cooldown_s = 0.0
leg_timeout_s = 2.0
max_quote_age_s = 2.0
[persistence]
backend = "postgresql"
dsn_env = "{DSN_ENV}"
[chaos]
stir_every_s = 1.0
"""


def cluster_config() -> SystemConfig:
    return msgspec.convert(tomllib.loads(CONFIG_TOML), SystemConfig)


async def play(duration_s: float, tmp_path, postgres_dsn, monkeypatch) -> ClusterReport:
    monkeypatch.setenv(DSN_ENV, postgres_dsn)
    config = cluster_config()
    options = ClusterOptions(duration_s, SEED, tmp_path)
    report = await run_cluster_chaos(config, options, configured_dsn(config))
    assert report.passed, f"{render(report)}\n(replay with BASIS_CHAOS_SEED={SEED})"
    return report


def assert_every_fault_took_symbols_over(report: ClusterReport) -> None:
    """Each kind of fault met an instance holding symbols, each of which another grant
    took over and a strategy traded again; the cut closed the instance's connections."""
    for kind in ClusterFaultKind:
        taken = [f for f in report.failovers if f.kind == kind.value]
        assert taken, f"no {kind.value} met a held symbol\n{render(report)}"
        assert all(f.trading_after_s is not None for f in taken), render(report)
    cut = {r.node for r in report.timeline if r.step.kind is ClusterFaultKind.CUT}
    assert all(report.proxies[node].closed_by_cuts > 0 for node in cut), render(report)
    # Every instance traded, and nothing reached a venue without an epoch of a grant.
    assert "?" not in report.placements_by_instance, render(report)
    assert len(report.placements_by_instance) >= 2, render(report)


async def test_a_cluster_keeps_every_promise_through_a_kill_a_freeze_and_a_cut(
    tmp_path, postgres_dsn, monkeypatch
):
    report = await play(ROUND_S, tmp_path, postgres_dsn, monkeypatch)
    assert report.faults_by_kind == {"kill": 1, "freeze": 1, "cut": 1}
    assert_every_fault_took_symbols_over(report)


@pytest.mark.soak
async def test_a_cluster_keeps_every_promise_for_half_an_hour_of_kills_freezes_and_cuts(
    tmp_path, postgres_dsn, monkeypatch
):
    report = await play(SOAK_S, tmp_path, postgres_dsn, monkeypatch)
    print(render(report))
    rounds = int(SOAK_S // (3 * (CHAOS_LEASE_TTL_S + OUTLAST_TTL_S + settle_s(CHAOS_LEASE_TTL_S))))
    assert all(report.faults_by_kind.get(kind.value, 0) >= rounds for kind in ClusterFaultKind)
    assert_every_fault_took_symbols_over(report)


BASIS = [sys.executable, "-m", "actors.cli"]


def test_the_cluster_scenario_plays_alone():
    done = subprocess.run(
        [*BASIS, "chaos", "--duration", "5", "--scenario", "cluster", "--scenario", "mixed"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "the cluster scenario plays alone" in done.stderr


def test_the_cluster_scenario_without_a_database_says_which_variable_to_set(tmp_path):
    config = tmp_path / "cluster.toml"
    config.write_text(CONFIG_TOML)
    env = {key: value for key, value in os.environ.items() if key != DSN_ENV}
    done = subprocess.run(
        [*BASIS, "chaos", str(config), "--duration", "5", "--scenario", "cluster"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"set {DSN_ENV} (the variable [persistence] dsn_env names)" in done.stderr
