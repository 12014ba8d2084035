"""Trading through faults: orders keep going to both venues while faults are switched on
at random, and two depth feeds follow the books. Afterwards every order's fate as our
client saw it agrees with the venues' ledgers, the ledgers agree with the balances and
positions, and both feeds are in sync again.

The default run is bounded to a couple of seconds; ``make soak`` runs a minute."""

from __future__ import annotations

import math
import random

import attrs
import pytest
import trio

from actors.sim import MexcRateLimits, RateLimit, SimServers
from actors.venues.rest import OutcomeUnknown, RequestNotSent, RestClient
from protocols.model import Leg, Order, OrderStatus, Side
from protocols.venue import OrderUpdate, UnknownOrder, VenueError
from tests.unit.sim.helpers import net_qty

from .support import BTC, moving, now, start
from .test_feed_against_sim import quotes_flow_again, running_feed
from .venue_clients import VenueClients

STALL_S = 0.5  # longer than the feeds' staleness limit, so they reconnect


@attrs.define
class Outcomes:
    """What our client learned of each order it sent: accepted (by the venue order id),
    refused, or not known until it was looked up."""

    accepted: dict[str, str] = attrs.field(factory=dict)
    refused: set[str] = attrs.field(factory=set)
    unknown: set[str] = attrs.field(factory=set)


def btc_order(venue: VenueClients, client_id: str, side: Side, sim: SimServers) -> Order:
    """An IOC order of one lot that crosses the touch by a margin, so it fills."""
    quote = sim.venues.market.quote(BTC, venue.leg)
    qty = 0.0001
    price = quote.ask * 1.001 if side is Side.BUY else quote.bid * 0.999
    tick = 0.01 if venue.leg is Leg.SPOT else 0.1
    price = round(math.floor(price / tick) * tick, 2)
    return Order(client_id, venue.leg, BTC, side, qty, price)


async def trade(venue: VenueClients, sim: SimServers, outcomes: Outcomes, count: int) -> None:
    rules = (await venue.router.load_rules(venue.rest, [BTC]))[BTC]
    for n in range(count):
        client_id = f"{venue.name[:2]}{n}"
        order = btc_order(venue, client_id, Side.BUY if n % 2 == 0 else Side.SELL, sim)
        try:
            response = await venue.rest.send(venue.router.place(order, rules, now()))
        except (OutcomeUnknown, RequestNotSent):
            outcomes.unknown.add(client_id)
        else:
            if response.status in (200, 201):
                placed = venue.router.parse_placed(response, order, rules)
                outcomes.accepted[client_id] = placed.venue_order_id
            else:
                assert isinstance(venue.router.error(response, now()), VenueError)
                outcomes.refused.add(client_id)
        await trio.sleep(0.01)


async def look_up(venue: VenueClients, client_id: str) -> OrderUpdate | None:
    response = await venue.rest.send(venue.router.query(BTC, client_id, None, now()))
    if response.status == 200:
        rules = (await venue.router.load_rules(venue.rest, [BTC]))[BTC]
        return venue.router.parse_order(response, BTC, rules)
    error = venue.router.error(response, now())
    assert isinstance(error, UnknownOrder), error
    return None


async def inject_faults(sim: SimServers, rng: random.Random, stop: trio.Event) -> int:
    injected = 0
    while not stop.is_set():
        await trio.sleep(rng.uniform(0.01, 0.05))
        venue = rng.choice([sim.mexc, sim.gateio])
        fault = rng.choice(
            ["fail", "time_out", "rate_limit", "skip_depth", "drop", "stall", "partial"]
        )
        if fault == "fail":
            venue.fail_requests(1)
        elif fault == "time_out":
            venue.time_out_orders(1, hold_s=0.0)
        elif fault == "rate_limit":
            venue.rate_limit_requests(1, retry_after_s=0.1)
        elif fault == "skip_depth":
            venue.skip_depth_update(BTC)
        elif fault == "drop":
            venue.drop_websockets()
        elif fault == "stall":
            venue.stall_websockets(STALL_S)
        else:
            venue.fill_partially(0.5, probability=0.5)
        injected += 1
    return injected


async def exercise(nursery, orders_per_venue: int, seed: int) -> None:
    # The venues' own rate limits are tested on their own; here they would refuse most
    # orders, which go out faster than MEXC's 12 a second.
    sim = await start(nursery, moving(mexc_limits=MexcRateLimits(orders=RateLimit(1000, 1.0))))
    rng = random.Random(seed)
    async with (
        RestClient(sim.urls.mexc_rest, timeout_s=2.0) as mexc_rest,
        RestClient(sim.urls.gateio_rest, timeout_s=2.0) as gateio_rest,
        running_feed(sim, "mexc") as (mexc_feed, _),
        running_feed(sim, "gateio") as (gateio_feed, _),
    ):
        venues = [VenueClients("mexc", sim, mexc_rest), VenueClients("gateio", sim, gateio_rest)]
        outcomes = {venue.name: Outcomes() for venue in venues}
        stop = trio.Event()
        async with trio.open_nursery() as chaos:
            chaos.start_soon(inject_faults, sim, rng, stop)
            async with trio.open_nursery() as traders:
                for venue in venues:
                    traders.start_soon(trade, venue, sim, outcomes[venue.name], orders_per_venue)
            stop.set()
        for venue in venues:
            venue.server.clear_faults()
        for venue in venues:
            await check_ledger(venue, outcomes[venue.name])
        await check_holdings(sim)
        for feed in (mexc_feed, gateio_feed):
            await quotes_flow_again(feed)
            assert feed.status.resyncs >= feed.status.gaps


async def check_ledger(venue: VenueClients, outcomes: Outcomes) -> None:
    ledger = venue.ledger
    accepted = {order.client_id: order.venue_order_id for order in ledger.accepted_orders()}
    assert len(accepted) == len(ledger.accepted_orders()), "a client id was accepted twice"
    prefix = "t-" if venue.name == "gateio" else ""
    for client_id, venue_order_id in outcomes.accepted.items():
        assert accepted[prefix + client_id] == venue_order_id
    for client_id in outcomes.refused:
        assert prefix + client_id not in accepted
    for client_id in outcomes.unknown:
        found = await look_up(venue, client_id)
        assert (found is not None) == (prefix + client_id in accepted)
        if found is not None:
            assert found.status in (OrderStatus.FILLED, OrderStatus.CANCELLED)


async def check_holdings(sim: SimServers) -> None:
    spot_fills = net_qty(sim.venues.spot.ledger, BTC)
    assert sim.venues.spot.balance("BTC").free == pytest.approx(spot_fills, abs=1e-9)
    contracts = sum(
        (fill.contracts or 0) * (1 if fill.side is Side.BUY else -1)
        for fill in sim.venues.futures.ledger.fills(BTC)
    )
    assert sim.venues.futures.position(BTC).contracts == contracts


async def test_trading_through_faults_keeps_every_book_of_record_straight(nursery):
    await exercise(nursery, orders_per_venue=40, seed=1)


@pytest.mark.soak
async def test_a_minute_of_trading_through_faults(nursery):
    await exercise(nursery, orders_per_venue=3000, seed=2)
