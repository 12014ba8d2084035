"""The system config: defaults that run, errors that name the key, credentials by name."""

from __future__ import annotations

import msgspec
import pytest

from actors.config_files import ConfigError, load_config
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig


def load(tmp_path, text):
    path = tmp_path / "basis.toml"
    path.write_text(text)
    return load_config(path, SystemConfig)


def test_an_empty_file_is_the_paper_default(tmp_path):
    config = load(tmp_path, "")
    assert config.mode == "paper"
    assert [str(s) for s in config.symbol_list] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert config.missing_credentials() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('mode = "paper-ish"\n', "mode: invalid enum value 'paper-ish'"),
        ("symbols = []\n", "symbols: list at least one"),
        ('symbols = ["BTCUSDT"]\n', "symbol 'BTCUSDT' is not of the form BASE/QUOTE"),
        ('symbols = ["BTC/USDT", "BTC/USDT"]\n', "listed twice"),
        (
            '[venues.spot]\nkind = "gateio_futures"\n',
            "venues.spot.kind must be a spot venue: 'mexc'",
        ),
        ('[venues.futures]\nkind = "kraken"\n', "venues.futures.kind: invalid enum value"),
        (
            '[venues.futures]\nkind = "binance"\n',
            "venues.futures.kind must be a futures venue: 'gateio_futures' or 'binance_futures'",
        ),
        (
            '[venues.futures]\nkind = "binance_futures"\nuser_id = "123"\n',
            "venues.futures.user_id names a Gate.io account",
        ),
        (
            "[venues.spot]\nkind = 'mexc'\nstale_after_s = 0\n",
            "stale_after_s: expected a number > 0",
        ),
        (
            "[venues.futures]\nkind = 'gateio_futures'\nstale_after_s = 2\nlive_within_s = 2\n",
            "venues.futures: live_within_s = 2 must be below stale_after_s = 2: a connection is "
            "judged not live long before it is judged stalled; set it to about 1 s",
        ),
        ("[http]\nport = 70000\n", "http.port: expected a whole number <= 65535"),
        ("[persistence]\ndurability = 'SOMETIMES'\n", "persistence.durability: invalid enum"),
        ("[strategy]\nfutures_leverage = 0\n", "strategy.futures_leverage"),
        (
            "[strategy]\nfutures_leverage = 8\n[risk]\nliquidation_reduce_distance_pct = 20\n",
            "every entry would be closed at once; set futures_leverage at most 4 or "
            "liquidation_reduce_distance_pct at most 11 and liquidation_exit_distance_pct below it",
        ),
        ("[stratgy]\n", "unknown key 'stratgy'"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "basis.toml"))


def test_live_mode_names_the_missing_variables(tmp_path, monkeypatch):
    monkeypatch.delenv("BASIS_MEXC_KEY", raising=False)
    monkeypatch.setenv("BASIS_MEXC_SECRET", "s")
    config = load(
        tmp_path,
        'mode = "live"\n[venues.spot]\nkind = "mexc"\napi_key_env = "BASIS_MEXC_KEY"\n'
        'api_secret_env = "BASIS_MEXC_SECRET"\n',
    )
    assert config.missing_credentials() == [
        "BASIS_MEXC_KEY",
        "<api_key_env and api_secret_env for a gateio_futures venue>",
    ]


def test_paper_venues_point_at_the_simulated_ones():
    urls = SimUrls(
        "http://127.0.0.1:1",
        "ws://127.0.0.1:1/ws",
        "http://127.0.0.1:2",
        "ws://127.0.0.1:2/v4/ws/usdt",
        "http://127.0.0.1:3",
    )
    venues = SystemConfig().venues_at(urls)
    assert (venues.spot.rest, venues.spot.ws) == ("http://127.0.0.1:1", "ws://127.0.0.1:1/ws")
    assert venues.futures.ws == "ws://127.0.0.1:2/v4/ws/usdt"


def test_paper_mode_simulates_every_traded_symbol_at_the_chosen_rate(tmp_path):
    config = load(
        tmp_path,
        'symbols = ["BTC/USDT", "DOGE/USDT"]\n[paper]\ndislocations_per_hour = 30\n',
    )
    simulated = config.simulated()
    assert [str(s.symbol) for s in simulated.symbols] == ["BTC/USDT", "DOGE/USDT"]
    assert [s.process.dislocations_per_hour for s in simulated.symbols] == [30.0, 30.0]
    assert simulated.symbols[0].start_price == 65_000.0  # the default BTC, not a generic coin


@pytest.mark.parametrize("name", ["paper.toml", "live.example.toml", "stress.toml"])
def test_the_shipped_configs_load(name):
    from pathlib import Path

    config = load_config(Path(__file__).parents[3] / "configs" / name, SystemConfig)
    assert config.symbols
    if config.mode == "live":
        assert config.venues.spot.api_key_env and config.venues.futures.api_secret_env
    else:
        assert len(config.simulated().symbols) == len(config.symbols)


def test_the_chaos_bounds_follow_from_the_venues_unless_set():
    # A placement that timed out is looked up after request_timeout_s, and a "no such
    # order" proves nothing until the venue's read-after-write lag has passed after that:
    # MEXC's 5 s on its 5 s timeout is the slower unknown outcome.
    config = msgspec.convert({}, SystemConfig)
    assert config.chaos.settle_bound_s(config.venues) == 10.0
    assert config.chaos.unhedged_bound_s(config.venues) == 20.0
    # Gate.io's lag is 1 s: its timeout must be longer than MEXC's by more than the 4 s
    # between the lags to be the slower one.
    futures = {"kind": "gateio_futures", "request_timeout_s": 12.0}
    slow = msgspec.convert({"venues": {"spot": {"kind": "mexc"}, "futures": futures}}, SystemConfig)
    assert slow.chaos.settle_bound_s(slow.venues) == 13.0
    assert slow.chaos.unhedged_bound_s(slow.venues) == 26.0
    # The tests' chaos config: 2 s timeouts, MEXC's lag on top.
    venues = {
        "spot": {"kind": "mexc", "request_timeout_s": 2.0},
        "futures": {"kind": "gateio_futures", "request_timeout_s": 2.0},
    }
    fast = msgspec.convert({"venues": venues}, SystemConfig)
    assert fast.chaos.settle_bound_s(fast.venues) == 7.0
    assert fast.chaos.unhedged_bound_s(fast.venues) == 14.0
    set_ = msgspec.convert({"chaos": {"settle_s": 4.0, "max_unhedged_s": 9.0}}, SystemConfig)
    assert set_.chaos.settle_bound_s(set_.venues) == 4.0
    assert set_.chaos.unhedged_bound_s(set_.venues) == 9.0
