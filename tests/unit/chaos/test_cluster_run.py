"""The cluster chaos run's own parts that need no instance: where its database comes
from, each instance's config, when the cluster counts as settled, and its report."""

from __future__ import annotations

import tomllib

import msgspec
import pytest
from psycopg.conninfo import conninfo_to_dict

from actors.chaos.cluster import (
    DSN_ENV,
    RENEWALS_PER_TTL,
    MissingDatabase,
    NodeView,
    coverage_gap,
    database_dsn,
    in_schema,
    instance_config_toml,
)
from actors.chaos.cluster_invariants import Failover
from actors.chaos.cluster_plan import ClusterFaultKind, ClusterStep
from actors.chaos.cluster_report import (
    ClusterFaultRecord,
    ClusterReport,
    ProxyCounts,
    render,
    spreads,
)
from actors.chaos.invariants import InvariantResult
from actors.chaos.runner import run_config_toml
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig

URLS = SimUrls("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "http://127.0.0.1:2", "ws://x/2", "")
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_the_database_is_the_one_the_named_variable_holds_and_its_absence_says_what_to_set():
    assert database_dsn("PG", {"PG": " host=db dbname=x "}) == "host=db dbname=x"
    for environ in ({}, {"PG": "  "}):
        with pytest.raises(MissingDatabase, match="set PG") as raised:
            database_dsn("PG", environ)
        assert "(the variable [persistence] dsn_env names)" in str(raised.value)


def test_the_runs_schema_comes_first_on_the_search_path_beside_the_users_options():
    assert conninfo_to_dict(in_schema("host=db", "basis_chaos_1"))["options"] == (
        "-c search_path=basis_chaos_1"
    )
    with_options = in_schema("host=db options='-c statement_timeout=5000'", "s")
    assert conninfo_to_dict(with_options)["options"] == "-c statement_timeout=5000 -c search_path=s"


def test_an_instances_config_is_the_runs_on_the_proxied_postgresql_in_a_cluster():
    users = msgspec.convert(
        {"symbols": SYMBOLS, "persistence": {"durability": "FULL"}}, SystemConfig
    )
    run_toml = run_config_toml(users, URLS, 8123, depth=False)
    document = tomllib.loads(instance_config_toml(run_toml, "node-2", 3, 4.0))
    assert document["persistence"] == {
        **tomllib.loads(run_toml)["persistence"],
        "backend": "postgresql",
        "dsn_env": DSN_ENV,
    }
    assert document["persistence"]["durability"] == "FULL"
    assert document["cluster"] == {
        "name": "node-2",
        "capacity": 3,
        "lease_ttl_s": 4.0,
        "renew_every_s": 4.0 / RENEWALS_PER_TTL,
    }
    # Everything else is the single instance's chaos config.
    others = {k: v for k, v in document.items() if k not in ("persistence", "cluster")}
    assert others == {k: v for k, v in tomllib.loads(run_toml).items() if k != "persistence"}
    assert document["http"]["port"] == 8123 and document["mode"] == "live"


def view(name: str, held: dict[str, int], lame=(), deciding=None) -> NodeView:
    return NodeView(name, held, list(lame), sorted(held) if deciding is None else deciding)


def test_a_cluster_is_settled_when_each_symbol_has_one_holder_deciding_on_it():
    views = [view("node-1", {"BTC/USDT": 1}), view("node-2", {"ETH/USDT": 2, "SOL/USDT": 3})]
    assert coverage_gap(views, SYMBOLS) == ""
    assert coverage_gap([*views, view("node-3", {})], SYMBOLS) == ""


def test_a_symbol_held_by_none_by_two_lame_or_not_traded_keeps_it_unsettled():
    views = [
        view("node-1", {"BTC/USDT": 1, "ETH/USDT": 2}, deciding=["BTC/USDT"]),
        view("node-2", {"BTC/USDT": 4, "SOL/USDT": 3}, lame=["SOL/USDT"]),
    ]
    assert coverage_gap(views, SYMBOLS) == (
        "BTC/USDT held by node-1 and node-2; ETH/USDT held by node-1, no strategy deciding; "
        "SOL/USDT held by none"
    )


def report(passed: bool) -> ClusterReport:
    failovers = [
        Failover("kill", "node-1", "BTC/USDT", 3, 7, "node-2", 4.2, 5.1),
        Failover("freeze", "node-2", "ETH/USDT", 5, 9, "node-3", 4.8, 6.0),
    ]
    step = ClusterStep(1.0, ClusterFaultKind.FREEZE, 1, 5.0)
    return ClusterReport(
        seed=7,
        duration_s=35.0,
        instances=["node-1", "node-2", "node-3"],
        lease_ttl_s=4.0,
        schema="basis_chaos_ab12cd34",
        timeline=[ClusterFaultRecord(step, "node-2", 1.0, 6.0, "node-2 held ETH/USDT (epoch 5)")],
        failovers=failovers,
        spreads=spreads(failovers),
        grants=12,
        max_epoch=12,
        placements_by_instance={"node-1": 10, "node-2": 6},
        proxies={"node-2": ProxyCounts(4, 2, 3)},
        max_unhedged_usdt=12.5,
        max_unhedged_s=0.4,
        unhedged_bound_s=17.0,
        clock_slack_s=0.002,
        invariants=[InvariantResult("one holder", passed, "12 placements")],
        passed=passed,
    )


def test_the_report_reads_as_a_verdict_with_each_promise_and_the_failover_times():
    text = render(report(True))
    assert text.startswith(
        "chaos PASSED: cluster of node-1, node-2, node-3 for 35 s, seed 7, leases of 4 s"
    )
    for part in (
        "faults: freeze 1",
        "kill                 1         4.20   4.20         5.10   5.10",
        "all                  2         4.20   4.80         5.10   6.00",
        "grants: 12 (epochs up to 12)",
        "placements by instance: node-1 10, node-2 6",
        "node-2 4 forwarded, 2 closed by cuts, 3 black-holed",
        "  [pass] one holder: 12 placements",
    ):
        assert part in text, part
    assert "fault timeline" not in text


def test_a_failed_report_gives_its_timeline_to_replay():
    text = render(report(False))
    assert text.startswith("chaos FAILED") and "  [FAIL] one holder" in text
    assert "1.00 s  freeze node-2 for 5.0 s -> node-2 held ETH/USDT (epoch 5)" in text


def test_a_report_is_json_all_through():
    encoded = msgspec.json.encode(report(True))
    assert msgspec.json.decode(encoded, type=ClusterReport) == report(True)
