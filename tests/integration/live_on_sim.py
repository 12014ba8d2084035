"""A live config whose venues are a separately running ``basis sim`` (its URLs as it
printed them), with the simulated venues' made-up keys in the environment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from actors.venues.kinds import venue_of_kind


def live_config(
    path: Path,
    urls: dict,
    symbols: Sequence[str] = ("BTC/USDT",),
    strategy: str = "",
    futures: str = "",
    tail: str = "",
    pair: tuple[str, str] = ("mexc", "gateio_futures"),
) -> Path:
    """Writes the config to ``path``: ``strategy`` and ``futures`` are lines added to
    those tables, ``tail`` tables after them; the venues are ``pair``'s kinds (spot,
    futures), at their simulated twins in ``urls``."""
    spot_name, futures_name = (venue_of_kind(kind).exchange for kind in pair)
    path.write_text(
        f"""mode = "live"
symbols = {json.dumps(list(symbols))}
[venues.spot]
kind = "{pair[0]}"
rest_url = "{urls[f"{spot_name}_rest"]}"
ws_url = "{urls[f"{spot_name}_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
[venues.futures]
kind = "{pair[1]}"
rest_url = "{urls[f"{futures_name}_rest"]}"
ws_url = "{urls[f"{futures_name}_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
{futures}
[strategy]
base_position_size_usdt = 200.0
{strategy}
{tail}"""
    )
    return path
