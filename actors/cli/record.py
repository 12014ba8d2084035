"""``basis record``: the configured symbols' quotes from both venues, written in the
backtest's format so that users can backtest on their own data.

Each venue's feed publishes into one conflating mailbox; the recorder writes every quote
it takes, with the time it arrived (never going back: the file must be ordered).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import trio

from actors.backtest.quote_files import QuoteFileWriter
from actors.cli.args import positive_seconds
from actors.config_files import ConfigError, load_config
from actors.runtime.market.feed import Feed
from actors.runtime.venue_config import VenueConfig
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from actors.venues.gateio import GateioFeedCodec
from actors.venues.mexc import MexcFeedCodec
from actors.venues.rest import RestClient
from protocols.messages import MarketQuote
from protocols.model import Symbol
from supervision import Incarnation, Mailbox

log = logging.getLogger("basis.record")

PROGRESS_EVERY_S = 10.0
EXIT_BAD_INPUT = 2


def feed_codec(venue: VenueConfig, rest: RestClient) -> MexcFeedCodec | GateioFeedCodec:
    return MexcFeedCodec(rest) if venue.kind == "mexc" else GateioFeedCodec(rest)


async def record(
    venues: Sequence[VenueConfig],
    symbols: Sequence[Symbol],
    out: Path,
    duration_s: float,
) -> int:
    """Record until ``duration_s`` has passed; returns the rows written."""
    inbox = Mailbox("recorder", capacity=1)
    rows = 0
    last_ms = -1
    with QuoteFileWriter(out) as writer:
        async with trio.open_nursery() as nursery:
            clients = []
            for venue in venues:
                rest = RestClient(venue.rest, timeout_s=venue.request_timeout_s)
                clients.append(rest)
                feed = Feed(
                    f"record-{venue.kind}",
                    feed_codec(venue, rest),
                    venue.ws,
                    {symbol: [inbox.address] for symbol in symbols},
                    stale_after_s=venue.stale_after_s,
                )
                nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
            deadline = trio.current_time() + duration_s
            next_report = trio.current_time() + PROGRESS_EVERY_S
            with trio.move_on_at(deadline):
                while True:
                    message = await inbox.receive()
                    if type(message) is not MarketQuote:
                        continue  # feed health: the gap shows in the data
                    quote = message.quote
                    ts_ms = max(last_ms, math.floor(quote.recv_ts * 1000))
                    last_ms = ts_ms
                    writer.write(
                        (
                            ts_ms,
                            message.leg.value,
                            str(quote.symbol),
                            quote.bid,
                            quote.bid_qty,
                            quote.ask,
                            quote.ask_qty,
                        )
                    )
                    rows += 1
                    if trio.current_time() >= next_report:
                        next_report += PROGRESS_EVERY_S
                        log.info("recorded %d quotes to %s", rows, out)
            nursery.cancel_scope.cancel()
        for rest in clients:
            await rest.aclose()
    return rows


def add_record_commands(commands: argparse._SubParsersAction) -> None:
    record_command = commands.add_parser(
        "record",
        help="record the configured symbols' quotes in the backtest's format",
        description="Record both venues' quotes for the configured symbols into a file "
        "that basis backtest reads. In paper mode the simulated venues run in-process.",
        epilog="Example: basis record --config configs/paper.toml --duration 3600 "
        "--out quotes.csv.gz",
    )
    record_command.add_argument("--config", metavar="FILE", help="system config (TOML)")
    record_command.add_argument(
        "--duration", type=positive_seconds, required=True, metavar="S", help="seconds"
    )
    record_command.add_argument(
        "--out", required=True, metavar="FILE", help=".csv or .jsonl, either .gz"
    )
    record_command.set_defaults(handler=command_record)


def command_record(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, SystemConfig) if args.config else SystemConfig()
    except ConfigError as error:
        print(f"basis record: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rows = trio.run(_record_with_config, config, Path(args.out), args.duration)
    except OSError as error:
        print(f"basis record: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"recorded {rows:,} quotes to {args.out}", file=sys.stderr)
    return 0


async def _record_with_config(config: SystemConfig, out: Path, duration_s: float) -> int:
    symbols = config.symbol_list
    if config.mode == "live":
        venues = config.venues
        return await record([venues.spot, venues.futures], symbols, out, duration_s)
    async with trio.open_nursery() as nursery:
        servers = SimServers(config.simulated())
        urls = await nursery.start(servers.run)
        venues = config.venues_at(urls)
        rows = await record([venues.spot, venues.futures], symbols, out, duration_s)
        nursery.cancel_scope.cancel()
    return rows
