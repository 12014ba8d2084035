"""The ``[risk]`` table of a configuration file, validated like ``[strategy]``."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_CORRECTION_SLIPPAGE_PCT = 5.0
"""The most ``correction_slippage_pct`` may allow: past it a correction is a market
order by another name, trading wherever a thin book lets it."""


class RiskConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[risk]`` table.

    ``correction_slippage_pct``: how far past the best price (in % of it) an order that
    corrects or flattens legs that differ may trade; it is a limit IOC at that price."""

    correction_slippage_pct: Annotated[float, msgspec.Meta(gt=0.0)] = 0.5

    def __post_init__(self) -> None:
        if not self.correction_slippage_pct <= MAX_CORRECTION_SLIPPAGE_PCT:
            raise ValueError(
                f"correction_slippage_pct = {self.correction_slippage_pct:g}: a correction "
                f"priced that far past the best price is a market order by another name; "
                f"set it at most {MAX_CORRECTION_SLIPPAGE_PCT:g} (0.5 by default)"
            )
