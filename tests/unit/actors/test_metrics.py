"""``/metrics``: the families, their names and types as Prometheus reads them, and label
values escaped by the library."""

from __future__ import annotations

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from actors.runtime.ops.metrics import exposition, metrics_registry
from actors.runtime.ops.status import HEALTH_LEVELS
from actors.runtime.risk.actor import CapUse, RiskStatistics
from supervision import ChildSpec, Supervisor
from tests.unit.actors.sample_statistics import feed, router, statistics, strategy, system_of

FAMILIES = {
    "basis_up": "gauge",
    "basis_healthy": "gauge",
    "basis_health_state": "gauge",
    "basis_quotes_received": "counter",
    "basis_feed_reconnects": "counter",
    "basis_orders": "counter",
    "basis_fills": "counter",
    "basis_decisions": "counter",
    "basis_restarts": "counter",
    "basis_decision_lag_seconds": "histogram",
    "basis_mailbox_depth": "gauge",
}
"""As the parser names them: a counter's family is its name without ``_total``."""
RISK_FAMILIES = {
    "basis_risk_mode": "gauge",
    "basis_exposure_usdt": "gauge",
    "basis_exposure_limit_usdt": "gauge",
    "basis_portfolio_pnl_usdt": "gauge",
}
"""Those of a system with a risk actor (a running one)."""


def scrape(stats) -> str:
    return exposition(metrics_registry(system_of(stats))).decode()


def samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_family_has_help_and_type_and_keeps_its_exposed_name():
    text = scrape(statistics())
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == FAMILIES
    for name, kind in FAMILIES.items():
        exposed = f"{name}_total" if kind == "counter" else name
        assert f"# HELP {exposed} " in text
        assert f"# TYPE {exposed} {kind}\n" in text


def test_values_are_the_actors_statistics():
    found = samples(scrape(statistics()))
    assert found[("basis_up",)] == 1
    assert found[("basis_healthy",)] == 1
    health = {state: found[("basis_health_state", ("state", state))] for state in HEALTH_LEVELS}
    assert health == {"ok": 1, "degraded": 0, "failing": 0}
    assert found[("basis_quotes_received_total", ("feed", "feed-mexc"))] == 850
    assert found[("basis_feed_reconnects_total", ("feed", "feed-mexc"))] == 1
    orders = {"accepted": 6, "rejected": 1, "unknown_resolved": 2, "rate_limited": 3}
    for outcome, count in orders.items():
        key = ("basis_orders_total", ("outcome", outcome), ("router", "router-mexc"))
        assert found[key] == count
    assert found[("basis_fills_total", ("router", "router-mexc"))] == 5
    assert found[("basis_decisions_total", ("task", "btc_1"))] == 41
    assert found[("basis_restarts_total", ("task", "btc_1"))] == 0
    assert found[("basis_mailbox_depth", ("mailbox", "strategy-btc_1"))] == 1
    assert found[("basis_mailbox_depth", ("mailbox", "writer"))] == 2


def test_the_decision_lag_histogram_has_cumulative_buckets():
    found = samples(scrape(statistics()))

    def bucket(le: str) -> float:
        return found[("basis_decision_lag_seconds_bucket", ("le", le), ("task", "btc_1"))]

    # Observed: 0.3 ms twice, 4 ms, 2 s.
    assert bucket("0.0001") == 0
    assert bucket("0.0005") == 2
    assert bucket("0.005") == 3
    assert bucket("1.0") == 3
    assert bucket("+Inf") == 4
    assert found[("basis_decision_lag_seconds_count", ("task", "btc_1"))] == 4
    assert abs(found[("basis_decision_lag_seconds_sum", ("task", "btc_1"))] - 2.0046) < 1e-9


def test_a_feed_that_is_not_fresh_makes_the_system_failing():
    stale = statistics(feeds=(feed(state="reconnecting", detail="stalled"),))
    found = samples(scrape(stale))
    assert found[("basis_healthy",)] == 0
    assert found[("basis_health_state", ("state", "failing"))] == 1
    assert found[("basis_health_state", ("state", "ok"))] == 0


def test_label_values_are_escaped_and_read_back_whole():
    odd = 'feed "quoted" \\ back\nslash'
    text = scrape(statistics(feeds=(feed(odd),), routers=(router('r"1'),)))
    assert 'feed="feed \\"quoted\\" \\\\ back\\nslash"' in text
    found = samples(text)
    assert found[("basis_quotes_received_total", ("feed", odd))] == 850
    assert found[("basis_fills_total", ("router", 'r"1'))] == 5


def test_a_system_without_strategies_still_declares_every_family():
    text = scrape(statistics(strategies=()))
    names = {f.name for f in text_string_to_metric_families(text)}
    assert names == set(FAMILIES)
    assert "basis_decision_lag_seconds_bucket" not in text


def test_a_restarted_strategy_is_counted_from_the_tree():
    tree = Supervisor("basis", [ChildSpec("strategy-btc_1", lambda inc: None)]).snapshot()
    child = tree.children[0]
    restarted = msgspec.structs.replace(tree, children=[msgspec.structs.replace(child, restarts=2)])
    found = samples(scrape(statistics(strategies=(strategy(),), tree=restarted)))
    assert found[("basis_restarts_total", ("task", "btc_1"))] == 2


def test_the_risk_mode_and_each_caps_use_are_gauges():
    risk = RiskStatistics(
        "reducing",
        "drawdown stop",
        5.0,
        "stop",
        -12.5,
        190.0,
        "drawdown",
        [CapUse("total", 10000.0, 600.0), CapUse("symbol:BTC/USDT", 1000.0, 600.0)],
        None,
        None,
        None,
        None,
        [],
    )
    text = scrape(msgspec.structs.replace(statistics(), risk=risk))
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == FAMILIES | RISK_FAMILIES
    got = samples(text)
    assert [
        got[("basis_risk_mode", ("mode", mode))] for mode in ("active", "reducing", "halted")
    ] == [
        0.0,
        1.0,
        0.0,
    ]
    assert got[("basis_exposure_usdt", ("cap", "symbol:BTC/USDT"))] == 600.0
    assert got[("basis_exposure_limit_usdt", ("cap", "total"))] == 10000.0
    assert got[("basis_portfolio_pnl_usdt",)] == -12.5
