"""The funding-aware options and the ``[funding_carry]`` table reach the machine's
parameters; a carry task's context is made and stored like any other, and a record
from before any of this loads unchanged."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.config import (
    FundingCarryConfig,
    StrategyConfig,
    task_params,
    task_type_of,
)
from actors.arbitrage.context import (
    FUNDING_CARRY,
    TASK_TYPE,
    ArbitrageContext,
    ArbitrageParams,
    CarryParams,
    FundingHistory,
    new_context,
)
from actors.risk.config import RiskConfig
from protocols.model import Symbol

BTC = Symbol("BTC", "USDT")
FUNDING_OPTIONS = (
    "funding_aware_entry",
    "planned_hold_h",
    "entry_margin_pct",
    "settlement_window_s",
    "settlement_grace_s",
    "funding_half_life_h",
    "carry",
)


def test_the_funding_aware_options_are_off_by_default_and_reach_the_parameters():
    defaults = StrategyConfig().params()
    for name in FUNDING_OPTIONS:
        assert getattr(defaults, name) == getattr(ArbitrageParams(), name)
    assert not defaults.funding_aware_entry
    assert defaults.settlement_window_s == 0.0
    params = StrategyConfig(
        funding_aware_entry=True,
        planned_hold_h=24.0,
        entry_margin_pct=0.1,
        settlement_window_s=600.0,
        settlement_grace_s=30.0,
        funding_half_life_h=48.0,
    ).params()
    assert params.funding_aware_entry
    assert (params.planned_hold_h, params.entry_margin_pct) == (24.0, 0.1)
    assert (params.settlement_window_s, params.settlement_grace_s) == (600.0, 30.0)
    assert params.funding_half_life_h == 48.0
    assert params.carry is None


def test_the_carry_table_keeps_the_strategys_parameters_and_sets_its_own():
    strategy = StrategyConfig(max_hours=3.0, spot_fee=0.001)
    risk = RiskConfig(max_slippage_pct=0.2)
    table = msgspec.convert(
        {"symbols": ["ETH/USDT"], "horizon_h": 72.0, "margin_pct": 0.1, "adverse_hours": 4.0},
        FundingCarryConfig,
    )
    params = table.params(strategy, risk)
    assert table.symbols == ("ETH/USDT",)
    assert params.carry == CarryParams(horizon_h=72.0, margin_pct=0.1, adverse_hours=4.0)
    assert msgspec.structs.replace(params, carry=None) == strategy.params(risk)
    assert FundingCarryConfig().params(StrategyConfig()).carry == CarryParams()


@pytest.mark.parametrize(
    "table",
    [{"horizon_h": 0.0}, {"basis_stop_pct": -1.0}, {"adverse_hours": -1.0}, {"colour": 1}],
)
def test_a_bad_carry_value_is_refused(table):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(table, FundingCarryConfig)


def test_a_carry_context_is_made_and_round_trips_by_its_type():
    ctx = new_context("c1", BTC, now=1.0, task_type=FUNDING_CARRY)
    assert ctx.task_type == FUNDING_CARRY
    again = msgspec.json.decode(msgspec.json.encode(ctx), type=ArbitrageContext)
    assert again == ctx
    assert new_context("a1", BTC, now=1.0).task_type == TASK_TYPE
    with pytest.raises(ValueError, match="task type 'carry'"):
        new_context("c1", BTC, now=1.0, task_type="carry")


def test_a_record_from_before_the_funding_fields_loads_with_their_defaults():
    ctx = new_context("a1", BTC, now=1.0)
    raw = msgspec.to_builtins(ctx)
    for name in ("funding_history", "funding_adverse_since", "settlement_wait"):
        del raw[name]
    for name in FUNDING_OPTIONS:
        del raw["params"][name]
    loaded = msgspec.json.decode(msgspec.json.encode(raw), type=ArbitrageContext)
    assert loaded == ctx
    assert loaded.funding_history == FundingHistory()


def test_each_symbol_gets_its_task_type_and_each_task_type_its_parameters():
    carry = FundingCarryConfig(symbols=("eth/usdt",), horizon_h=24.0)
    eth, btc = Symbol("ETH", "USDT"), BTC
    assert task_type_of(eth, carry) == FUNDING_CARRY
    assert task_type_of(btc, carry) == TASK_TYPE
    assert task_type_of(eth, None) == TASK_TYPE
    strategy, risk = StrategyConfig(max_hours=2.0), RiskConfig()
    assert task_params(TASK_TYPE, strategy, risk, carry) == strategy.params(risk)
    assert task_params(FUNDING_CARRY, strategy, risk, carry) == carry.params(strategy, risk)
    # A carry restored after its table was removed keeps deciding as a carry.
    assert task_params(FUNDING_CARRY, strategy, risk, None).carry == CarryParams()
