"""The [risk] table: careful defaults, values that reach the machine and the feeds,
and a bad value refused naming the key and the fix."""

from __future__ import annotations

import pytest

from actors.config_files import ConfigError, load_config
from actors.risk.config import RiskConfig
from actors.system_config import SystemConfig


def write(tmp_path, text):
    path = tmp_path / "basis.toml"
    path.write_text(text)
    return path


def test_absent_keys_take_the_careful_defaults(tmp_path):
    config = load_config(write(tmp_path, ""), SystemConfig)
    assert config.risk == RiskConfig()
    risk = config.risk
    assert (risk.max_slippage_pct, risk.book_levels) == (0.1, 10)
    assert (risk.max_symbol_notional_usdt, risk.max_venue_notional_usdt) == (1000.0, 5000.0)
    assert (risk.max_total_notional_usdt, risk.cycle_stop_loss_pct) == (10000.0, 2.0)
    assert (risk.daily_loss_limit_usdt, risk.max_drawdown_usdt) == (100.0, 200.0)
    params = config.strategy.params(config.risk)
    assert (params.max_slippage_pct, params.cycle_stop_loss_pct) == (0.1, 2.0)


def test_values_reach_the_strategy_and_a_stop_can_be_turned_off(tmp_path):
    text = "[risk]\nmax_slippage_pct = 0.25\ncycle_stop_loss_pct = 3\nmax_drawdown_usdt = 500\n"
    config = load_config(write(tmp_path, text), SystemConfig)
    params = config.strategy.params(config.risk)
    assert (params.max_slippage_pct, params.cycle_stop_loss_pct) == (0.25, 3.0)
    assert config.risk.max_drawdown_usdt == 500.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk]\nmax_slipage_pct = 1\n", "unknown key 'risk.max_slipage_pct'"),
        ("[risk]\nmax_slippage_pct = 0\n", "risk.max_slippage_pct: expected a number > 0.0"),
        ("[risk]\nbook_levels = 0\n", "risk.book_levels: expected a whole number >= 1"),
        (
            "[risk]\nmax_total_notional_usdt = -5\n",
            "risk.max_total_notional_usdt: expected a number > 0.0",
        ),
        (
            "[risk]\nliquidation_reduce_fraction = 1.5\n",
            "risk.liquidation_reduce_fraction: expected a number < 1.0",
        ),
        (
            "[risk]\nliquidation_exit_distance_pct = 40\n",
            "liquidation_exit_distance_pct = 40 is not below liquidation_reduce_distance_pct = 30",
        ),
        (
            "[risk]\nmax_symbol_notional_usdt = 20000\n",
            "max_symbol_notional_usdt = 20000 is above max_total_notional_usdt = 10000",
        ),
        (
            "[risk]\nmax_venue_notional_usdt = 20000\n",
            "max_venue_notional_usdt = 20000 is above max_total_notional_usdt = 10000",
        ),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, SystemConfig)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)
