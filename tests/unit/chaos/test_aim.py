"""Whether a chaos run's faults hit what they aim at: counted per kind, and a run whose
faults hit too rarely (all of them, or those on the order path) fails."""

from __future__ import annotations

import pytest

from actors.chaos.plan import FaultKind, FaultStep, build_plan
from actors.chaos.report import FaultRecord, FaultTally, aim_held, tally
from actors.chaos.runner import timing_of
from actors.config_files import ConfigError, load_config
from actors.sim.aimed_faults import Arrival, OrderHit, Role
from actors.system_config import SystemConfig


def record(kind: FaultKind, met: bool) -> FaultRecord:
    aimed = kind in (FaultKind.REJECTS, FaultKind.PARTIAL_FILLS)
    step = FaultStep(1.0, kind, "mexc", 10.0, role=Role.ENTRY if aimed else None)
    order = (
        OrderHit("btc_1-1s-ab12", "mexc", Role.ENTRY, Arrival.FIRST, 2.0) if aimed and met else None
    )
    return FaultRecord(step, 1.0, 3.0, "", met=met, order=order)


def test_faults_are_counted_per_kind_played_hit_and_expired():
    timeline = [
        record(FaultKind.REJECTS, True),
        record(FaultKind.WS_DROP, True),
        record(FaultKind.REJECTS, False),
        record(FaultKind.REJECTS, True),
    ]
    assert tally(timeline) == [FaultTally("rejects", 3, 2, 1), FaultTally("ws_drop", 1, 1, 0)]


def test_a_run_fails_when_too_few_of_its_order_faults_hit_though_most_faults_did():
    feeds = [record(FaultKind.WS_DROP, True)] * 16
    orders = [record(FaultKind.REJECTS, True)] * 3 + [record(FaultKind.PARTIAL_FILLS, False)]
    held = aim_held(feeds + orders, 0.8, 4)
    assert not held.passed  # 19 of 20 faults hit, but only 3 of 4 order faults
    assert "19 of 20 (95%) of all faults hit, 3 of 4 (75%) of those on the order path" in (
        held.detail
    )
    assert aim_held(feeds + orders, 0.75, 4).passed
    assert not aim_held([*feeds[:3], record(FaultKind.WS_DROP, False)], 0.8, 4).passed


def test_a_run_without_faults_of_a_part_is_not_judged_on_it():
    assert aim_held([record(FaultKind.WS_DROP, True)], 1.0, 1).passed
    assert aim_held([], 1.0, 1).passed


def test_too_few_faults_are_reported_but_not_judged():
    feeds = [record(FaultKind.WS_DROP, True)] * 12
    orders = [record(FaultKind.REJECTS, True), record(FaultKind.PARTIAL_FILLS, False)]
    held = aim_held(feeds + orders, 0.8, 10)
    assert held.passed  # one of two order faults expired: too few to mean anything
    assert "1 of 2 (50%, too few to judge) of those on the order path" in held.detail
    assert not aim_held(feeds + orders * 5, 0.8, 10).passed  # 5 of 10: judged, and short
    short = [record(FaultKind.WS_DROP, False)] * 3
    not_judged = aim_held(short, 0.8, 10)
    assert not_judged.passed and "0 of 3 (0%, too few to judge) of all" in not_judged.detail
    assert not aim_held(short, 0.8, 3).passed


def test_the_fewest_faults_judged_is_at_least_one(tmp_path):
    path = tmp_path / "chaos.toml"
    path.write_text("[chaos]\nmin_aimed_faults = 0\n")
    with pytest.raises(ConfigError, match="min_aimed_faults"):
        load_config(path, SystemConfig)


def test_an_order_fault_waits_as_long_as_the_stirring_takes_to_cycle_every_symbol(tmp_path):
    path = tmp_path / "chaos.toml"
    path.write_text('symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]\n[chaos]\nstir_every_s = 1.5\n')
    assert timing_of(load_config(path, SystemConfig)).cycle_s == 9.0


def test_order_faults_are_aimed_at_the_venues_an_arbitrage_trades_at(tmp_path):
    path = tmp_path / "chaos.toml"
    pair = "spot = {{ kind = 'binance' }}\nfutures = {{ kind = '{}' }}\n"
    path.write_text(
        "symbols = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']\n"
        "[[venues.pairs]]\nsymbols = ['ETH/USDT']\n" + pair.format("binance_futures")
        + "[[venues.pairs]]\nsymbols = ['SOL/USDT']\n" + pair.format("gateio_futures")
        + "[funding_carry]\nsymbols = ['ETH/USDT']\n"
    )  # fmt: skip
    timing = timing_of(load_config(path, SystemConfig))
    assert timing.venues == ("mexc", "binance", "gateio", "binance_futures")
    # Binance USDⓈ-M serves only the carry, which enters once and holds for days.
    assert timing.order_venues == ("mexc", "binance", "gateio")
    plan = build_plan(["order-rejects", "partial-fills", "flapping-ws-one"], 7, 120.0, timing)
    aimed = {step.target for step in plan if step.role is not None}
    assert aimed == {"mexc", "binance", "gateio"}
    # Faults of the connections and the account still play on every venue.
    assert {step.target for step in plan if step.kind is FaultKind.WS_DROP} <= set(timing.venues)
    # Without a carry, or with every venue an arbitrage's, nothing is set apart.
    assert timing_of(SystemConfig()).order_venues is None


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_the_share_of_faults_that_must_hit_is_a_fraction(tmp_path, share):
    path = tmp_path / "chaos.toml"
    path.write_text(f"[chaos]\nmin_hit_share = {share}\n")
    with pytest.raises(ConfigError, match="min_hit_share"):
        load_config(path, SystemConfig)
