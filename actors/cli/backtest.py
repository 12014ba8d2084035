"""``basis backtest`` and ``basis synth``: recorded or synthetic quotes through the machine."""

from __future__ import annotations

import argparse
import sys
import time

import msgspec

from actors.backtest.engine import BacktestConfig, BacktestSection, run_backtest
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
from actors.cli.synth import DEFAULT_SYMBOL_NAMES, synthesize
from actors.cli.user_error import UserError
from actors.config_files import ConfigError, load_config
from actors.system_config import SystemConfig

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
        help="seconds between funding settlements (default: each symbol's, 8 h)",
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
        config = BacktestConfig(file.strategy, file.backtest, file.risk)
    section = config.backtest
    if args.latency_ms is not None:
        section = msgspec.structs.replace(section, latency_ms=args.latency_ms)
    if args.partial_fills:
        section = msgspec.structs.replace(section, partial_fills=True)
    return msgspec.structs.replace(config, backtest=section)


def command_backtest(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
    except ConfigError as error:
        print(f"basis backtest: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar = ProgressBar("backtest")

    def progress(events: int, done: int, total: int) -> None:
        bar.update(done, total, f"{events:,} events")

    try:
        result = run_backtest(args.data, config, progress)
    except QuoteFileError as error:
        print(f"basis backtest: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        bar.close()
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
            )
    except OSError as error:
        print(f"basis synth: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        bar.close()
    elapsed = time.perf_counter() - began
    print(f"wrote {rows:,} rows to {args.out} in {elapsed:.1f} s", file=sys.stderr)
    return 0
