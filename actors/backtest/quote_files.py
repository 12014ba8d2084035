"""Quote files: what ``basis backtest`` reads and ``basis record``/``basis synth`` write.

Two formats with the same fields, quantities in base units, times in Unix milliseconds:

* CSV with the header ``ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty``;
* JSON lines, one object per line with those keys (a file ending ``.jsonl``, or any file
  whose first character is ``{``).

``leg`` is ``spot`` or ``futures``; ``symbol`` is ``BASE/QUOTE``. Either format may be
gzip-compressed (``.gz``). Rows must not go back in time; an empty side is written as
price and quantity 0.

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
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

import msgspec

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
    if leg in LEGS:
        if not (bid >= 0.0 and ask >= 0.0 and bid_qty >= 0.0 and ask_qty >= 0.0):
            return "prices and quantities must be 0 or more"
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
    """An open quote file: iterate for rows; ``size``/``position`` give progress in bytes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as error:
            raise QuoteFileError(f"{self.path}: cannot open it: {error.strerror}") from None
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
        try:
            if self.format == "jsonl":
                yield from self._json_rows()
            else:
                yield from self._csv_rows()
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise QuoteFileError(f"{self.path}: cannot read it: {error}") from None

    def _fail(self, line: int, problem: str) -> QuoteFileError:
        return QuoteFileError(f"{self.path}:{line}: {problem}")

    def _csv_rows(self) -> Iterator[QuoteRow]:
        lines = _prepend(self._first, self._text)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            return
        if tuple(column.strip() for column in header) != HEADER:
            raise self._fail(1, f"the header must be {','.join(HEADER)} (got {','.join(header)})")
        last = -1
        for row in reader:
            if len(row) != 7:
                if not row:
                    continue
                raise self._fail(reader.line_num, f"expected 7 columns, got {len(row)}")
            try:
                ts = int(row[0])
                bid = float(row[3])
                bid_qty = float(row[4])
                ask = float(row[5])
                ask_qty = float(row[6])
            except ValueError as error:
                raise self._fail(reader.line_num, f"not a number: {error}") from None
            leg = row[1]
            if ts < last:
                raise self._fail(
                    reader.line_num, f"ts_ms {ts} goes back in time (the row before has {last})"
                )
            problem = _row_problem(leg, bid, bid_qty, ask, ask_qty)
            if problem is not None:
                raise self._fail(reader.line_num, problem)
            last = ts
            yield ts, leg, row[2], bid, bid_qty, ask, ask_qty

    def _json_rows(self) -> Iterator[QuoteRow]:
        decode = msgspec.json.Decoder(_JsonRow).decode
        last = -1
        for number, line in enumerate(_prepend(self._first, self._text), start=1):
            if not line.strip():
                continue
            try:
                row = decode(line)
            except msgspec.DecodeError as error:
                raise self._fail(number, str(error)) from None
            if row.ts_ms < last:
                raise self._fail(
                    number, f"ts_ms {row.ts_ms} goes back in time (the row before has {last})"
                )
            problem = _row_problem(row.leg, row.bid, row.bid_qty, row.ask, row.ask_qty)
            if problem is not None:
                raise self._fail(number, problem)
            last = row.ts_ms
            yield row.ts_ms, row.leg, row.symbol, row.bid, row.bid_qty, row.ask, row.ask_qty


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
