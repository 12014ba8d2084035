"""``basis sim``: the simulated venues on 127.0.0.1, until stopped: MEXC and Gate.io,
or the pair of venues ``--pair`` (or the config's ``[venues]``) names.

On startup it prints one JSON line to stdout with the venues' URLs (``SimUrls``), so a
test or the trading process started next can find them; logs go to stderr. SIGINT or
SIGTERM stops it (exit 0); a port it cannot listen on ends it with exit 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

import msgspec
import trio

from actors.cli.args import port_number
from actors.cli.user_error import EXIT_USER_ERROR
from actors.config_files import ConfigError, load_config
from actors.sim import SimConfig, SimServers
from actors.system_config import SystemConfig
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES, venue_of_kind
from supervision import leaves

log = logging.getLogger("basis.sim")

EXIT_BAD_INPUT = 2


def add_sim_commands(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "sim",
        help="run the simulated venues on 127.0.0.1 until stopped",
        description="Serve the simulated venues' REST APIs and websockets in the real "
        "venues' wire formats, with a control API for faults and the venues' ledgers. "
        "Prints one JSON line with the URLs, then runs until SIGINT or SIGTERM.",
        epilog="Example: basis sim --pair binance/binance_futures --seed 7 --control-port 8790",
    )
    sim.add_argument(
        "--config",
        metavar="FILE",
        help="system config (TOML): its symbols at its [venues], as [sim] configures them",
    )
    sim.add_argument(
        "--pair",
        type=venue_pair,
        metavar="SPOT/FUTURES",
        help=f"the venues every symbol trades at: spot {' or '.join(SPOT_VENUES)}, futures "
        f"{' or '.join(FUTURES_VENUES)} (default mexc/gateio_futures, or the config's)",
    )
    sim.add_argument("--seed", type=int, help="seed of the market (overrides the config)")
    any_port = "(default 0: any free port)"
    sim.add_argument(
        "--mexc-port", type=port_number, default=0, metavar="P", help=f"MEXC's port {any_port}"
    )
    sim.add_argument(
        "--gateio-port",
        type=port_number,
        default=0,
        metavar="P",
        help=f"Gate.io's port {any_port}",
    )
    for kind in ("binance", "binance_futures"):
        title = venue_of_kind(kind).title
        sim.add_argument(
            f"--{kind.replace('_', '-')}-port",
            type=port_number,
            default=0,
            metavar="P",
            help=f"{title}'s port, when served {any_port}",
        )
    sim.add_argument(
        "--control-port",
        type=port_number,
        default=0,
        metavar="P",
        help=f"the control API's port {any_port}",
    )
    sim.set_defaults(handler=command_sim)


def command_sim(args: argparse.Namespace) -> int:
    try:
        # The whole file is validated, as every command does: a misspelled table too.
        config = load_config(args.config, SystemConfig).simulated() if args.config else SimConfig()
    except ConfigError as error:
        print(f"basis sim: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.seed is not None:
        config = msgspec.structs.replace(config, seed=args.seed)
    if args.pair is not None:
        pairs = {str(symbol.symbol): args.pair for symbol in config.symbols}
        config = msgspec.structs.replace(config, pairs=pairs)
    servers = SimServers(
        config,
        ports={"binance": args.binance_port, "binance_futures": args.binance_futures_port},
        mexc_port=args.mexc_port,
        gateio_port=args.gateio_port,
        control_port=args.control_port,
    )
    cannot_listen: list[OSError] = []
    try:
        trio.run(serve_until_stopped, servers)
    except* OSError as group:
        cannot_listen.extend(leaves(group))
    for error in cannot_listen:
        print(
            f"basis sim: {error.strerror or error}; choose another port, or 0 for any free one",
            file=sys.stderr,
        )
    return EXIT_USER_ERROR if cannot_listen else 0


def venue_pair(text: str) -> tuple[str, str]:
    """``--pair``: a spot venue's kind and a futures venue's, as the simulated venues
    name them."""
    spot, _, futures = text.partition("/")
    if spot not in SPOT_VENUES or futures not in FUTURES_VENUES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not SPOT/FUTURES: spot is {' or '.join(SPOT_VENUES)}, futures "
            f"{' or '.join(FUTURES_VENUES)} (like binance/binance_futures)"
        )
    return SPOT_VENUES[spot].exchange, FUTURES_VENUES[futures].exchange


async def serve_until_stopped(servers: SimServers) -> None:
    """Run ``servers``, announce their URLs on stdout, stop on SIGINT or SIGTERM."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(servers.run)
            sys.stdout.write(msgspec.json.encode(urls).decode() + "\n")
            sys.stdout.flush()
            log.info("simulated venues up: %s", urls)
            async for signum in signals:
                log.info("%s received: stopping", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
