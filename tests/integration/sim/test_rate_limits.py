"""The venues' own rate limits: token buckets per endpoint class, answering 429 with the
wait until a request would pass. The buckets here refill over an hour, so a test's few
requests cannot earn a token back while it runs."""

from __future__ import annotations

import pytest

from actors.sim import GateioRateLimits, MexcRateLimits, RateLimit
from actors.venues.rest import RestClient
from protocols.model import Side
from protocols.venue import RateLimited, UnknownOrder

from .support import COIN, now, start, still
from .venue_clients import VenueClients

HOUR_S = 3600.0


@pytest.fixture
async def limited(nursery):
    config = still(
        mexc_limits=MexcRateLimits(orders=RateLimit(2, HOUR_S)),
        gateio_limits=GateioRateLimits(
            place=RateLimit(1, HOUR_S), public_per_endpoint=RateLimit(1, HOUR_S)
        ),
    )
    return await start(nursery, config)


async def test_mexc_placement_and_cancel_share_the_order_bucket(limited):
    async with RestClient(limited.urls.mexc_rest) as rest:
        mexc = VenueClients("mexc", limited, rest)
        await mexc.place(mexc.taking("first", 3))
        cancel = await rest.send(mexc.router.cancel(COIN, "first", None, now()))
        assert mexc.error(cancel).code == -2011  # it had filled: counted all the same
        refused = mexc.error(await mexc.send_order(mexc.taking("third", 3)))
        assert (type(refused), refused.http_status) == (RateLimited, 429)
        # Two tokens an hour: the next one is half an hour away (Retry-After in seconds).
        assert refused.retry_after_s == pytest.approx(HOUR_S / 2, abs=60.0)
        assert type(await mexc.query_error()) is UnknownOrder  # queries have their own
    assert limited.mexc.faults_view().rate_limited_requests == 1
    assert limited.mexc.exchange.ledger.client_ids() == ["first"]


async def test_gateio_limits_placing_and_each_public_endpoint_apart(limited):
    async with RestClient(limited.urls.gateio_rest) as rest:
        gateio = VenueClients("gateio", limited, rest)
        await gateio.router.load_rules(rest, [COIN])
        with pytest.raises(RateLimited):
            await gateio.router.load_rules(rest, [COIN])
        await gateio.place(gateio.taking("first", 3, Side.SELL))
        refused = gateio.error(await gateio.send_order(gateio.taking("second", 3)))
        assert (type(refused), refused.code) == (RateLimited, "TOO_MANY_REQUESTS")
        assert refused.retry_after_s > 60.0
        assert type(await gateio.query_error()) is UnknownOrder
    assert limited.gateio.faults_view().rate_limited_requests == 2
