"""The ``basis`` command line."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from actors.cli.backtest import add_backtest_commands
from actors.cli.chaos import add_chaos_commands
from actors.cli.control import add_control_commands
from actors.cli.demo import add_demo_commands
from actors.cli.preflight import add_preflight_commands
from actors.cli.quarantine import add_quarantine_commands
from actors.cli.record import add_record_commands
from actors.cli.run import add_run_commands
from actors.cli.sim import add_sim_commands
from actors.cli.state import add_state_commands
from actors.cli.watchdog import add_watchdog_commands
from actors.runtime.ops.logs import configure_console


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    add_chaos_commands(commands)
    add_watchdog_commands(commands)
    add_control_commands(commands)
    add_quarantine_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_console(logging.DEBUG if args.verbose else logging.INFO)
    return args.handler(args)
