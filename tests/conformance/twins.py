"""Each venue's simulated twin on loopback, with Basis's own feed and router for it,
built only from the venue's entry in ``actors.venues.kinds``: what the conformance suite
runs every venue through alike."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import msgspec
import trio

from actors.runtime.market.feed import Feed
from actors.runtime.orders.router import Router
from actors.sim.config import DEFAULT_PAIR, SimConfig
from actors.sim.servers import SimServers
from actors.sim.venue_server import VenueServer
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES, FuturesVenue, SpotVenue
from actors.venues.rest import RestClient
from protocols.messages import OrderFinal, OrderRejected
from protocols.model import Leg, Order, OrderType, Side, Symbol, TimeInForce
from protocols.venue import ApiCredentials
from supervision import Backoff, Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
SIM_KEYS = ApiCredentials("sim-key", "sim-secret")
FAST = Backoff(min_s=0.02, max_s=0.1)
SETTLE_S = 10.0
"""How long an order may take to end at a twin: a lookup after a held answer, a wait
the venue asked for, with room for a busy machine."""

KINDS = (*SPOT_VENUES, *FUTURES_VENUES)
"""Every venue Basis trades on: the conformance suite runs each."""


def venue(kind: str) -> SpotVenue | FuturesVenue:
    return SPOT_VENUES.get(kind) or FUTURES_VENUES[kind]


@attrs.define
class Twin:
    """The twin of venue ``kind`` serving BTC and ETH, with a REST client to it."""

    kind: str
    sim: SimServers
    rest: RestClient

    @property
    def venue(self) -> SpotVenue | FuturesVenue:
        return venue(self.kind)

    @property
    def leg(self) -> Leg:
        return Leg.SPOT if self.kind in SPOT_VENUES else Leg.FUTURES

    @property
    def server(self) -> VenueServer:
        server = self.sim.exchange(self.venue.exchange)
        assert server is not None
        return server

    @property
    def ws_url(self) -> str:
        assert self.sim.urls is not None
        return self.sim.urls.of(self.venue.exchange)[1]

    def feed(self, mailbox: Mailbox, **options) -> Feed:
        codec = self.venue.feed_codec(self.rest)
        return Feed(
            f"feed-{self.kind}",
            codec,
            self.ws_url,
            {BTC: [mailbox.address], ETH: [mailbox.address]},
            backoff=FAST,
            rng=random.Random(3),
            fetch_snapshot=codec.fetch_snapshot,
            **options,
        )

    def router(self, strategy: Mailbox) -> Router:
        if isinstance(self.venue, SpotVenue):
            codec = self.venue.router_codec(SIM_KEYS)
        else:
            codec = self.venue.router_codec(SIM_KEYS, {})
        router = Router(
            f"router-{self.kind}",
            codec,
            self.rest,
            owners={"t1": strategy.address},
            subscribers={BTC: [strategy.address]},
            ws_url=self.ws_url,
            poll_interval_s=0.05,
            read_after_write_s=0.2,
            backoff=FAST,
            rng=random.Random(5),
        )
        return router

    def order(
        self,
        seq: int,
        side: Side = Side.BUY,
        qty: float = 0.002,
        price: float = 0.0,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> Order:
        """Order number ``seq`` of task ``t1`` on this leg: a market order, or a limit
        order at ``price``."""
        kind = OrderType.MARKET if price == 0.0 else OrderType.LIMIT
        suffix = "s" if self.leg is Leg.SPOT else "f"
        return Order(f"t1-{seq}{suffix}", self.leg, BTC, side, qty, price, type=kind, tif=tif)

    def accepted_client_ids(self) -> list[str]:
        """The client ids the venue accepted orders under, as the venue spells them."""
        exchange = self.sim.venues.exchanges[self.venue.exchange]
        return list(exchange.ledger.client_ids())


def served(kind: str, config: SimConfig | None = None) -> SimConfig:
    """``config`` with BTC and ETH at a pair of which venue ``kind`` is one leg."""
    name = venue(kind).exchange
    pair = (name, DEFAULT_PAIR[1]) if kind in SPOT_VENUES else (DEFAULT_PAIR[0], name)
    config = config or SimConfig()
    symbols = tuple(s for s in config.symbols if s.symbol in (BTC, ETH))
    return msgspec.structs.replace(
        config, symbols=symbols, pairs={str(s.symbol): pair for s in symbols}
    )


@asynccontextmanager
async def twin(
    kind: str, config: SimConfig | None = None, timeout_s: float = 5.0
) -> AsyncIterator[Twin]:
    """The twin of venue ``kind`` running; its client waits ``timeout_s`` for answers."""
    sim = SimServers(served(kind, config))
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        assert sim.urls is not None
        url = sim.urls.of(venue(kind).exchange)[0]
        async with RestClient(url, timeout_s=timeout_s) as rest:
            yield Twin(kind, sim, rest)
        nursery.cancel_scope.cancel()


async def started_router(nursery: trio.Nursery, twin: Twin, strategy: Mailbox) -> Mailbox:
    """The twin's router running, with its mailbox."""
    router = twin.router(strategy)
    inbox = Mailbox(router.name)
    await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
    return inbox


async def settled(strategy: Mailbox, client_id: str) -> list:
    """What the strategy heard of order ``client_id`` until it ended."""
    heard = []
    with trio.fail_after(SETTLE_S):
        while True:
            message = await strategy.receive()
            if getattr(message, "client_id", None) == client_id:
                heard.append(message)
                if isinstance(message, (OrderFinal, OrderRejected)):
                    return heard
