"""The Gate.io router codec's search of the order lists over a real socket: the finished
list (6 months of orders, newest first) is read only down to the orders that ended
before the order was sent, each page under its own rate-limit token and signed as it is
sent, and a walk that fails resumes at the page that failed."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.venues.gateio import GateioRouterCodec
from actors.venues.rest import RestClient
from protocols.gateio_rest import LIST_LIMIT
from protocols.model import Symbol
from protocols.venue import ApiCredentials, OrderStatus, VenueUnavailable

BTC = Symbol("BTC", "USDT")
SENT = 1_700_000_000.0
"""When the order sought was sent, by Basis's clock."""
DAY = 86_400.0


def finished(text: str, finish_time: float) -> dict:
    return {
        "id": abs(hash((text, finish_time))),
        "contract": "BTC_USDT",
        "size": -1,
        "left": 0,
        "price": "50000",
        "fill_price": "50000",
        "status": "finished",
        "finish_as": "filled",
        "text": text,
        "create_time": finish_time,
        "finish_time": finish_time,
    }


class Venue:
    """``GET /futures/usdt/orders`` over no open orders and ``history``, the finished
    list, newest first; ``failing`` are the offsets of the finished list that answer 502
    once. Each request's status, offset and ``Timestamp`` are kept."""

    def __init__(self, history: list[dict], failing: set[int] = frozenset()):
        self.history = history
        self.failing = set(failing)
        self.asked: list[tuple[str, int, str]] = []

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        status, offset = request.query["status"], int(request.query["offset"])
        self.asked.append((status, offset, request.headers["timestamp"]))
        if status == "finished" and offset in self.failing:
            self.failing.discard(offset)
            return HttpResponse(502, b'{"label":"SERVER_ERROR","message":"bad gateway"}')
        orders = self.history if status == "finished" else []
        page = orders[offset : offset + int(request.query["limit"])]
        return HttpResponse(200, msgspec.json.encode(page))


def history(sought_at: int | None) -> list[dict]:
    """Three pages of the finished list: one of orders that ended since the order was
    sent, two of older ones; the order sought (``t-sought``) at index ``sought_at``."""
    recent = [finished("t-other", SENT + 60.0 - i * 0.01) for i in range(LIST_LIMIT)]
    old = [finished("t-other", SENT - DAY - i) for i in range(2 * LIST_LIMIT)]
    orders = recent + old
    if sought_at is not None:
        orders[sought_at] = finished("t-sought", orders[sought_at]["finish_time"])
    return orders


class Search:
    """The codec's search against ``venue``, its clock advancing 40 s a reading, its
    rate-limit tokens counted."""

    def __init__(self, venue: Venue):
        self.venue = venue
        self.tokens = 0
        ticks = itertools.count()
        self.codec = GateioRouterCodec(
            ApiCredentials("key", "secret"), wall_clock=lambda: SENT + 40.0 * next(ticks)
        )
        self.codec.contract_sizes[BTC] = 0.0001

    async def acquire(self) -> None:
        self.tokens += 1

    async def run(self, nursery, since: float | None):
        port = await nursery.start(HttpServer(self.venue).serve)
        async with RestClient(f"http://127.0.0.1:{port}") as rest:
            return await self.codec.listed_order(rest, BTC, "sought", since, self.acquire)


async def test_the_finished_list_is_read_down_to_the_orders_that_ended_before_the_send(
    nursery,
):
    search = Search(Venue(history(sought_at=None)))
    assert await search.run(nursery, since=SENT) is None
    # The second finished page ended a day before the send: the order cannot be further.
    assert [(s, o) for s, o, _ in search.venue.asked] == [
        ("open", 0),
        ("finished", 0),
        ("finished", LIST_LIMIT),
    ]


async def test_an_order_sent_when_not_known_is_looked_for_in_the_whole_list(nursery):
    search = Search(Venue(history(sought_at=2 * LIST_LIMIT + 5)))
    found = await search.run(nursery, since=None)
    assert found is not None and found.status is OrderStatus.FILLED
    assert [o for s, o, _ in search.venue.asked if s == "finished"] == [0, 1000, 2000]


async def test_each_page_takes_a_token_and_is_signed_as_it_is_sent(nursery):
    search = Search(Venue(history(sought_at=None)))
    await search.run(nursery, since=None)
    stamps = [stamp for _, _, stamp in search.venue.asked]
    # The open list, three full pages of the finished one, and the empty page after.
    assert search.tokens == len(stamps) == 5
    assert stamps == [str(int(SENT + 40.0 * n)) for n in range(5)]


async def test_a_walk_that_failed_resumes_at_the_page_that_failed(nursery):
    search = Search(Venue(history(sought_at=LIST_LIMIT + 3), failing={LIST_LIMIT}))
    with pytest.raises(VenueUnavailable):
        await search.run(nursery, since=SENT - 2 * DAY)
    found = await search.run(nursery, since=SENT - 2 * DAY)
    assert found is not None and found.client_id == "sought"
    assert [(s, o) for s, o, _ in search.venue.asked] == [
        ("open", 0),
        ("finished", 0),
        ("finished", LIST_LIMIT),
        ("finished", LIST_LIMIT),
    ]
