"""Number reading and writing shared by the venue codecs.

Venues send numbers as JSON numbers in some messages and as decimal strings in others
(sometimes ``""`` for "nothing"), so every reader here accepts both and names the field
when a value is unusable. Writers print decimals the way venues expect them: no exponent,
no trailing zeros.
"""

from __future__ import annotations

from decimal import Decimal


class WireFormatError(ValueError):
    """A value in a venue message could not be read; the message names the field."""


def number(value: float | str, field: str) -> float:
    """``value`` as a float; ``""`` is 0.0 (venues write an empty side or an absent
    amount that way). Anything else that is not a decimal names ``field``."""
    if isinstance(value, str):
        if value == "":
            return 0.0
        try:
            return float(value)
        except ValueError:
            raise WireFormatError(f"{field} {value!r} is not a number") from None
    return float(value)


def integer(value: int | str, field: str) -> int:
    """``value`` as an int (versions and ids travel as strings or numbers)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise WireFormatError(f"{field} {value!r} is not an integer") from None
    return value


_DECIMAL_TEXTS: dict[float, str] = {}
_DECIMAL_TEXTS_KEPT = 1 << 16
"""Prices sit on a tick grid and quantities on a lot grid, so the same few values are
printed over and over: their texts are kept (the memo starts over when full)."""


def decimal(value: float) -> str:
    """``value`` printed as a plain decimal (``1``, ``0.0001``, ``50000.5``): the
    shortest text that reads back as the same float, never in exponent form."""
    text = _DECIMAL_TEXTS.get(value)
    if text is None:
        text = _decimal_text(value)
        if len(_DECIMAL_TEXTS) >= _DECIMAL_TEXTS_KEPT:
            _DECIMAL_TEXTS.clear()
        _DECIMAL_TEXTS[value] = text
    return text


def _decimal_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        # repr switches to exponent form below 1e-4: the same shortest digits, written
        # out in plain form.
        text = format(Decimal(text), "f")
    return text


def decimals_of(value: float) -> int:
    """How many decimals ``value`` has as ``decimal`` prints it."""
    text = decimal(value)
    return len(text.split(".")[1]) if "." in text else 0


def exact_product(a: float, b: float) -> float:
    """``a * b`` without the float noise of the multiplication (``0.000323 * 65001.25``
    is ``20.99540375``, not ``20.995403749999998``): the exact product of two decimals
    has no more decimals than the two have together."""
    return round(a * b, decimals_of(a) + decimals_of(b))


def exact_difference(a: float, b: float) -> float:
    """``a - b`` without the float noise of the subtraction (``65014.79 - 65002.24`` is
    ``12.55``, not ``12.55000000000291``): no more decimals than the more precise of
    the two has."""
    return round(a - b, max(decimals_of(a), decimals_of(b)))
