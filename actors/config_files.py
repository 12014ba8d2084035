"""Configuration files: TOML read into typed structs, with errors that name file and key.

A config file is validated whole at load time: an unknown key, a wrong type or an
impossible value (a negative size, leverage below 1, ...) is a :class:`ConfigError` that
says which file, which key, and what is expected. Nothing is half-loaded.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TypeVar

import msgspec

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration file is missing, not TOML, or does not fit its schema."""


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
