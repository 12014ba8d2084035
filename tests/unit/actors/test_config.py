"""Config files: a bad file is refused whole, with the file and the key named."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.arbitrage.config import MAX_ENTRY_COST_PCT, StrategyConfig
from actors.backtest.engine import BacktestConfig
from actors.cli.backtest import BacktestConfigFile
from actors.config_files import ConfigError, Mismatch, convert, load_config
from actors.system_config import SystemConfig
from protocols.model import OrderType


def write(tmp_path, text):
    path = tmp_path / "basis.toml"
    path.write_text(text)
    return path


def test_absent_keys_take_the_spec_defaults(tmp_path):
    config = load_config(write(tmp_path, ""), BacktestConfig)
    assert config.strategy == StrategyConfig()
    params = config.strategy.params()
    assert (params.max_entry_cost_pct, params.min_profit_pct, params.max_hours) == (0.5, 0.58, 6.0)
    assert (params.max_quote_age_s, params.cooldown_s) == (10.0, 0.0)
    assert params.order_type is OrderType.LIMIT


def test_values_reach_the_strategy_parameters(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "[strategy]\nmin_profit_pct = 0.3\ncooldown_s = 30\norder_type = 'market'\n"
            "[backtest.futures]\ncontract_size = 0.01\n",
        ),
        BacktestConfig,
    )
    params = config.strategy.params()
    assert params.min_profit_pct == 0.3
    assert params.cooldown_s == 30.0
    assert params.order_type is OrderType.MARKET
    assert config.backtest.futures.rules().contract_size == 0.01


def test_the_risk_tables_correction_slippage_reaches_the_strategy_parameters(tmp_path):
    assert (
        load_config(write(tmp_path, ""), BacktestConfig).strategy.params().correction_slippage_pct
        == 0.5
    )
    config = load_config(write(tmp_path, "[risk]\ncorrection_slippage_pct = 1.5\n"), BacktestConfig)
    assert config.strategy.params(config.risk).correction_slippage_pct == 1.5
    system = load_config(write(tmp_path, "[risk]\ncorrection_slippage_pct = 0.2\n"), SystemConfig)
    assert system.strategy.params(system.risk).correction_slippage_pct == 0.2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[risk]\ncorrection_slippage_pct = 0\n",
            "risk.correction_slippage_pct: expected a number > 0",
        ),
        ("[risk]\ncorrection_slippage_pct = 8\n", "correction_slippage_pct = 8: a correction"),
        ("[risk]\ncorection_slippage_pct = 1\n", "unknown key 'risk.corection_slippage_pct'"),
        ("[strategy]\nmin_proft_pct = 1\n", "unknown key 'strategy.min_proft_pct'"),
        ("[strategy]\nspot_fee = -0.1\n", "strategy.spot_fee: expected a number >= 0.0"),
        (
            "[strategy]\nfutures_leverage = 0.5\n",
            "strategy.futures_leverage: expected a number >= 1",
        ),
        (
            "[strategy]\nfutures_leverage = 2.5\n",
            "strategy: futures_leverage = 2.5: Gate.io's leverage is a whole number",
        ),
        (
            "[strategy]\nbase_position_size_usdt = 0\n",
            "base_position_size_usdt: expected a number > 0",
        ),
        ("[strategy]\nmax_hours = 'six'\n", "strategy.max_hours: expected a number, got a string"),
        ("[strategy]\norder_type = 'stop'\n", "strategy.order_type: invalid enum value 'stop'"),
        ("[backtest]\nlatency_ms = -5\n", "backtest.latency_ms: expected a number >= 0.0"),
        ("[backtest.spot]\nqty_stp = 1\n", "unknown key 'backtest.spot.qty_stp'"),
        ("strategy = 3\n", "strategy: expected a table, got a whole number"),
        (
            "[strategy]\nfutures_leverage = 5\n",
            "strategy.futures_leverage = 5 puts the short's liquidation price 18.8% above its "
            "entry, inside risk.liquidation_reduce_distance_pct = 30",
        ),
    ],
)
def test_a_bad_value_names_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, BacktestConfig)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_file_that_is_not_toml_says_so(tmp_path):
    path = write(tmp_path, "[strategy\n")
    with pytest.raises(ConfigError, match=r"basis\.toml: not valid TOML"):
        load_config(path, BacktestConfig)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere\.toml: no such file"):
        load_config(tmp_path / "nothere.toml", BacktestConfig)


def test_the_shipped_example_loads():
    example = Path(__file__).parents[3] / "configs" / "backtest.example.toml"
    config = load_config(example, BacktestConfig)
    assert config.backtest.futures.contract_size == 0.0001


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"strategy": {"spot_fee": 0.5}}, "strategy.spot_fee", "expected a number < 0.1, got 0.5"),
        (
            {"strategy": {"max_loss_usdt": "x"}},
            "strategy.max_loss_usdt",
            "expected a number, got a string",
        ),
        (
            {"strategy": {"order_type": "stop"}},
            "strategy.order_type",
            "use one of 'limit', 'market'",
        ),
        (
            {"strategy": {"order_type": 3}},
            "strategy.order_type",
            "expected one of 'limit', 'market', got a whole number",
        ),
        ({"symbols": ["BTC/USDT", 3]}, "symbols[1]", "expected a string, got a whole number"),
        ({"symbols": []}, "", 'symbols: list at least one, like ["BTC/USDT"]'),
        (
            {"venues": {"spot": {"kind": "gateio_futures"}}},
            "venues",
            "venues.spot.kind must be a spot venue: 'mexc'",
        ),
        (
            {"sim": {"spot": {"balances": {"USDT": "a"}}}},
            "sim.spot.balances.USDT",
            "expected a number",
        ),
        (
            {"sim": {"symbols": [{"symbol": {"base": "XRP"}, "start_price": 1}]}},
            "sim.symbols[0].symbol.quote",
            "missing required key 'sim.symbols[0].symbol.quote'",
        ),
        (
            {"sim": {"symbols": [{"start_pric": 1}]}},
            "sim.symbols[0].start_pric",
            "unknown key 'sim.symbols[0].start_pric'",
        ),
        ({"http": {"port": 70000}}, "http.port", "expected a whole number <= 65535, got 70000"),
    ],
)
def test_a_mismatch_names_the_exact_key_and_what_it_should_be(raw, key, message):
    with pytest.raises(Mismatch) as raised:
        convert(raw, SystemConfig)
    assert raised.value.key == key
    assert message in str(raised.value)


def test_what_msgspec_accepts_converts_as_msgspec_converts_it():
    raw = {"symbols": ["SOL/USDT"], "strategy": {"cooldown_s": 2, "max_loss_usdt": 5.0}}
    assert convert(raw, SystemConfig) == msgspec.convert(raw, SystemConfig)


# ------------------------------------------------------- values that can only lose


@pytest.mark.parametrize("kind", [SystemConfig, BacktestConfigFile])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[stratgy]\nmin_profit_pct = 1\n", "unknown key 'stratgy': check its spelling"),
        ("[backtest]\nlatency_ms = 1\n[sim]\nsed = 1\n", "unknown key 'sim.sed'"),
        (
            "[strategy]\nmin_profit_pct = -1\n",
            "strategy: min_profit_pct = -1: P&L % is already net of all four fees, so an exit "
            "at or below 0 % loses money; set it above 0",
        ),
        ("[strategy]\nmin_profit_pct = 0\n", "min_profit_pct = 0: P&L % is already net"),
        (
            "[strategy]\nmax_entry_cost_pct = 5.5\n",
            "strategy: max_entry_cost_pct = 5.5: an entry paying that much for the gap is won "
            "back only if the perpetual later trades as far below spot; set it at most 5",
        ),
        ("[strategy]\nmax_entry_cost_pct = inf\n", "strategy.max_entry_cost_pct: expected a "),
        (
            "[strategy]\nleg_timeout_s = 2\nentry_send_within_s = 3\n",
            "strategy: entry_send_within_s = 3 is longer than leg_timeout_s = 2, by which an "
            "entry's orders are cancelled; set it at most that",
        ),
        ("[strategy]\nentry_send_within_s = 0\n", "strategy.entry_send_within_s: expected a "),
        ("[strategy]\nmin_profit_pct = nan\n", "strategy.min_profit_pct: expected a finite"),
        (
            "[sim.spot.balances]\nUSDT = -inf\n",
            "sim.spot.balances.USDT: expected a finite number, got -inf",
        ),
        (
            "[[sim.symbols]]\nstart_price = inf\n",
            "sim.symbols[0].start_price: expected a finite number, got inf",
        ),
        ("[sim.futures]\nfunding_rate_cap = -0.01\n", "funding_rate_cap must be >= 0"),
        (
            "[[sim.symbols]]\nsymbol = {base = 'BTC', quote = 'USDT'}\nstart_price = 100\n"
            "spot_rules = {qty_step = 0.1, price_tick = 0.1, qty_stp = 1}\n"
            "futures_rules = {contract_size = 1, price_tick = 0.1}\n",
            "unknown key 'sim.symbols[0].spot_rules.qty_stp'",
        ),
        (
            "[[sim.symbols]]\nsymbol = {base = 'BTC', quote = 'USDT', qoute = 'X'}\n"
            "start_price = 100\nspot_rules = {qty_step = 0.1, price_tick = 0.1}\n"
            "futures_rules = {contract_size = 1, price_tick = 0.1}\n",
            "unknown key 'sim.symbols[0].symbol.qoute'",
        ),
        (
            'symbols = ["BTC/USDC", "ETH/USDT"]\n',
            "symbols: paper mode's simulated venues quote USDT pairs only, not BTC/USDC; use "
            "BTC/USDT",
        ),
    ],
)
def test_a_value_that_can_only_lose_or_a_table_no_command_knows_is_refused(
    tmp_path, kind, text, message
):
    if kind is SystemConfig and "[backtest]" in text:
        text = text.replace("[backtest]\nlatency_ms = 1\n", "")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, kind)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_min_profit_pct_is_taken_exactly_when_above_zero(value):
    raw = {"strategy": {"min_profit_pct": value}}
    if value > 0.0:
        assert convert(raw, SystemConfig).strategy.min_profit_pct == value
    else:
        with pytest.raises(Mismatch, match=r"min_profit_pct = .*set it above 0"):
            convert(raw, SystemConfig)


@given(st.floats(-100.0, 100.0))
def test_max_entry_cost_pct_is_taken_exactly_up_to_its_bound(value):
    raw = {"strategy": {"max_entry_cost_pct": value}}
    if value <= MAX_ENTRY_COST_PCT:
        assert convert(raw, SystemConfig).strategy.max_entry_cost_pct == value
    else:
        with pytest.raises(Mismatch, match=f"set it at most {MAX_ENTRY_COST_PCT:g}"):
            convert(raw, SystemConfig)


def test_a_live_config_may_name_other_quotes_and_a_backtest_takes_a_whole_system_config():
    live = convert({"mode": "live", "symbols": ["BTC/USDC"]}, SystemConfig)
    assert live.symbols == ("BTC/USDC",)
    paper = Path(__file__).parents[3] / "configs" / "paper.toml"
    assert (
        load_config(paper, BacktestConfigFile).strategy == load_config(paper, SystemConfig).strategy
    )


@pytest.mark.parametrize("key", ["series_interval_s", "series_full_days"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_the_series_settings_must_be_positive(tmp_path, key, value):
    path = write(tmp_path, f"[persistence]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, SystemConfig)
    assert str(error.value) == f"{path}: persistence.{key}: expected a number > 0.0, got {value}"


def test_the_series_is_sampled_a_second_and_kept_whole_two_days_unless_told(tmp_path):
    assert load_config(write(tmp_path, ""), SystemConfig).persistence.series_interval_s == 1.0
    config = load_config(write(tmp_path, "[persistence]\nseries_full_days = 0.5\n"), SystemConfig)
    assert (config.persistence.series_interval_s, config.persistence.series_full_days) == (1.0, 0.5)


# ------------------------------------------------------- the store and the cluster

CLUSTER = '[persistence]\nbackend = "postgresql"\n[cluster]\nname = "east-1"\ncapacity = 20\n'


def test_the_store_is_sqlite_and_alone_unless_told(tmp_path):
    config = load_config(write(tmp_path, ""), SystemConfig)
    assert (config.persistence.backend, config.persistence.dsn_env) == (
        "sqlite",
        "BASIS_POSTGRES_DSN",
    )
    assert config.cluster is None


def test_a_cluster_renews_four_times_per_lease_unless_told(tmp_path):
    config = load_config(write(tmp_path, CLUSTER), SystemConfig)
    assert config.cluster is not None
    assert (config.cluster.name, config.cluster.capacity) == ("east-1", 20)
    assert (config.cluster.lease_ttl_s, config.cluster.renew_s) == (10.0, 2.5)
    told = load_config(
        write(tmp_path, CLUSTER + "lease_ttl_s = 3\nrenew_every_s = 1\n"), SystemConfig
    )
    assert told.cluster is not None
    assert (told.cluster.lease_ttl_s, told.cluster.renew_s) == (3.0, 1.0)


def test_the_connection_string_is_read_from_the_variable_named(tmp_path):
    text = CLUSTER.replace('"postgresql"\n', '"postgresql"\ndsn_env = "PG_URL"\n')
    assert load_config(write(tmp_path, text), SystemConfig).persistence.dsn_env == "PG_URL"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[cluster]\nname = "east-1"\ncapacity = 20\n',
            "cluster: instances share their symbols through a PostgreSQL store; set "
            '[persistence] backend = "postgresql" (the connection string in '
            "$BASIS_POSTGRES_DSN), or remove [cluster]",
        ),
        (
            '[persistence]\nbackend = "mysql"\n',
            "persistence.backend: invalid enum value 'mysql'; use one of 'postgresql', 'sqlite'",
        ),
        (
            '[persistence]\nbackend = "postgresql"\n[cluster]\ncapacity = 20\n',
            "missing required key 'cluster.name'",
        ),
        (
            '[persistence]\nbackend = "postgresql"\n[cluster]\nname = "east-1"\n',
            "missing required key 'cluster.capacity'",
        ),
        (CLUSTER.replace("20", "0"), "cluster.capacity: expected a whole number >= 1, got 0"),
        (CLUSTER.replace('"east-1"', '"east 1"'), "cluster.name: expected a string matching"),
        (CLUSTER + "lease_ttl_s = 0.5\n", "cluster.lease_ttl_s: expected a number >= 1.0"),
        (CLUSTER + "renew_every_s = 0\n", "cluster.renew_every_s: expected a number > 0.0"),
        (
            CLUSTER + "renew_every_s = 4\n",
            "cluster: renew_every_s = 4: renew at least three times per lease_ttl_s (10 s), so "
            "that a lease outlives two failed renewals; set it to 3.33 or less, or leave it out",
        ),
        (CLUSTER + "lease_tll_s = 5\n", "unknown key 'cluster.lease_tll_s'"),
    ],
)
def test_a_bad_store_or_cluster_setting_names_its_key_and_the_fix(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, SystemConfig)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_connection_string_in_place_of_its_variable_is_refused_without_being_quoted(tmp_path):
    path = write(tmp_path, '[persistence]\ndsn_env = "postgresql://basis:s3cret@db/basis"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path, SystemConfig)
    assert "persistence: dsn_env is not the name of an environment variable" in str(error.value)
    assert "s3cret" not in str(error.value)
