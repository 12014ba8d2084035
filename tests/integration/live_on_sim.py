"""A live config whose venues are a separately running ``basis sim`` (its URLs as it
printed them), with the simulated venues' made-up keys in the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
    pairs: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Writes the config to ``path``: ``strategy`` and ``futures`` are lines added to
    those tables, ``tail`` tables after them; ``pair`` the kinds of the spot and futures
    venues, as ``basis sim --pair`` serves them; ``pairs``: symbols that trade at pairs of
    their own (kinds by symbol, as ``basis sim --config`` serves them)."""
    others = [
        f"""[[venues.pairs]]
symbols = {json.dumps([symbol])}
[venues.pairs.spot]
{venue_lines(urls, pair_of_symbol[0])}
[venues.pairs.futures]
{venue_lines(urls, pair_of_symbol[1])}
"""
        for symbol, pair_of_symbol in (pairs or {}).items()
    ]
    path.write_text(
        f"""mode = "live"
symbols = {json.dumps(list(symbols))}
[venues.spot]
{venue_lines(urls, pair[0])}
[venues.futures]
{venue_lines(urls, pair[1])}
{futures}
{"".join(others)}
[strategy]
base_position_size_usdt = 200.0
{strategy}
{tail}"""
    )
    return path


def venue_lines(urls: dict, kind: str) -> str:
    """A venue table's lines: ``kind`` at its simulated twin's URLs, with the sim's keys."""
    rest, ws = (urls[f"{venue_of_kind(kind).exchange}_{end}"] for end in ("rest", "ws"))
    return "\n".join(
        (
            f'kind = "{kind}"',
            f'rest_url = "{rest}"',
            f'ws_url = "{ws}"',
            'api_key_env = "BASIS_SIM_KEY"',
            'api_secret_env = "BASIS_SIM_SECRET"',
        )
    )
