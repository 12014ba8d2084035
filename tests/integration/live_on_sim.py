"""A live config whose venues are a separately running ``basis sim`` (its URLs as it
printed them), with the simulated venues' made-up keys in the environment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def live_config(
    path: Path,
    urls: dict,
    symbols: Sequence[str] = ("BTC/USDT",),
    strategy: str = "",
    futures: str = "",
    tail: str = "",
) -> Path:
    """Writes the config to ``path``: ``strategy`` and ``futures`` are lines added to
    those tables, ``tail`` tables after them."""
    path.write_text(
        f"""mode = "live"
symbols = {json.dumps(list(symbols))}
[venues.spot]
kind = "mexc"
rest_url = "{urls["mexc_rest"]}"
ws_url = "{urls["mexc_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
[venues.futures]
kind = "gateio_futures"
rest_url = "{urls["gateio_rest"]}"
ws_url = "{urls["gateio_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
{futures}
[strategy]
base_position_size_usdt = 200.0
{strategy}
{tail}"""
    )
    return path
