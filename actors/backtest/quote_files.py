"""Quote files: what ``basis backtest`` reads and ``basis record``/``basis synth`` write.

Two formats with the same fields, quantities in base units, times in Unix milliseconds:

* CSV with the header ``ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty``;
* JSON lines, one object per line with those keys (a file ending ``.jsonl``, or any file
  whose first character is ``{``).

``leg`` is ``spot`` or ``futures``; ``symbol`` is ``BASE/QUOTE``. Either format may be
gzip-compressed (``.gz``). Rows must not go back in time (several may share a time);
an empty side is written as price and quantity 0.

Reading checks every row and refuses, with the file and the line, what no venue would
show: a price or quantity that is negative, infinite or not a number, a bid above the
ask (a crossed quote: a backtest would take the gap between them as free profit), a
symbol not of the form ``BASE/QUOTE``, a time before 1970 or earlier than the row before.

A file may also carry the perpetual's funding, in rows of the same fields whose ``leg``
says what they are:

* ``funding_rate``: the rate published at ``ts_ms`` (``bid``, longs pay shorts when
  positive), the interval between settlements in seconds (``bid_qty``) and the next
  settlement in Unix seconds (``ask``; 0 when not known); ``ask_qty`` is 0;
* ``funding_settled``: a settlement at ``ts_ms`` at the rate ``bid``; the other three
  are 0. What a position receives or pays is the backtest's to work out, on its own
  short.

Files without funding rows read as before.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

import msgspec

from protocols.model import Symbol

HEADER = ("ts_ms", "leg", "symbol", "bid", "bid_qty", "ask", "ask_qty")
LEGS = ("spot", "futures")
FUNDING_RATE = "funding_rate"
FUNDING_SETTLED = "funding_settled"
KINDS = (*LEGS, FUNDING_RATE, FUNDING_SETTLED)

QuoteRow = tuple[int, str, str, float, float, float, float]
"""(ts_ms, leg, symbol, bid, bid_qty, ask, ask_qty) as read from a file."""


class QuoteFileError(ValueError):
    """A quote file cannot be read; the message names the file and line."""


def funding_rate_row(
    ts_ms: int, symbol: str, rate: float, interval_s: float, next_ts: float | None
) -> QuoteRow:
    return ts_ms, FUNDING_RATE, symbol, rate, interval_s, next_ts or 0.0, 0.0


def funding_settled_row(ts_ms: int, symbol: str, rate: float) -> QuoteRow:
    return ts_ms, FUNDING_SETTLED, symbol, rate, 0.0, 0.0, 0.0


def _row_problem(leg: str, bid: float, bid_qty: float, ask: float, ask_qty: float) -> str | None:
    """What is wrong with a row's values, or ``None``."""
    # One test for all four: a sum of finite numbers overflows only for values no
    # market has.
    if not math.isfinite(bid + bid_qty + ask + ask_qty):
        return "prices and quantities must be finite numbers (no inf or nan)"
    if leg in LEGS:
        if not (bid >= 0.0 and ask >= 0.0 and bid_qty >= 0.0 and ask_qty >= 0.0):
            return "prices and quantities must be 0 or more (0 for an empty side)"
        if bid > ask > 0.0:
            return (
                f"bid {bid!r} is above ask {ask!r}: a crossed quote, which no venue shows; "
                "fix or drop the row"
            )
    elif leg == FUNDING_RATE:
        if not (abs(bid) < 1.0 and bid_qty > 0.0 and ask >= 0.0):
            return (
                "a funding_rate row gives the rate (a fraction, under 1 either way), the "
                "interval in seconds (more than 0) and the next settlement (Unix seconds or 0)"
            )
    elif leg == FUNDING_SETTLED:
        if not abs(bid) < 1.0:
            return "a funding_settled row gives the rate settled (a fraction, under 1 either way)"
    else:
        return f"leg must be one of {', '.join(KINDS)}, got {leg!r}"
    return None


class _JsonRow(msgspec.Struct, forbid_unknown_fields=True):
    ts_ms: int
    leg: Literal["spot", "futures", "funding_rate", "funding_settled"]
    symbol: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float


class QuoteFile:
    """An open quote file: iterate for rows; ``size``/``position`` give progress in bytes,
    ``quotes`` the spot and futures rows read once iterating ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.quotes = 0
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as error:
            raise QuoteFileError(
                f"{self.path}: cannot open it ({error.strerror}); give the path of a quote file "
                "(basis record or basis synth write one)"
            ) from None
        self.size = self.path.stat().st_size
        compressed = self._raw.read(2) == b"\x1f\x8b"
        self._raw.seek(0)
        binary: IO[bytes] = gzip.GzipFile(fileobj=self._raw) if compressed else self._raw
        self._text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            first = self._text.read(1)
        except (OSError, EOFError, UnicodeDecodeError) as error:
            self.close()
            raise QuoteFileError(f"{self.path}: cannot read it: {error}") from None
        self._first = first
        name = self.path.name.removesuffix(".gz")
        self.format = "jsonl" if first == "{" or name.endswith(".jsonl") else "csv"

    @property
    def position(self) -> int:
        """Bytes of the file (compressed, if it is) consumed so far."""
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> QuoteFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[QuoteRow]:
        parsed = self._json_rows() if self.format == "jsonl" else self._csv_rows()
        last = 0
        symbols: set[str] = set()
        quotes = 0
        try:
            for line, row in parsed:
                ts, leg, symbol, bid, bid_qty, ask, ask_qty = row
                if ts < last:
                    raise self._fail(
                        line,
                        f"ts_ms {ts} goes back in time (the row before has {last})"
                        if ts >= 0
                        else f"ts_ms {ts} is not a time in Unix milliseconds (0 or more)",
                    )
                problem = _row_problem(leg, bid, bid_qty, ask, ask_qty)
                if problem is not None:
                    raise self._fail(line, problem)
                if symbol not in symbols:
                    try:
                        Symbol.parse(symbol)
                    except ValueError as error:
                        raise self._fail(line, str(error)) from None
                    symbols.add(symbol)
                if leg in LEGS:
                    quotes += 1
                last = ts
                yield row
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise QuoteFileError(f"{self.path}: cannot read it: {error}") from None
        finally:
            self.quotes += quotes

    def no_quotes(self) -> QuoteFileError:
        """What to say of a file read to its end without a quote in it."""
        return QuoteFileError(
            f"{self.path}: no quotes in it (empty, or only a header or funding rows); "
            "record some with basis record, or make some with basis synth"
        )

    def _fail(self, line: int, problem: str) -> QuoteFileError:
        return QuoteFileError(f"{self.path}:{line}: {problem}")

    def _csv_rows(self) -> Iterator[tuple[int, QuoteRow]]:
        """Each row with its line, its fields parsed."""
        lines = _prepend(self._first, self._text)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            return
        if tuple(column.strip() for column in header) != HEADER:
            raise self._fail(1, f"the header must be {','.join(HEADER)} (got {','.join(header)})")
        for row in reader:
            if len(row) != 7:
                if not row:
                    continue
                raise self._fail(reader.line_num, f"expected 7 columns, got {len(row)}")
            try:
                parsed = (
                    int(row[0]),
                    row[1],
                    row[2],
                    float(row[3]),
                    float(row[4]),
                    float(row[5]),
                    float(row[6]),
                )
            except ValueError as error:
                raise self._fail(reader.line_num, f"not a number: {error}") from None
            yield reader.line_num, parsed

    def _json_rows(self) -> Iterator[tuple[int, QuoteRow]]:
        """Each row with its line, decoded."""
        decode = msgspec.json.Decoder(_JsonRow).decode
        for number, line in enumerate(_prepend(self._first, self._text), start=1):
            if not line.strip():
                continue
            try:
                row = decode(line)
            except msgspec.DecodeError as error:
                raise self._fail(number, str(error)) from None
            yield (
                number,
                (row.ts_ms, row.leg, row.symbol, row.bid, row.bid_qty, row.ask, row.ask_qty),
            )


def _prepend(first: str, rest: IO[str]) -> Iterator[str]:
    """The text's lines, given that its first character was already read."""
    head = first + rest.readline()
    if head:
        yield head
    yield from rest


class QuoteFileWriter:
    """Writes quote rows; JSON lines if the name ends ``.jsonl[.gz]``, CSV otherwise."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        name = self.path.name
        opener = gzip.open if name.endswith(".gz") else open
        binary: IO[bytes] = opener(self.path, "wb")
        self._out = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        self._json = name.removesuffix(".gz").endswith(".jsonl")
        self._encode = msgspec.json.Encoder().encode
        self.rows = 0
        if not self._json:
            self._out.write(",".join(HEADER) + "\n")

    def write(self, row: QuoteRow) -> None:
        ts, leg, symbol, bid, bid_qty, ask, ask_qty = row
        if self._json:
            record = _JsonRow(ts, leg, symbol, bid, bid_qty, ask, ask_qty)  # type: ignore[arg-type]
            self._out.write(self._encode(record).decode() + "\n")
        else:
            self._out.write(f"{ts},{leg},{symbol},{bid!r},{bid_qty!r},{ask!r},{ask_qty!r}\n")
        self.rows += 1

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> QuoteFileWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
