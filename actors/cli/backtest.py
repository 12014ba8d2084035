"""``basis backtest`` and ``basis synth``: recorded or synthetic quotes through the machine."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import attrs
import msgspec

from actors.backtest.engine import (
    BacktestConfig,
    BacktestResult,
    BacktestSection,
    HistorySink,
    run_backtest,
)
from actors.backtest.quote_files import QuoteFileError, QuoteFileWriter
from actors.backtest.report import render_table, to_json, write_trades_csv
from actors.cli.args import (
    non_negative_ms,
    non_negative_rate,
    output_file,
    positive_seconds,
    unix_ms,
    usdt_symbol_list,
)
from actors.cli.progress import ProgressBar
from actors.cli.synth import DEFAULT_SYMBOL_NAMES, funding_mean, funding_vol, synthesize
from actors.cli.user_error import UserError
from actors.config_files import ConfigError, load_config
from actors.runtime.persistence.store import Store
from actors.runtime.persistence.writer import snapshot_record
from actors.runtime.system import STORE_FILE
from actors.system_config import SystemConfig
from protocols.history import HistoryRecord
from protocols.messages import TradeRecord

EXIT_BAD_INPUT = 2


class BacktestConfigFile(SystemConfig, frozen=True, forbid_unknown_fields=True):
    """A config file as ``basis backtest`` reads it: ``[strategy]`` and ``[backtest]``,
    and the system's other tables, so that the file a system runs on can be backtested
    as it is. Validated whole, like every config: a table or key of no command's is
    refused."""

    backtest: BacktestSection = BacktestSection()


def add_backtest_commands(commands: argparse._SubParsersAction) -> None:
    backtest = commands.add_parser(
        "backtest",
        help="run recorded quotes through the strategy and report the cycles",
        description="Run a quote file (CSV or JSON lines, optionally .gz) through the same "
        "state machine that trades live, with perfect fills unless told otherwise.",
        epilog="Example: basis backtest tests/data/sample_quotes.csv "
        "--config configs/backtest.example.toml --json",
    )
    backtest.add_argument("data", metavar="DATA", help="quote file: ts_ms,leg,symbol,bid,...")
    backtest.add_argument(
        "--config", metavar="FILE", help="TOML with [strategy] and [backtest] tables"
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object")
    backtest.add_argument(
        "--trades-csv", type=output_file, metavar="OUT", help="also write every trade to OUT"
    )
    backtest.add_argument(
        "--latency-ms",
        type=non_negative_ms,
        metavar="MS",
        help="fill MS after the decision, at the quotes then (overrides the config)",
    )
    backtest.add_argument(
        "--partial-fills",
        action="store_true",
        help="fill no more than the visible size (overrides the config)",
    )
    backtest.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"keep the history (cycles, fills, funding, the series) in DIR/{STORE_FILE}, "
        "a new store that basis report reads",
    )
    backtest.add_argument(
        "--report",
        type=output_file,
        metavar="OUT",
        help="also write the HTML report of the run to OUT",
    )
    backtest.set_defaults(handler=command_backtest)

    synth = commands.add_parser(
        "synth",
        help="write a synthetic quote file to try the backtester with",
        description="Write spot and futures quotes from the simulated venues' price "
        "process: a random walk with a mean-reverting gap and occasional dislocations.",
        epilog="Example: basis synth quotes.csv.gz --duration 86400 --seed 7",
    )
    synth.add_argument(
        "out", type=output_file, metavar="OUT", help="file to write (.csv, .jsonl, either .gz)"
    )
    synth.add_argument(
        "--duration", type=positive_seconds, default=3600.0, metavar="S", help="default 3600"
    )
    synth.add_argument(
        "--interval",
        type=positive_seconds,
        default=1.0,
        metavar="S",
        help="seconds between quotes per symbol and leg (default 1)",
    )
    synth.add_argument(
        "--symbols",
        type=usdt_symbol_list,
        default=list(DEFAULT_SYMBOL_NAMES),
        metavar="LIST",
        help="comma-separated (default BTC/USDT,ETH/USDT,SOL/USDT)",
    )
    synth.add_argument(
        "--dislocations-per-hour",
        type=non_negative_rate,
        metavar="N",
        help="how often the perpetual jumps away from spot (default: the simulated venues')",
    )
    synth.add_argument(
        "--funding-interval",
        type=positive_seconds,
        metavar="S",
        help="seconds between funding settlements (default: each symbol's: BTC 8 h, ETH 4 h, "
        "SOL 1 h, others 8 h)",
    )
    synth.add_argument(
        "--funding-mean",
        type=funding_mean,
        metavar="F",
        help="long-run mean of the premium funding follows, a fraction of the price "
        "(default: each symbol's, 0.0001: 0.01 %% per 8 h)",
    )
    synth.add_argument(
        "--funding-vol",
        type=funding_vol,
        metavar="F",
        help="its stationary spread, a fraction of the price (default: each symbol's, "
        "0.0004 to 0.0006); the wider, the more often rates turn negative",
    )
    synth.add_argument(
        "--funding-half-life",
        type=positive_seconds,
        metavar="S",
        help="seconds it takes to halve its distance to the mean (default: each symbol's, "
        "1.5 to 2 days)",
    )
    synth.add_argument("--seed", type=int, default=1, help="default 1")
    synth.add_argument(
        "--start-ms",
        type=unix_ms,
        default=1_700_000_000_000,
        metavar="MS",
        help="timestamp of the first quote, Unix milliseconds",
    )
    synth.set_defaults(handler=command_synth)


def _config(args: argparse.Namespace) -> BacktestConfig:
    config = BacktestConfig()
    if args.config:
        file = load_config(args.config, BacktestConfigFile)
        config = BacktestConfig(file.strategy, file.backtest, file.risk, file.funding_carry)
    section = config.backtest
    if args.latency_ms is not None:
        section = msgspec.structs.replace(section, latency_ms=args.latency_ms)
    if args.partial_fills:
        section = msgspec.structs.replace(section, partial_fills=True)
    return msgspec.structs.replace(config, backtest=section)


HISTORY_BATCH = 10_000
"""History records written to a backtest's store per transaction."""


@attrs.define
class StoreSink:
    """A backtest's history into a store: records gathered and written in batches."""

    store: Store
    pending: list[TradeRecord | HistoryRecord] = attrs.field(factory=list)

    def put(self, record: TradeRecord | HistoryRecord) -> None:
        self.pending.append(record)
        if len(self.pending) >= HISTORY_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.write_batch((), (), (), self.pending)
            self.pending = []


def _new_store_dir(text: str) -> Path:
    """``--data-dir``: a directory that holds no store yet (it may not exist)."""
    target = Path(text)
    if target.exists() and not target.is_dir():
        raise UserError(f"--data-dir {text} is a file; name a directory")
    if (target / STORE_FILE).exists():
        raise UserError(
            f"--data-dir {text} already holds a store ({target / STORE_FILE}); a backtest "
            "writes a new one: name another directory, or remove that one"
        )
    if not os.access(_nearest_directory(target), os.W_OK):
        raise UserError(f"--data-dir {text}: this user may not write there; name another")
    return target


def _nearest_directory(path: Path) -> Path:
    """``path``, or the nearest of its parents that exists: where a scratch directory
    is on the same file system as ``path`` will be."""
    path = path.absolute()
    while not path.is_dir():
        path = path.parent
    return path


def command_backtest(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
    except ConfigError as error:
        print(f"basis backtest: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    target = None if args.data_dir is None else _new_store_dir(args.data_dir)
    if target is None and args.report is None:
        result = _run(args, config, None)
    else:
        result = _run_keeping_history(args, config, target)
    if result is None:
        return EXIT_BAD_INPUT
    if args.trades_csv:
        try:
            write_trades_csv(result, args.trades_csv)
        except OSError as error:
            print(f"basis backtest: cannot write {args.trades_csv}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.json:
        sys.stdout.buffer.write(to_json(result) + b"\n")
    else:
        print(render_table(result))
    return 0


def _run(
    args: argparse.Namespace, config: BacktestConfig, history: HistorySink | None
) -> BacktestResult | None:
    """The backtest, with a progress bar; ``None`` when the quote file is refused (said
    on stderr)."""
    bar = ProgressBar("backtest")

    def progress(events: int, done: int, total: int) -> None:
        bar.update(done, total, f"{events:,} events")

    try:
        return run_backtest(args.data, config, progress, history)
    except QuoteFileError as error:
        print(f"basis backtest: {error}", file=sys.stderr)
        return None
    finally:
        bar.close()


def _run_keeping_history(
    args: argparse.Namespace, config: BacktestConfig, target: Path | None
) -> BacktestResult | None:
    """The backtest with its history in a store: ``target``'s, or a scratch one for the
    report only. The store is written beside its place and moved there once the
    backtest is done, so a backtest that fails (a bad quote file) leaves nothing."""
    scratch_in = None if target is None else _nearest_directory(target)
    with tempfile.TemporaryDirectory(prefix=".basis-backtest-", dir=scratch_in) as scratch:
        store_path = Path(scratch) / STORE_FILE
        with Store(store_path) as store:
            store.mark_backtest()
            sink = StoreSink(store)
            result = _run(args, config, sink.put)
            if result is None:
                return None
            sink.flush()
            # The strategies as the data left them: their settings, an open position.
            store.write_batch([snapshot_record(ctx) for ctx in result.contexts], (), ())
        if args.report is not None:
            # Read where it was written: a reader leaves SQLite's -wal and -shm files
            # beside a store, and they stay behind in the scratch directory.
            _write_report(store_path, Path(args.report))
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
            store_path = Path(shutil.move(store_path, target / STORE_FILE))
            print(f"wrote the history to {store_path}", file=sys.stderr)
    return result


def _write_report(store_path: Path, out: Path) -> None:
    from actors.analytics.history import Window
    from actors.analytics.page import write_report

    try:
        write_report(store_path, out, Window())
    except OSError as error:
        raise UserError(
            f"--report: cannot write {out}: {error.strerror or error}; name a place this "
            "user may write"
        ) from None
    print(f"wrote the report to {out}", file=sys.stderr)


MAX_SYNTH_STEPS = 100_000_000
"""More quotes per symbol and leg than this is a mistake in ``--duration`` or ``--interval``
(a year at one a second is a third of it)."""


def command_synth(args: argparse.Namespace) -> int:
    if args.duration / args.interval > MAX_SYNTH_STEPS:
        raise UserError(
            f"--duration {args.duration:g} at --interval {args.interval:g} is more than "
            f"{MAX_SYNTH_STEPS:,} quotes per symbol and leg; shorten the one or lengthen the other"
        )
    bar = ProgressBar("synth")
    began = time.perf_counter()
    try:
        with QuoteFileWriter(args.out) as writer:
            rows = synthesize(
                writer,
                args.symbols,
                args.duration,
                args.interval,
                args.seed,
                args.start_ms,
                args.dislocations_per_hour,
                args.funding_interval,
                lambda fraction: bar.update(fraction, 1.0),
                funding_mean=args.funding_mean,
                funding_stdev=args.funding_vol,
                funding_half_life_s=args.funding_half_life,
            )
    except OSError as error:
        print(f"basis synth: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        bar.close()
    elapsed = time.perf_counter() - began
    print(f"wrote {rows:,} rows to {args.out} in {elapsed:.1f} s", file=sys.stderr)
    return 0
