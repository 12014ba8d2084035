"""``basis record``: the configured symbols' quotes from both venues, and the
perpetual's funding, written in the backtest's format so that users can backtest on
their own data.

Each venue's feed publishes into one conflating mailbox per symbol; the recorder writes
every quote it takes, with the time it arrived (never going back: the file must be
ordered), and the funding rate and its settlements (``Recording.funding_rate``), each
settlement at its own time as soon as a row passes it. A venue
in depth mode (``[venues.*] depth``) is recorded with the top ``[risk] book_levels`` of
its book on each of its rows.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.backtest.quote_files import QuoteFileWriter, funding_rate_row, funding_settled_row
from actors.cli.args import positive_seconds
from actors.cli.user_error import UserError
from actors.config_files import ConfigError, load_config
from actors.runtime.config import VenuesSection
from actors.runtime.market.feed import Feed
from actors.runtime.venue_config import VenueConfig
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from actors.venues.kinds import venue_of_kind
from actors.venues.rest import RestClient
from protocols.messages import FundingRateUpdate, MarketQuote
from protocols.model import Symbol
from supervision import Incarnation, Mailbox

log = logging.getLogger("basis.record")

PROGRESS_EVERY_S = 10.0
EXIT_BAD_INPUT = 2


def feed_codec(venue: VenueConfig, rest: RestClient) -> Any:
    return venue_of_kind(venue.kind).feed_codec(rest)


FUNDING_RECORD_EVERY_S = 60.0
"""A funding rate that only drifts is written at most this often; one that changes sign,
interval or next settlement is written at once."""


@attrs.define
class Recording:
    """The rows of one file, from every symbol's messages, never going back in time."""

    writer: QuoteFileWriter
    last_ms: int = -1
    quotes: int = 0
    funding: dict[Symbol, FundingRateUpdate] = attrs.field(factory=dict)
    """Each symbol's funding as last written."""
    heard: dict[Symbol, FundingRateUpdate] = attrs.field(factory=dict)
    """Each symbol's funding as last heard, whose settlement is not written yet."""
    settled_until: dict[Symbol, float] = attrs.field(factory=dict)
    """Each symbol's latest settlement written."""
    next_due: float = math.inf
    """The earliest settlement heard of and not written yet."""

    def _ts_ms(self, ts: float) -> int:
        self.last_ms = max(self.last_ms, math.floor(ts * 1000))
        return self.last_ms

    def _settle_due(self, now: float) -> None:
        """Write every settlement due by ``now`` at its own time (or the file's latest, if
        a row was written after it), at the rate last heard before it."""
        if now < self.next_due:
            return
        for symbol, update in list(self.heard.items()):
            if update.next_ts is not None and update.next_ts <= now:
                self._write_settlement(symbol, update, update.next_ts)
        self.next_due = min(
            (u.next_ts for u in self.heard.values() if u.next_ts is not None), default=math.inf
        )

    def _write_settlement(self, symbol: Symbol, update: FundingRateUpdate, ts: float) -> None:
        assert update.next_ts is not None
        del self.heard[symbol]
        self.settled_until[symbol] = update.next_ts
        self.writer.write(funding_settled_row(self._ts_ms(ts), str(symbol), update.rate))

    def quote(self, message: MarketQuote) -> None:
        quote = message.quote
        self._settle_due(quote.recv_ts)
        self.quotes += 1
        self.writer.write(
            (
                self._ts_ms(quote.recv_ts),
                message.leg.value,
                str(quote.symbol),
                quote.bid,
                quote.bid_qty,
                quote.ask,
                quote.ask_qty,
            ),
            quote.depth,
        )

    def funding_rate(self, symbol: Symbol, update: FundingRateUpdate) -> None:
        """Write the rate when it matters. A settlement is written once the time passes
        it, or when the venue names a later one before this clock got there (the
        settlement then at the time heard)."""
        self._settle_due(update.now)
        pending = self.heard.get(symbol)
        if (
            pending is not None
            and pending.next_ts is not None
            and update.next_ts is not None
            and update.next_ts > pending.next_ts
        ):
            self._write_settlement(symbol, pending, update.now)
        if update.next_ts is not None and update.next_ts > self.settled_until.get(
            symbol, -math.inf
        ):
            self.heard[symbol] = update
            self.next_due = min(self.next_due, update.next_ts)
        before = self.funding.get(symbol)
        if (
            before is not None
            and before.next_ts == update.next_ts
            and (before.rate < 0.0) == (update.rate < 0.0)
            and before.interval_s == update.interval_s
            and update.now - before.now < FUNDING_RECORD_EVERY_S
        ):
            return
        self.funding[symbol] = update
        name = str(symbol)
        self.writer.write(
            funding_rate_row(
                self._ts_ms(update.now), name, update.rate, update.interval_s, update.next_ts
            )
        )

    async def take(self, symbol: Symbol, inbox: Mailbox) -> None:
        """Write what ``symbol``'s feeds publish to ``inbox`` until cancelled."""
        while True:
            message = await inbox.receive()
            if type(message) is MarketQuote:
                self.quote(message)
            elif type(message) is FundingRateUpdate:
                self.funding_rate(symbol, message)
            # Feed health is not written: the gap shows in the data.


async def record(
    venues: VenuesSection,
    symbols: Sequence[Symbol],
    writer: QuoteFileWriter,
    duration_s: float,
    book_levels: int = 10,
) -> int:
    """Record into ``writer`` until ``duration_s`` has passed; returns the quotes written
    (funding rows aside), each symbol from the venues of its pair. Venues in depth mode
    keep ``book_levels`` of their books."""
    recording = Recording(writer)
    async with trio.open_nursery() as nursery:
        inboxes = {symbol: Mailbox(f"recorder-{symbol}", capacity=1) for symbol in symbols}
        clients = []
        for kind, venue in venues.in_use(symbols).items():
            rest = RestClient(venue.rest, timeout_s=venue.request_timeout_s)
            clients.append(rest)
            codec = feed_codec(venue, rest)
            feed = Feed(
                f"record-{venue.kind}",
                codec,
                venue.ws,
                {symbol: [inboxes[symbol].address] for symbol in venues.symbols_at(kind, symbols)},
                stale_after_s=venue.stale_after_s,
                depth=venue.depth,
                book_levels=book_levels,
                fetch_snapshot=codec.fetch_snapshot,
            )
            nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
        for symbol, inbox in inboxes.items():
            nursery.start_soon(recording.take, symbol, inbox)
        deadline = trio.current_time() + duration_s
        while trio.current_time() < deadline:
            await trio.sleep(min(PROGRESS_EVERY_S, deadline - trio.current_time()))
            log.info("recorded %d rows to %s", writer.rows, writer.path)
        nursery.cancel_scope.cancel()
    for rest in clients:
        await rest.aclose()
    return recording.quotes


def add_record_commands(commands: argparse._SubParsersAction) -> None:
    record_command = commands.add_parser(
        "record",
        help="record the configured symbols' quotes and funding in the backtest's format",
        description="Record both venues' quotes and the perpetual's funding for the "
        "configured symbols into a file that basis backtest reads. In paper mode the "
        "simulated venues run in-process.",
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
    out = Path(args.out)
    new = not out.exists()
    # Opened before anything starts: an output that cannot be written ends it here.
    try:
        depth = any(venue.depth for venue in config.venues_in_use.values())
        writer = QuoteFileWriter(out, depth=depth)
    except OSError as error:
        raise UserError(
            f"cannot write {args.out} ({error.strerror}); give --out a file in a directory "
            "this user can write"
        ) from None
    with writer:
        quotes = trio.run(_record_with_config, config, writer, args.duration)
    if not quotes:
        # A file without quotes is no recording (a backtest refuses it): one made for it
        # goes again.
        if new:
            out.unlink()
        raise UserError(
            f"no quote arrived in {args.duration:g} s, so nothing was recorded to {args.out}; "
            "check the venues' urls in the config and that its symbols trade there"
        )
    print(f"recorded {writer.rows:,} rows to {args.out}", file=sys.stderr)
    return 0


async def _record_with_config(
    config: SystemConfig, writer: QuoteFileWriter, duration_s: float
) -> int:
    symbols = config.symbol_list
    levels = config.risk.book_levels
    if config.mode == "live":
        return await record(config.venues, symbols, writer, duration_s, levels)
    async with trio.open_nursery() as nursery:
        servers = SimServers(config.simulated())
        urls = await nursery.start(servers.run)
        venues = config.venues_at(urls)
        quotes = await record(venues, symbols, writer, duration_s, levels)
        nursery.cancel_scope.cancel()
    return quotes
