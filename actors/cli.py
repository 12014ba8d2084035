"""The ``basis`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import trio

from actors.backtest_cli import add_backtest_commands
from actors.cli_types import positive_seconds
from actors.logs import configure_console
from actors.record import add_record_commands
from actors.shutdown import run_until_stopped
from actors.sim_cli import add_sim_commands
from supervision import SupervisorGaveUp

EXIT_GAVE_UP = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="basis",
        description="Unattended spot-futures arbitrage as supervised trio actors.",
        epilog="Example: basis run --duration 60",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the system until stopped (Ctrl-C stops gracefully, twice forces)",
        description="Run the system until stopped. The first Ctrl-C or SIGTERM stops it "
        "gracefully; a second one stops it at once.",
        epilog="Example: basis run --duration 30 --seed 7",
    )
    run.add_argument(
        "--duration", type=positive_seconds, metavar="S", help="stop gracefully after S seconds"
    )
    run.add_argument("--seed", type=int, help="seed for the simulated randomness")
    run.set_defaults(handler=command_run)
    add_backtest_commands(commands)
    add_sim_commands(commands)
    add_record_commands(commands)
    return parser


def command_run(args: argparse.Namespace) -> int:
    from actors.supervision_demo import build_demo_tree

    root = build_demo_tree(args.seed)
    return run_tree(lambda: run_until_stopped(root, args.duration))


def run_tree(main) -> int:
    """Run a tree to its end; a tree that gave up is reported as a readable chain."""
    try:
        trio.run(main)
    except SupervisorGaveUp as error:
        print(f"basis: stopped because {error}", file=sys.stderr)
        return EXIT_GAVE_UP
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_console(logging.DEBUG if args.verbose else logging.INFO)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
