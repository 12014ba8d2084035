"""The ``[strategy]`` table of a configuration file, validated, and the parameters it
gives the state machine."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.arbitrage.context import FUNDING_CARRY, TASK_TYPE, ArbitrageParams, CarryParams
from actors.risk.config import RiskConfig
from protocols.model import OrderType, Symbol

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Fee = Annotated[float, msgspec.Meta(ge=0.0, lt=0.1)]

MAX_ENTRY_COST_PCT = 5.0
"""The most ``max_entry_cost_pct`` may allow. An entry that pays C % for the gap gets it
back only once the perpetual trades C % (plus the fees and ``min_profit_pct``) below
spot, where funding seldom lets it stay; more than this is a typo or a bet, not this
strategy."""


class StrategyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[strategy]`` table: the parameters in docs/strategy.md, plus operational ones."""

    base_position_size_usdt: Positive = 100.0
    futures_leverage: Annotated[float, msgspec.Meta(ge=1.0, le=125.0)] = 1.0
    max_entry_cost_pct: float = 0.5
    min_profit_pct: float = 0.58
    max_hours: Positive = 6.0
    spot_fee: Fee = 0.0005
    fut_fee: Fee = 0.0005
    max_quote_age_s: Positive = 10.0
    cooldown_s: NonNegative = 0.0
    leg_timeout_s: Positive = 10.0
    entry_send_within_s: Positive = 1.0
    max_correction_attempts: Annotated[int, msgspec.Meta(ge=1)] = 3
    max_loss_usdt: Positive | None = None
    require_non_negative_funding: bool = False
    order_type: Literal["limit", "market"] = "limit"
    funding_aware_entry: bool = False
    planned_hold_h: Positive | None = None
    entry_margin_pct: float = 0.0
    settlement_window_s: NonNegative = 0.0
    settlement_grace_s: NonNegative = 60.0
    funding_half_life_h: Positive = 24.0

    def __post_init__(self) -> None:
        # P&L % is net of all four fees: an exit at 0 % or less is a loss called profit.
        if not self.min_profit_pct > 0.0:
            raise ValueError(
                f"min_profit_pct = {self.min_profit_pct:g}: P&L % is already net of all four "
                "fees, so an exit at or below 0 % loses money; set it above 0 (0.58 by default)"
            )
        if not self.max_entry_cost_pct <= MAX_ENTRY_COST_PCT:
            raise ValueError(
                f"max_entry_cost_pct = {self.max_entry_cost_pct:g}: an entry paying that much "
                "for the gap is won back only if the perpetual later trades as far below "
                f"spot; set it at most {MAX_ENTRY_COST_PCT:g} (0.5 by default)"
            )
        if not self.entry_send_within_s <= self.leg_timeout_s:
            raise ValueError(
                f"entry_send_within_s = {self.entry_send_within_s:g} is longer than "
                f"leg_timeout_s = {self.leg_timeout_s:g}, by which an entry's orders are "
                "cancelled; set it at most that (1 s by default)"
            )
        # Gate.io holds a position's leverage as a whole number: a fraction would be set
        # as something else, or refused, and every entry with it.
        if self.futures_leverage != int(self.futures_leverage):
            raise ValueError(
                f"futures_leverage = {self.futures_leverage:g}: Gate.io's leverage is a whole "
                "number; set it to one (from 1 to 125)"
            )

    def params(self, risk: RiskConfig | None = None) -> ArbitrageParams:
        """The machine's parameters: this table's, and those of ``[risk]`` it applies."""
        risk = risk or RiskConfig()
        return ArbitrageParams(
            max_slippage_pct=risk.max_slippage_pct,
            cycle_stop_loss_pct=risk.cycle_stop_loss_pct,
            max_entry_cost_pct=self.max_entry_cost_pct,
            min_profit_pct=self.min_profit_pct,
            max_hours=self.max_hours,
            spot_fee=self.spot_fee,
            fut_fee=self.fut_fee,
            max_quote_age_s=self.max_quote_age_s,
            cooldown_s=self.cooldown_s,
            leg_timeout_s=self.leg_timeout_s,
            entry_send_within_s=self.entry_send_within_s,
            max_correction_attempts=self.max_correction_attempts,
            max_loss_usdt=self.max_loss_usdt,
            require_non_negative_funding=self.require_non_negative_funding,
            order_type=OrderType(self.order_type),
            correction_slippage_pct=risk.correction_slippage_pct,
            funding_aware_entry=self.funding_aware_entry,
            planned_hold_h=self.planned_hold_h,
            entry_margin_pct=self.entry_margin_pct,
            settlement_window_s=self.settlement_window_s,
            settlement_grace_s=self.settlement_grace_s,
            funding_half_life_h=self.funding_half_life_h,
        )


class FundingCarryConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[funding_carry]`` table: the symbols whose task is ``funding_carry`` rather
    than ``spot_futures_arbitrage``, and its decisions (``CarryParams``; docs/strategy.md,
    "Funding carry"). Everything else (size, fees, timeouts, risk) is ``[strategy]``'s
    and ``[risk]``'s."""

    symbols: tuple[str, ...] = ()
    horizon_h: Positive = 168.0
    margin_pct: float = 0.05
    adverse_hours: NonNegative = 8.0
    basis_stop_pct: Positive = 2.0
    exit_window_s: NonNegative = 900.0

    def __post_init__(self) -> None:
        for text in self.symbols:
            Symbol.parse(text)  # a ValueError names the symbol and the form it should take

    def runs(self, symbol: Symbol) -> bool:
        """``symbol`` is one of ``symbols`` (spelt in any case)."""
        return any(Symbol.parse(text) == symbol for text in self.symbols)

    def carry(self) -> CarryParams:
        return CarryParams(
            horizon_h=self.horizon_h,
            margin_pct=self.margin_pct,
            adverse_hours=self.adverse_hours,
            basis_stop_pct=self.basis_stop_pct,
            exit_window_s=self.exit_window_s,
        )

    def params(self, strategy: StrategyConfig, risk: RiskConfig | None = None) -> ArbitrageParams:
        """``strategy``'s parameters (and those of ``risk`` it applies), with this
        table's carry decisions."""
        return msgspec.structs.replace(strategy.params(risk), carry=self.carry())


def task_type_of(symbol: Symbol, carry: FundingCarryConfig | None) -> str:
    """The task type ``symbol`` runs: ``funding_carry`` when ``[funding_carry]`` lists
    it, ``spot_futures_arbitrage`` otherwise."""
    return FUNDING_CARRY if carry is not None and carry.runs(symbol) else TASK_TYPE


def task_params(
    task_type: str,
    strategy: StrategyConfig,
    risk: RiskConfig | None = None,
    carry: FundingCarryConfig | None = None,
) -> ArbitrageParams:
    """The configured parameters of a task of ``task_type`` (a new one, or one restored,
    whose stored parameters the configured ones replace): ``[strategy]``'s with those of
    ``[risk]`` it applies, and for a carry ``[funding_carry]``'s decisions (their
    defaults without the table)."""
    if task_type == FUNDING_CARRY:
        return (carry or FundingCarryConfig()).params(strategy, risk)
    return strategy.params(risk)
