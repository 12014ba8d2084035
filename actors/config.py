"""Configuration files: TOML read into typed structs, with errors that name file and key.

A config file is validated whole at load time: an unknown key, a wrong type or an
impossible value (a negative size, leverage below 1, ...) is a :class:`ConfigError` that
says which file, which key, and what is expected. Nothing is half-loaded.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

from actors.arbitrage.context import ArbitrageParams
from protocols.model import OrderType

T = TypeVar("T")

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Fee = Annotated[float, msgspec.Meta(ge=0.0, lt=0.1)]


class ConfigError(Exception):
    """A configuration file is missing, not TOML, or does not fit its schema."""


class StrategyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[strategy]`` table: SPEC §1's parameter names, plus the operational ones."""

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


def load_config(path: str | Path, kind: type[T]) -> T:
    """Read ``path`` as TOML into ``kind``; any problem is a :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it: {error}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{path}: {explain(error)}") from None


_TYPE_WORDS = {
    "`float`": "a number",
    "`int`": "a whole number",
    "`str`": "a string",
    "`bool`": "true or false",
    "`array`": "a list",
    "`object`": "a table",
    "`null`": "nothing",
}


def explain(error: msgspec.ValidationError) -> str:
    """msgspec's validation message, phrased with TOML keys (``strategy.spot_fee``)."""
    message, _, where = str(error).partition(" - at `$")
    where = where.rstrip("`").lstrip(".")
    unknown = re.match(r"Object contains unknown field `(.+)`", message)
    if unknown:
        key = f"{where}.{unknown.group(1)}" if where else unknown.group(1)
        return f"unknown key {key!r}: check its spelling, or remove it"
    missing = re.match(r"Object missing required field `(.+)`", message)
    if missing:
        key = f"{where}.{missing.group(1)}" if where else missing.group(1)
        return f"missing required key {key!r}"
    for word, plain in _TYPE_WORDS.items():
        message = message.replace(word, plain)
    message = message[0].lower() + message[1:]
    return f"{where}: {message}" if where else message
