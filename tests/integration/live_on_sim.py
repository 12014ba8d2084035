"""A live config whose venues are a separately running ``basis sim`` (its URLs as it
printed them), with the simulated venues' made-up keys in the environment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from actors.venues.kinds import futures_venue, spot_venue


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
    those tables, ``tail`` tables after them; ``pair`` the kinds of the spot and futures
    venues, as ``basis sim --pair`` serves them."""
    spot_rest, spot_ws = (urls[f"{spot_venue(pair[0]).exchange}_{end}"] for end in ("rest", "ws"))
    futures_rest, futures_ws = (
        urls[f"{futures_venue(pair[1]).exchange}_{end}"] for end in ("rest", "ws")
    )
    path.write_text(
        f"""mode = "live"
symbols = {json.dumps(list(symbols))}
[venues.spot]
kind = "{pair[0]}"
rest_url = "{spot_rest}"
ws_url = "{spot_ws}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
[venues.futures]
kind = "{pair[1]}"
rest_url = "{futures_rest}"
ws_url = "{futures_ws}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
{futures}
[strategy]
base_position_size_usdt = 200.0
{strategy}
{tail}"""
    )
    return path
