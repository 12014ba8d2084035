"""The funding settlements of the futures account, from the venue's ledger to the
strategies.

A venue settles funding on open positions on its own schedule and writes each settlement
in the account's ledger (Gate.io: ``account_book?type=fund``) under a ledger id. The
funding book reads that ledger every ``poll_s`` and tells each settled symbol's
strategies with a ``FundingPayment`` carrying the ledger id, on the FIFO lane (a payment
is never dropped), oldest first. It reports each id once per run; the strategy's context
remembers the newest settlement time it applied (and the ids at that time) and is stored
with them, so a settlement reported again after a restart (the first poll looks back
``lookback_s``) is not counted twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attrs
import trio

from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols.messages import FundingPayment
from protocols.model import Symbol
from protocols.venue import FundingBookEntry, RestRequest, RestResponse, VenueError
from supervision import Address

log = logging.getLogger("basis.funding")


class FundingBookCodec(Protocol):
    """What the funding book needs of a venue's account ledger."""

    page_size: int
    """The most settlements one reply lists."""

    def request(self, since_s: int, now: float, offset: int = 0) -> RestRequest:
        """Ask for the funding settlements from ``since_s`` on (signed), newest first,
        skipping the ``offset`` newest."""

    def parse(self, response: RestResponse) -> list[FundingBookEntry]:
        """The settlements of a successful reply, oldest first."""

    def listed(self, response: RestResponse) -> int:
        """How many ledger changes a successful reply lists, settlements or not."""

    def error(self, response: RestResponse, now: float) -> VenueError: ...


@attrs.define(eq=False)
class FundingBook:
    name: str
    codec: FundingBookCodec
    rest: RestClient
    subscribers: Mapping[Symbol, Sequence[Address]]
    """Symbol → the strategies its settlements go to."""
    poll_s: float = 60.0
    lookback_s: float = 86_400.0
    """How far back the first poll of a run reads: settlements a stopped run missed."""
    wall_clock: Callable[[], float] = time.time
    delivered: int = 0
    """Settlements handed to strategies in this run."""
    _since: float | None = None
    _reported: dict[str, float] = attrs.field(factory=dict)
    """Ledger id → settlement time, of what this run reported at or after ``_since``."""

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except VENUE_FAILURES as error:  # the next poll asks again for the same span
                log.warning("%s: cannot read the funding ledger: %s", self.name, error)
            await trio.sleep(self.poll_s)

    async def poll(self) -> int:
        """Read the ledger once and report what is new; returns how many were."""
        now = self.wall_clock()
        if self._since is None:
            self._since = now - self.lookback_s
        new = 0
        for entry in await self._read(int(self._since), now):
            if entry.ledger_id in self._reported:
                continue
            self._reported[entry.ledger_id] = entry.ts
            payment = FundingPayment(entry.ts, entry.amount, entry.ledger_id)
            for address in self.subscribers.get(entry.symbol, ()):
                await address.send(payment)
            new += 1
            self._since = max(self._since, entry.ts)
        # Asking from the newest settlement on (the venue's "from" is inclusive) needs to
        # remember only the ids at that time.
        since = self._since
        self._reported = {i: ts for i, ts in self._reported.items() if ts >= since}
        self.delivered += new
        if new:
            log.info("%s: %d funding settlements reported", self.name, new)
        return new

    async def _read(self, since_s: int, now: float) -> list[FundingBookEntry]:
        """Every settlement from ``since_s`` on, oldest first. A reply lists the newest
        first and at most a page: more pages are read until a short one, so the oldest of
        a long span are not cut off (and then skipped for good as ``_since`` moves past
        them). A settlement written between two pages shifts the next one by one: it is
        listed twice and kept once."""
        entries: dict[str, FundingBookEntry] = {}
        offset = 0
        while True:
            response = await self.rest.send(self.codec.request(since_s, now, offset))
            if response.status != 200:
                raise self.codec.error(response, now)
            for entry in self.codec.parse(response):
                entries.setdefault(entry.ledger_id, entry)
            listed = self.codec.listed(response)
            if listed < self.codec.page_size:
                return sorted(entries.values(), key=lambda entry: entry.ts)
            offset += listed
