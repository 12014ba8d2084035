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
* ``funding_settled``: a settlement at ``ts_ms`` (its own time: rows after it are at or
  after the settlement) at the rate ``bid`` on the mark price ``ask`` (0 when not known:
  the backtest takes the futures mid then); ``bid_qty`` and ``ask_qty`` are 0. What a
  position receives or pays is the backtest's to work out, on the short it holds then.

Files without funding rows read as before.

A quote row may also carry the top levels of its book behind the best, best first on
each side, for sizing from the books: in CSV an eighth column ``depth`` (the header
then ends ``,depth``) holding ``BIDS|ASKS``, each side levels ``price:qty`` joined by
``;`` (empty when the row has none); in JSON lines the keys ``bids`` and ``asks``, lists
of ``[price, qty]``. Levels must be positive prices and non-negative quantities, bids
going down and asks going up. Iterating a file gives the seven fields of each row, as
files without depth have; :meth:`QuoteFile.with_depth` gives each row with its depth.
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

from protocols.model import BookDepth, Symbol

HEADER = ("ts_ms", "leg", "symbol", "bid", "bid_qty", "ask", "ask_qty")
DEPTH_HEADER = (*HEADER, "depth")
LEGS = ("spot", "futures")
FUNDING_RATE = "funding_rate"
FUNDING_SETTLED = "funding_settled"
KINDS = (*LEGS, FUNDING_RATE, FUNDING_SETTLED)

QuoteRow = tuple[int, str, str, float, float, float, float]
"""(ts_ms, leg, symbol, bid, bid_qty, ask, ask_qty) as read from a file."""

Level = tuple[float, float]


class QuoteFileError(ValueError):
    """A quote file cannot be read; the message names the file and line."""


def funding_rate_row(
    ts_ms: int, symbol: str, rate: float, interval_s: float, next_ts: float | None
) -> QuoteRow:
    return ts_ms, FUNDING_RATE, symbol, rate, interval_s, next_ts or 0.0, 0.0


def funding_settled_row(
    ts_ms: int, symbol: str, rate: float, mark_price: float | None = None
) -> QuoteRow:
    return ts_ms, FUNDING_SETTLED, symbol, rate, 0.0, mark_price or 0.0, 0.0


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
        if not (abs(bid) < 1.0 and ask >= 0.0):
            return (
                "a funding_settled row gives the rate settled (a fraction, under 1 either way) "
                "and the mark price it was settled on (0 when not known)"
            )
    else:
        return f"leg must be one of {', '.join(KINDS)}, got {leg!r}"
    return None


def _depth_problem(depth: BookDepth) -> str | None:
    """What is wrong with a row's depth levels, or ``None``."""
    for side, levels, down in (("bids", depth.bids, True), ("asks", depth.asks, False)):
        before = None
        for price, qty in levels:
            if not (math.isfinite(price + qty) and price > 0.0 and qty >= 0.0):
                return f"depth {side}: a level is a price above 0 and a quantity of 0 or more"
            if before is not None and (price >= before if down else price <= before):
                way = "down" if down else "up"
                return f"depth {side} must go {way} from the best, level by level"
            before = price
    return None


def format_depth(depth: BookDepth) -> str:
    """A depth as the CSV's ``depth`` column writes it."""
    return "|".join(
        ";".join(f"{price!r}:{qty!r}" for price, qty in side) for side in (depth.bids, depth.asks)
    )


def parse_depth(text: str) -> BookDepth | None:
    """The CSV's ``depth`` column read (``ValueError`` if it is not of its form)."""
    if not text:
        return None
    bids, bar, asks = text.partition("|")
    if not bar:
        raise ValueError("depth is BIDS|ASKS, each side price:qty levels joined by ;")
    return BookDepth(_levels(bids), _levels(asks))


def _levels(text: str) -> tuple[Level, ...]:
    levels = []
    for level in text.split(";") if text else ():
        price, colon, qty = level.partition(":")
        if not colon:
            raise ValueError(f"depth level {level!r} is not price:qty")
        levels.append((float(price), float(qty)))
    return tuple(levels)


class _JsonRow(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    ts_ms: int
    leg: Literal["spot", "futures", "funding_rate", "funding_settled"]
    symbol: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    bids: tuple[Level, ...] | None = None
    asks: tuple[Level, ...] | None = None


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
        for row, _ in self.with_depth():
            yield row

    def with_depth(self) -> Iterator[tuple[QuoteRow, BookDepth | None]]:
        """Each row, checked, with the depth of its book when it has one."""
        parsed = self._json_rows() if self.format == "jsonl" else self._csv_rows()
        last = 0
        symbols: set[str] = set()
        quotes = 0
        try:
            for line, row, depth in parsed:
                ts, leg, symbol, bid, bid_qty, ask, ask_qty = row
                if ts < last:
                    raise self._fail(
                        line,
                        f"ts_ms {ts} goes back in time (the row before has {last})"
                        if ts >= 0
                        else f"ts_ms {ts} is not a time in Unix milliseconds (0 or more)",
                    )
                problem = _row_problem(leg, bid, bid_qty, ask, ask_qty)
                if problem is None and depth is not None:
                    problem = _depth_problem(depth)
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
                yield row, depth
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

    def _csv_rows(self) -> Iterator[tuple[int, QuoteRow, BookDepth | None]]:
        """Each row with its line, its fields parsed."""
        lines = _prepend(self._first, self._text)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            return
        columns = tuple(column.strip() for column in header)
        if columns not in (HEADER, DEPTH_HEADER):
            raise self._fail(
                1,
                f"the header must be {','.join(HEADER)}, with ,depth after it when rows "
                f"carry their book's depth (got {','.join(header)})",
            )
        width = len(columns)
        for row in reader:
            if len(row) != width:
                if not row:
                    continue
                raise self._fail(reader.line_num, f"expected {width} columns, got {len(row)}")
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
            try:
                depth = parse_depth(row[7]) if width == 8 else None
            except ValueError as error:
                raise self._fail(reader.line_num, str(error)) from None
            yield reader.line_num, parsed, depth

    def _json_rows(self) -> Iterator[tuple[int, QuoteRow, BookDepth | None]]:
        """Each row with its line, decoded."""
        decode = msgspec.json.Decoder(_JsonRow).decode
        for number, line in enumerate(_prepend(self._first, self._text), start=1):
            if not line.strip():
                continue
            try:
                row = decode(line)
            except msgspec.DecodeError as error:
                raise self._fail(number, str(error)) from None
            depth = None
            if row.bids is not None or row.asks is not None:
                depth = BookDepth(row.bids or (), row.asks or ())
            yield (
                number,
                (row.ts_ms, row.leg, row.symbol, row.bid, row.bid_qty, row.ask, row.ask_qty),
                depth,
            )


def _prepend(first: str, rest: IO[str]) -> Iterator[str]:
    """The text's lines, given that its first character was already read."""
    head = first + rest.readline()
    if head:
        yield head
    yield from rest


class QuoteFileWriter:
    """Writes quote rows; JSON lines if the name ends ``.jsonl[.gz]``, CSV otherwise.
    A CSV file has the ``depth`` column when ``depth`` is on."""

    def __init__(self, path: str | Path, depth: bool = False) -> None:
        self.path = Path(path)
        name = self.path.name
        opener = gzip.open if name.endswith(".gz") else open
        binary: IO[bytes] = opener(self.path, "wb")
        self._out = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        self._json = name.removesuffix(".gz").endswith(".jsonl")
        self._encode = msgspec.json.Encoder().encode
        self.rows = 0
        self._depth = depth
        if not self._json:
            self._out.write(",".join(DEPTH_HEADER if depth else HEADER) + "\n")

    def write(self, row: QuoteRow, depth: BookDepth | None = None) -> None:
        """Write ``row``, with ``depth`` where the file keeps it (JSON lines, or CSV
        written with ``depth`` on)."""
        ts, leg, symbol, bid, bid_qty, ask, ask_qty = row
        if self._json:
            record = _JsonRow(ts, leg, symbol, bid, bid_qty, ask, ask_qty)  # type: ignore[arg-type]
            if depth is not None:
                record.bids = depth.bids
                record.asks = depth.asks
            self._out.write(self._encode(record).decode() + "\n")
        else:
            line = f"{ts},{leg},{symbol},{bid!r},{bid_qty!r},{ask!r},{ask_qty!r}"
            if self._depth:
                line += "," + (format_depth(depth) if depth is not None else "")
            self._out.write(line + "\n")
        self.rows += 1

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> QuoteFileWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
