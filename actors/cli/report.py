"""``basis report``: what a store kept, for a window of time: one self-contained HTML page
(``--out``), the summary as JSON (``--json``), the cycles, fills and funding as CSV
(``--csv DIR``). It reads the store (the data directory's SQLite file, or the PostgreSQL
database of ``--config``'s) with a read-only connection of its own, beside running
instances too."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from actors.analytics.exports import CSV_FILES, summary_json, write_csv
from actors.analytics.history import Window, check_history_store, read_history
from actors.analytics.summary import summarize
from actors.cli.args import output_file
from actors.cli.store_args import add_store_arguments, store_named
from actors.cli.user_error import UserError
from actors.runtime.persistence.source import SqliteSource
from actors.runtime.persistence.store import StoreError
from protocols.model import Symbol

DEFAULT_OUT = "report.html"
_UNIX_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def add_report_commands(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="report on what the store kept: an HTML page, the summary as JSON, CSV files",
        description="Read the store in the data directory (of a run, or of a backtest's "
        "--data-dir), or the PostgreSQL database a config keeps its store in (--config), "
        "and report on the cycles that closed in a window of time: P&L "
        "realised and open, fees, funding, volume, drawdown, Sharpe and Sortino, charts. "
        f"Writes {DEFAULT_OUT} unless --json or --csv is given. A time T is a date "
        "(2026-01-31: --from at its start, --to at its end, in UTC), a date-time "
        "(2026-01-31T08:00, in UTC unless it has an offset) or Unix seconds.",
        epilog="Example: basis report --data-dir basis-data --from 2026-01-01 --to "
        "2026-01-31 --symbol BTC/USDT --out january.html",
    )
    add_store_arguments(report)
    report.add_argument(
        "--from",
        dest="start",
        type=window_start,
        metavar="T",
        help="from T (default: the first record)",
    )
    report.add_argument(
        "--to", dest="end", type=window_end, metavar="T", help="up to T (default: the last record)"
    )
    report.add_argument("--symbol", type=symbol_name, metavar="S", help="only S, like BTC/USDT")
    report.add_argument(
        "--out", type=output_file, metavar="FILE", help="write the HTML report to FILE"
    )
    report.add_argument("--json", action="store_true", help="print the summary as JSON")
    report.add_argument(
        "--csv",
        type=csv_directory,
        metavar="DIR",
        help=f"write {', '.join(CSV_FILES)} into DIR (made if missing)",
    )
    report.set_defaults(handler=command_report)


def command_report(args: argparse.Namespace) -> int:
    if args.start is not None and args.end is not None and args.start >= args.end:
        raise UserError(
            f"--from ({_iso(args.start)}) is not before --to ({_iso(args.end)}, the end of "
            "its day when a date); give a --from earlier than --to"
        )
    out = args.out
    if out is None and not args.json and args.csv is None:
        try:
            out = output_file(DEFAULT_OUT)
        except argparse.ArgumentTypeError as error:
            raise UserError(f"--out: {error}") from None
    store = store_named(args)
    if isinstance(store, SqliteSource) and not store.path.is_file():
        raise UserError(
            f"no store at {store.path}; pass --data-dir with the data directory of a run or "
            "a backtest"
        )
    window = Window(args.start, args.end, args.symbol)
    try:
        check_history_store(store)
        history = read_history(store, window)
    except StoreError as error:
        raise UserError(str(error)) from None
    # The page first: it is written whole or not at all, so a page that cannot be
    # written leaves nothing behind, where CSV files written before it would stay.
    try:
        if out is not None:
            # The HTML page and its charts need matplotlib: imported only when asked for.
            from actors.analytics.page import write_page

            write_page(history, Path(out))
            print(f"wrote {out}", file=sys.stderr)
        if args.csv is not None:
            for path in write_csv(history, Path(args.csv)):
                print(f"wrote {path}", file=sys.stderr)
    except OSError as error:
        where = error.filename or out or args.csv
        raise UserError(
            f"cannot write {where}: {error.strerror or error}; name a place this user may write"
        ) from None
    if args.json:
        sys.stdout.write(summary_json(summarize(history)).decode())
    return 0


def window_start(text: str) -> float:
    return _instant(text, end_of_day=False)


def window_end(text: str) -> float:
    return _instant(text, end_of_day=True)


def _instant(text: str, *, end_of_day: bool) -> float:
    """``text`` as Unix seconds: Unix seconds, a date (its start, or with ``end_of_day``
    the next day's start) or an ISO date-time (UTC unless it has an offset)."""
    text = text.strip()
    try:
        if _UNIX_SECONDS.match(text):
            return _in_range(float(text), text)
        if _DATE.match(text):
            day = date.fromisoformat(text) + timedelta(days=1 if end_of_day else 0)
            return _in_range(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp(), text)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        pass
    else:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return _in_range(moment.timestamp(), text)
    raise argparse.ArgumentTypeError(
        f"expected a date (2026-01-31), a date-time (2026-01-31T08:00, UTC unless it has an "
        f"offset like +02:00) or Unix seconds, got {text!r}"
    )


LATEST = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
"""The latest time a report can name (a day later is past the calendar's years)."""


def _in_range(ts: float, text: str) -> float:
    if not 0.0 <= ts <= LATEST:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not between 1970-01-01 and 9999-12-31; give a time in that range"
        )
    return ts


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def symbol_name(text: str) -> str:
    try:
        return str(Symbol.parse(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def csv_directory(text: str) -> str:
    """A directory to write the CSV files into: made if missing, refused if a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; name a directory for the CSV files")
    if not path.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot make {text}: {path.parent} is not a directory; create it, or name a "
            "directory elsewhere"
        )
    return text
