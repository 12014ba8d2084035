"""The ``[strategy]`` table of a configuration file, validated, and the parameters it
gives the state machine."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.arbitrage.context import ArbitrageParams
from protocols.model import OrderType

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Fee = Annotated[float, msgspec.Meta(ge=0.0, lt=0.1)]


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
    max_correction_attempts: Annotated[int, msgspec.Meta(ge=1)] = 3
    max_loss_usdt: Positive | None = None
    require_non_negative_funding: bool = False
    order_type: Literal["limit", "market"] = "limit"

    def __post_init__(self) -> None:
        # Gate.io holds a position's leverage as a whole number: a fraction would be set
        # as something else, or refused, and every entry with it.
        if self.futures_leverage != int(self.futures_leverage):
            raise ValueError(
                f"futures_leverage = {self.futures_leverage:g}: Gate.io's leverage is a whole "
                "number; set it to one (from 1 to 125)"
            )

    def params(self) -> ArbitrageParams:
        return ArbitrageParams(
            max_entry_cost_pct=self.max_entry_cost_pct,
            min_profit_pct=self.min_profit_pct,
            max_hours=self.max_hours,
            spot_fee=self.spot_fee,
            fut_fee=self.fut_fee,
            max_quote_age_s=self.max_quote_age_s,
            cooldown_s=self.cooldown_s,
            leg_timeout_s=self.leg_timeout_s,
            max_correction_attempts=self.max_correction_attempts,
            max_loss_usdt=self.max_loss_usdt,
            require_non_negative_funding=self.require_non_negative_funding,
            order_type=OrderType(self.order_type),
        )
