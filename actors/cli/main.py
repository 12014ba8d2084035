"""The ``basis`` command line.

Every command's mistakes end the same way, here: a :class:`UserError` or a
:class:`ConfigError` is printed as one line, ``basis COMMAND: what is wrong and the
fix``, with exit status 2, and so is a bad argument (:class:`OneLineParser`). A reader
that stops reading early (``basis status | head``) ends the command quietly, and Ctrl-C
in a command without a graceful stop ends it with 130, without a traceback either.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from actors.cli.backtest import add_backtest_commands
from actors.cli.chaos import add_chaos_commands
from actors.cli.cluster import add_cluster_commands
from actors.cli.control import add_control_commands
from actors.cli.dashboard import add_dashboard_commands
from actors.cli.demo import add_demo_commands
from actors.cli.preflight import add_preflight_commands
from actors.cli.quarantine import add_quarantine_commands
from actors.cli.record import add_record_commands
from actors.cli.report import add_report_commands
from actors.cli.risk import add_risk_commands
from actors.cli.run import add_run_commands
from actors.cli.sim import add_sim_commands
from actors.cli.state import add_state_commands
from actors.cli.user_error import EXIT_USER_ERROR, UserError
from actors.cli.watchdog import add_watchdog_commands
from actors.config_files import ConfigError
from actors.runtime.ops.logs import configure_console, flush_logs

EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C, as a shell reports a process SIGINT ended (128 + 2)."""


class OneLineParser(argparse.ArgumentParser):
    """A bad argument in one line naming it and where the options are explained,
    instead of the usage block; every subcommand's parser is one too (argparse makes
    subparsers of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="basis",
        description="Unattended spot-futures arbitrage as supervised trio actors.",
        epilog="Example: basis run --duration 300",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_run_commands(commands)
    add_backtest_commands(commands)
    add_sim_commands(commands)
    add_record_commands(commands)
    add_preflight_commands(commands)
    add_demo_commands(commands)
    add_state_commands(commands)
    add_report_commands(commands)
    add_chaos_commands(commands)
    add_watchdog_commands(commands)
    add_control_commands(commands)
    add_quarantine_commands(commands)
    add_risk_commands(commands)
    add_dashboard_commands(commands)
    add_cluster_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _command(argv)
    finally:
        # What the command logged is written before it is said to be done.
        flush_logs()


def _command(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    configure_console(logging.DEBUG if args.verbose else logging.INFO)
    try:
        code = args.handler(args)
        # Flushed here, so that a reader gone away shows up inside this block.
        sys.stdout.flush()
    except (UserError, ConfigError) as error:
        one_line = " ".join(str(error).splitlines())
        flush_logs()  # the mistake is the last line, after what the command logged
        print(f"basis {args.command}: {one_line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        # Ctrl-C in a command without a graceful stop (run and sim have one): no traceback.
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader stopped reading (``| head``): what it did not read is dropped, and
        # the output left in the buffer goes nowhere when Python flushes it at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code
