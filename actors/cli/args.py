"""Argument types the ``basis`` subcommands share, each naming what it expected."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    value = _number(text, "a number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def non_negative_ms(text: str) -> float:
    value = _number(text, "a number of milliseconds")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more milliseconds, got {text!r}")
    return value


def non_negative_rate(text: str) -> float:
    value = _number(text, "a number per hour")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more per hour, got {text!r}")
    return value


def symbol_list(text: str) -> list[str]:
    symbols = [part.strip().upper() for part in text.split(",") if part.strip()]
    for symbol in symbols:
        base, slash, quote = symbol.partition("/")
        if not (slash and base.isalnum() and quote.isalnum()):
            raise argparse.ArgumentTypeError(
                f"expected symbols like BTC/USDT,ETH/USDT, got {symbol!r}"
            )
    if not symbols:
        raise argparse.ArgumentTypeError("expected at least one symbol, like BTC/USDT")
    twice = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(twice)} listed twice; list each once")
    return symbols


def usdt_symbol_list(text: str) -> list[str]:
    """Symbols of the simulated market, which quotes USDT pairs only."""
    symbols = symbol_list(text)
    other = [symbol for symbol in symbols if not symbol.endswith("/USDT")]
    if other:
        raise argparse.ArgumentTypeError(
            f"the simulated market quotes USDT pairs only, not {', '.join(other)}; use "
            f"{other[0].partition('/')[0]}/USDT"
        )
    return symbols


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"expected a port number 0-65535 (0: any free), got {text!r}"
        )
    return port


def positive_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return count


def output_file(text: str) -> str:
    """A file to write, checked before anything runs: its directory exists and this user
    may write there, and it is no directory itself."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; name a file to write")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {text}: {path.parent} is not a directory; create it, or name a "
            "file elsewhere"
        )
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(
            f"cannot write {text}: this user may not write there; name a file elsewhere"
        )
    return text


def unix_ms(text: str) -> int:
    try:
        ms = int(text)
    except ValueError:
        ms = -1
    if ms < 0:
        raise argparse.ArgumentTypeError(
            f"expected a time in Unix milliseconds (0 or more), got {text!r}"
        )
    return ms
