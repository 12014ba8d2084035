"""Argument types the ``basis`` subcommands share, each naming what it expected."""

from __future__ import annotations

import argparse


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


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
