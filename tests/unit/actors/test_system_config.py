"""The system config: defaults that run, errors that name the key, credentials by name."""

from __future__ import annotations

import msgspec
import pytest

from actors.config_files import ConfigError, load_config
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from protocols.model import Leg

PAIR = "[[venues.pairs]]\nsymbols = ['ETH/USDT']\n"
BINANCE = "[venues.pairs.spot]\nkind = 'binance'\n"
BINANCE_FUTURES = "[venues.pairs.futures]\nkind = 'binance_futures'\n"


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
        ('symbols = ["BTCUSDT"]\n', "symbols: symbol 'BTCUSDT' is not of the form BASE/QUOTE"),
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
        (
            "[funding_carry]\nsymbols = ['DOGE/USDT']\n",
            "funding_carry.symbols names DOGE/USDT, which symbols does not list: add it to "
            "symbols, or remove it from funding_carry",
        ),
        (
            '[[venues.pairs]]\nsymbols = ["ETH/USDT"]\n[venues.pairs.spot]\nkind = "binance"\n',
            "missing required key 'venues.pairs[0].futures'",
        ),
        (
            f"{PAIR}[venues.pairs.spot]\nkind = 'binance_futures'\n"
            "[venues.pairs.futures]\nkind = 'binance_futures'\n",
            "venues.pairs[0].spot.kind must be a spot venue: 'mexc' or 'binance'",
        ),
        (
            f"{PAIR}{BINANCE}[venues.pairs.futures]\nkind = 'binance_futures'\nuser_id = 7\n",
            "venues.pairs[0].futures.user_id names a Gate.io account; binance_futures names "
            "the account by its API key alone: remove user_id",
        ),
        (
            f"[[venues.pairs]]\nsymbols = []\n{BINANCE}{BINANCE_FUTURES}",
            "venues.pairs[0].symbols: list the symbols that trade at binance and "
            'binance_futures, like ["ETH/USDT"]',
        ),
        (
            f"{PAIR}{BINANCE}{BINANCE_FUTURES}"
            f"[[venues.pairs]]\nsymbols = ['SOL/USDT', 'ETH/USDT']\n{BINANCE}{BINANCE_FUTURES}",
            "venues.pairs[1].symbols: ETH/USDT is also in venues.pairs[0]; a symbol trades at "
            "one pair of venues: list it once",
        ),
        (
            f"{PAIR.replace('ETH', 'DOGE')}{BINANCE}{BINANCE_FUTURES}",
            "venues.pairs[0].symbols names DOGE/USDT, which symbols does not list: add it to "
            "symbols, or remove it from the pair",
        ),
        (
            f"{PAIR}{BINANCE}{BINANCE_FUTURES}"
            "[[venues.pairs]]\nsymbols = ['SOL/USDT']\n[venues.pairs.spot]\nkind = 'binance'\n"
            "stale_after_s = 5\n[venues.pairs.futures]\nkind = 'gateio_futures'\n",
            "venues.pairs[0].spot and venues.pairs[1].spot configure binance differently; a "
            "venue is one account and one set of connections: make its tables alike",
        ),
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
    assert config.chaos.settle_bound_s(config.venues_in_use.values()) == 10.0
    assert config.chaos.unhedged_bound_s(config.venues_in_use.values()) == 20.0
    # Gate.io's lag is 1 s: its timeout must be longer than MEXC's by more than the 4 s
    # between the lags to be the slower one.
    futures = {"kind": "gateio_futures", "request_timeout_s": 12.0}
    slow = msgspec.convert({"venues": {"spot": {"kind": "mexc"}, "futures": futures}}, SystemConfig)
    assert slow.chaos.settle_bound_s(slow.venues_in_use.values()) == 13.0
    assert slow.chaos.unhedged_bound_s(slow.venues_in_use.values()) == 26.0
    # The tests' chaos config: 2 s timeouts, MEXC's lag on top.
    venues = {
        "spot": {"kind": "mexc", "request_timeout_s": 2.0},
        "futures": {"kind": "gateio_futures", "request_timeout_s": 2.0},
    }
    fast = msgspec.convert({"venues": venues}, SystemConfig)
    assert fast.chaos.settle_bound_s(fast.venues_in_use.values()) == 7.0
    assert fast.chaos.unhedged_bound_s(fast.venues_in_use.values()) == 14.0
    set_ = msgspec.convert({"chaos": {"settle_s": 4.0, "max_unhedged_s": 9.0}}, SystemConfig)
    assert set_.chaos.settle_bound_s(set_.venues_in_use.values()) == 4.0
    assert set_.chaos.unhedged_bound_s(set_.venues_in_use.values()) == 9.0


TWO_PAIRS = (
    "symbols = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']\n"
    f"{PAIR}{BINANCE}{BINANCE_FUTURES}"
    "[[venues.pairs]]\nsymbols = ['SOL/USDT']\n[venues.pairs.spot]\nkind = 'binance'\n"
    "[venues.pairs.futures]\nkind = 'gateio_futures'\n"
)


def test_each_symbol_trades_at_its_pair_and_each_venue_is_configured_once(tmp_path):
    config = load(tmp_path, TWO_PAIRS)
    btc, eth, sol = config.symbol_list
    assert config.pair_of(btc).title == "mexc/gateio_futures"
    assert config.pair_of(eth).title == "binance/binance_futures"
    assert config.pair_of(sol).title == "binance/gateio_futures"
    assert config.pair_of(sol).tables == ("venues.pairs[1].spot", "venues.pairs[1].futures")
    # Spot venues first; each kind once, whichever pairs it is in.
    assert list(config.venues_in_use) == ["mexc", "binance", "gateio_futures", "binance_futures"]
    assert config.symbols_at("binance") == [eth, sol]
    assert config.symbols_at("gateio_futures") == [btc, sol]
    assert config.symbols_at("binance_futures") == [eth]


def test_a_venue_no_symbol_trades_at_is_not_used_nor_asked_for_keys(tmp_path, monkeypatch):
    for name in ("BK", "BS", "FK", "FS"):
        monkeypatch.setenv(name, "x")
    keys = "api_key_env = 'BK'\napi_secret_env = 'BS'\n"
    futures_keys = "api_key_env = 'FK'\napi_secret_env = 'FS'\n"
    config = load(
        tmp_path,
        "mode = 'live'\nsymbols = ['ETH/USDT']\n"
        f"{PAIR}{BINANCE}{keys}{BINANCE_FUTURES}{futures_keys}",
    )
    assert list(config.venues_in_use) == ["binance", "binance_futures"]
    assert config.missing_credentials() == []  # [venues.spot] (MEXC) names no keys: unused


def test_paper_mode_simulates_each_symbol_at_its_pair(tmp_path):
    config = load(tmp_path, TWO_PAIRS)
    assert config.simulated().pairs == {
        "BTC/USDT": ("mexc", "gateio"),
        "ETH/USDT": ("binance", "binance_futures"),
        "SOL/USDT": ("binance", "gateio"),
    }
    urls = SimUrls(
        mexc_rest="http://127.0.0.1:1",
        mexc_ws="ws://127.0.0.1:1/ws",
        gateio_rest="http://127.0.0.1:2",
        gateio_ws="ws://127.0.0.1:2/v4/ws/usdt",
        binance_rest="http://127.0.0.1:4",
        binance_ws="ws://127.0.0.1:4/ws",
        binance_futures_rest="http://127.0.0.1:5",
        binance_futures_ws="ws://127.0.0.1:5/ws",
    )
    venues = config.venues_at(urls)
    assert venues.spot.rest == "http://127.0.0.1:1"
    assert [(p.spot.rest, p.futures.rest) for p in venues.pairs] == [
        ("http://127.0.0.1:4", "http://127.0.0.1:5"),
        ("http://127.0.0.1:4", "http://127.0.0.1:2"),
    ]
    keys = config.simulated_credentials()
    assert set(keys) == {"mexc", "binance", "gateio_futures", "binance_futures"}


def test_a_pair_prices_its_symbols_at_its_own_fee_rates_where_it_sets_them(tmp_path):
    config = load(
        tmp_path,
        TWO_PAIRS.replace("symbols = ['ETH/USDT']\n", "symbols = ['ETH/USDT']\nspot_fee = 0.001\n"),
    )
    btc, eth, sol = config.symbol_list
    assert config.strategy_of(eth).spot_fee == 0.001
    assert config.strategy_of(eth).fut_fee == config.strategy.fut_fee
    assert config.strategy_of(btc) == config.strategy_of(sol) == config.strategy
    assert config.pair_of(eth).fee_key(Leg.SPOT) == "venues.pairs[0].spot_fee"
    assert config.pair_of(eth).fee_key(Leg.FUTURES) == "strategy.fut_fee"
    assert config.pair_of(btc).fee_key(Leg.SPOT) == "strategy.spot_fee"
