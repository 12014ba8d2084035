"""The trading process's config in a chaos run: the user's symbols, strategy and feed
timings, in live mode against the simulated venues, keys from named variables."""

from __future__ import annotations

import tomllib

import msgspec
import pytest

from actors.chaos.plan import LIQUIDATION_RUN_DISTANCES_PCT, LIQUIDATION_RUN_LEVERAGE
from actors.chaos.runner import entry_need_usdt, key_env, run_config_toml, scenario_config
from actors.config_files import load_config
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig

URLS = SimUrls("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "http://127.0.0.1:2", "ws://x/2", "")


def test_the_run_config_is_the_users_own_in_live_mode_against_the_simulated_venues():
    users = msgspec.convert(
        {
            "symbols": ["BTC/USDT", "SOL/USDT"],
            "venues": {"spot": {"kind": "mexc", "stale_after_s": 3.5}},
            "strategy": {"leg_timeout_s": 4.0, "max_loss_usdt": 50.0, "order_type": "market"},
            "funding_carry": {"symbols": ["SOL/USDT"], "horizon_h": 720.0},
            "persistence": {"durability": "FULL"},
        },
        SystemConfig,
    )
    loaded = msgspec.convert(
        tomllib.loads(run_config_toml(users, URLS, 8123, depth=True)), SystemConfig
    )
    assert loaded.mode == "live" and loaded.symbols == users.symbols
    assert loaded.strategy == users.strategy
    assert loaded.funding_carry == users.funding_carry
    assert loaded.persistence == users.persistence
    assert loaded.http.port == 8123
    spot, futures = loaded.venues.spot, loaded.venues.futures
    assert (spot.rest_url, spot.ws_url, spot.stale_after_s) == (URLS.mexc_rest, URLS.mexc_ws, 3.5)
    assert (futures.rest_url, futures.ws_url) == (URLS.gateio_rest, URLS.gateio_ws)
    assert spot.depth and futures.depth
    assert (spot.api_key_env, spot.api_secret_env) == key_env("mexc")
    assert futures.user_id == users.sim.futures.user_id
    assert sorted(loaded.missing_credentials()) == sorted(
        [*key_env("mexc"), *key_env("gateio_futures")]
    )


def test_the_run_config_keeps_the_users_pairs_at_their_simulated_venues():
    users = msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
            "venues": {
                "pairs": [
                    {
                        "symbols": ["ETH/USDT"],
                        "spot": {"kind": "binance", "depth": False},
                        "futures": {"kind": "binance_futures"},
                    },
                    {
                        "symbols": ["SOL/USDT"],
                        "spot": {"kind": "binance", "depth": False},
                        "futures": {"kind": "gateio_futures"},
                    },
                ]
            },
        },
        SystemConfig,
    )
    urls = msgspec.structs.replace(
        URLS,
        binance_rest="http://127.0.0.1:4",
        binance_ws="ws://127.0.0.1:4/ws",
        binance_futures_rest="http://127.0.0.1:5",
        binance_futures_ws="ws://127.0.0.1:5/ws",
    )
    loaded = msgspec.convert(
        tomllib.loads(run_config_toml(users, urls, 8123, depth=False)), SystemConfig
    )
    assert [pair.symbols for pair in loaded.venues.pairs] == [("ETH/USDT",), ("SOL/USDT",)]
    eth, sol = loaded.venues.pairs
    assert (eth.spot.rest_url, eth.futures.rest_url) == (
        urls.binance_rest,
        urls.binance_futures_rest,
    )
    assert (sol.spot.ws_url, sol.futures.ws_url) == (urls.binance_ws, urls.gateio_ws)
    assert not eth.spot.depth and eth.futures.depth
    # Gate.io's tables alike wherever it is used: the simulated account's user id in both.
    assert loaded.venues.futures.user_id == sol.futures.user_id == users.sim.futures.user_id
    assert (eth.futures.api_key_env, eth.futures.api_secret_env) == key_env("binance_futures")
    assert sorted(loaded.missing_credentials()) == sorted(
        name
        for kind in ("mexc", "binance", "gateio_futures", "binance_futures")
        for name in key_env(kind)
    )


def test_the_run_config_file_loads_with_unset_keys_left_out_and_strings_escaped(tmp_path):
    users = msgspec.convert(
        {"sim": {"futures": {"user_id": 'a "quoted" \\ id'}}, "strategy": {"cooldown_s": 1.5}},
        SystemConfig,
    )
    assert users.strategy.max_loss_usdt is None and users.venues.spot.user_id == ""
    path = tmp_path / "run.toml"
    path.write_text(run_config_toml(users, URLS, 0, depth=False), encoding="utf-8")
    loaded = load_config(path, SystemConfig)
    assert loaded.strategy == users.strategy
    assert loaded.venues.futures.user_id == 'a "quoted" \\ id'
    # No scenario needs depth: the user's own setting (on by default) stands.
    assert loaded.venues.spot.depth == users.venues.spot.depth
    assert loaded.venues.futures.depth == users.venues.futures.depth
    assert loaded.http.port == 0


def test_the_run_config_carries_the_users_risk_table():
    users = msgspec.convert(
        {"risk": {"max_symbol_notional_usdt": 400.0, "balance_interval_s": 2.0}}, SystemConfig
    )
    loaded = msgspec.convert(
        tomllib.loads(run_config_toml(users, URLS, 0, depth=False)), SystemConfig
    )
    assert loaded.risk == users.risk


def test_a_liquidation_run_trades_at_its_leverage_with_distances_that_fit_it():
    users = msgspec.convert({"strategy": {"base_position_size_usdt": 100.0}}, SystemConfig)
    assert scenario_config(users, ("adl", "risk-modes")) == users
    config = scenario_config(users, ("adl", "liquidation-run"))
    assert config.strategy.futures_leverage == LIQUIDATION_RUN_LEVERAGE
    assert config.strategy.base_position_size_usdt == 100.0
    reduce_pct, exit_pct = LIQUIDATION_RUN_DISTANCES_PCT
    assert config.risk.liquidation_reduce_distance_pct == reduce_pct
    assert config.risk.liquidation_exit_distance_pct == exit_pct
    # The run config loads, validated like the user's own.
    loaded = msgspec.convert(
        tomllib.loads(run_config_toml(config, URLS, 0, depth=False)), SystemConfig
    )
    assert loaded.risk == config.risk and loaded.strategy == config.strategy
    # A 10x short is liquidated about 9.5 % away: the reduce distance sits inside it.
    assert exit_pct < reduce_pct < 100.0 / LIQUIDATION_RUN_LEVERAGE - 1.0


def test_an_entrys_leg_needs_its_notional_on_spot_and_its_margin_on_futures():
    users = msgspec.convert(
        {
            "strategy": {"base_position_size_usdt": 200.0, "futures_leverage": 4.0},
            # A 4x short starts about 24 % from its liquidation: reduce nearer than that.
            "risk": {
                "liquidation_reduce_distance_pct": 20.0,
                "liquidation_exit_distance_pct": 10.0,
            },
        },
        SystemConfig,
    )
    assert entry_need_usdt(users, "mexc") == pytest.approx(202.0)
    assert entry_need_usdt(users, "gateio") == pytest.approx(50.0 + 2.0)
