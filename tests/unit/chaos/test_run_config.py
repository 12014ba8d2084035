"""The trading process's config in a chaos run: the user's symbols, strategy and feed
timings, in live mode against the simulated venues, keys from named variables."""

from __future__ import annotations

import tomllib

import msgspec

from actors.chaos.runner import KEY_ENV, run_config_toml
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
            "persistence": {"durability": "FULL"},
        },
        SystemConfig,
    )
    loaded = msgspec.convert(
        tomllib.loads(run_config_toml(users, URLS, 8123, depth=True)), SystemConfig
    )
    assert loaded.mode == "live" and loaded.symbols == users.symbols
    assert loaded.strategy == users.strategy
    assert loaded.persistence == users.persistence
    assert loaded.http.port == 8123
    spot, futures = loaded.venues.spot, loaded.venues.futures
    assert (spot.rest_url, spot.ws_url, spot.stale_after_s) == (URLS.mexc_rest, URLS.mexc_ws, 3.5)
    assert (futures.rest_url, futures.ws_url) == (URLS.gateio_rest, URLS.gateio_ws)
    assert spot.depth and futures.depth
    assert (spot.api_key_env, spot.api_secret_env) == KEY_ENV["spot"]
    assert futures.user_id == users.sim.futures.user_id
    assert sorted(loaded.missing_credentials()) == sorted([*KEY_ENV["spot"], *KEY_ENV["futures"]])


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
