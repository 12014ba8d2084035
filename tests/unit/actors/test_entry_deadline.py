"""An entry leg's deadline to leave (``PlaceOrder.send_by``), and a cluster's lease of its
symbol (``Router.may_send``), on trio's MockClock: a placement met by a 503, then looked
up and not found, goes again only while its deadline has not passed and its lease lasts;
past either the router reports it rejected and sends nothing."""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import trio

from actors.runtime.orders.router import Router
from actors.venues.mexc import MexcRouterCodec
from protocols import mexc_encode
from protocols.messages import OrderAccepted, OrderFinal, OrderRejected, PlaceOrder, RulesUpdate
from protocols.mexc_rest import API_PREFIX
from protocols.model import Leg, Order, OrderStatus, Side, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    OrderUpdate,
    RestRequest,
    RestResponse,
    UnknownOrder,
    VenueUnavailable,
)
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
RULES = VenueRules(qty_step=0.000001, min_qty=0.000001, min_notional=1.0, price_tick=0.01)
WALL_AT_ZERO = 1_000_000.0
LAG_S = 0.5
"""The venue's read-after-write lag as the router is told it: "not found" is believed after."""


@attrs.define
class UnavailableFirst:
    """MEXC's order endpoints where the first ``failures`` placements are answered 503
    without the order being taken; later ones are filled at once."""

    failures: int
    placements: list[float] = attrs.field(factory=list)
    placed: OrderUpdate | None = None
    on_reply: Callable[[RestResponse], None] | None = None

    async def send(self, request: RestRequest) -> RestResponse:
        endpoint = request.path.removeprefix(API_PREFIX + "/")
        if endpoint == "exchangeInfo":
            listed = [mexc_encode.ListedSymbol(BTC, RULES, 0.0005, 0.0005)]
            return RestResponse(200, mexc_encode.exchange_info_body(listed, 0.0))
        if endpoint == "time":
            return RestResponse(200, mexc_encode.server_time_body(wall()))
        if endpoint == "order" and request.method == "POST":
            self.placements.append(trio.current_time())
            if len(self.placements) <= self.failures:
                return mexc_encode.error_response(VenueUnavailable("mexc", None, "busy"))
            self.placed = OrderUpdate(
                BTC, "t1-1s", "42", OrderStatus.FILLED, Side.BUY, 0.001, 60_000.0, 0.001
            )
            return RestResponse(200, mexc_encode.new_order_body(self.placed, "LIMIT"))
        if endpoint == "order" and request.method == "GET" and self.placed is not None:
            return RestResponse(200, mexc_encode.order_body(self.placed, "LIMIT"))
        if endpoint == "myTrades":
            return RestResponse(200, b"[]")
        return mexc_encode.error_response(UnknownOrder("mexc", -2013, "Order does not exist."))


def wall() -> float:
    return WALL_AT_ZERO + trio.current_time()


async def place(
    venue: UnavailableFirst, send_within_s: float | None, lease_ends_s: float | None = None
) -> list[object]:
    """What the owner of ``t1-1s`` hears when it asks a router to place it, ``send_by``
    ``send_within_s`` after asking (no deadline for ``None``), until its end; in a cluster
    whose lease of BTC ends ``lease_ends_s`` after asking, where given."""
    strategy = Mailbox("strategy")
    router = Router(
        "router-mexc",
        MexcRouterCodec(ApiCredentials("k", "s")),
        venue,  # type: ignore[arg-type]  # the part of a RestClient a router uses
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        rng=random.Random(1),
        read_after_write_s=LAG_S,
        wall_clock=wall,
    )
    if lease_ends_s is not None:
        lease_end = trio.current_time() + lease_ends_s
        router.may_send = lambda order: (
            None if trio.current_time() < lease_end else f"the lease of {order.symbol} ended"
        )
    inbox = Mailbox("router")
    heard: list[object] = []
    order = Order("t1-1s", Leg.SPOT, BTC, Side.BUY, 0.001, 60_000.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
        send_by = None if send_within_s is None else wall() + send_within_s
        await inbox.send(PlaceOrder(order, send_by))
        while True:
            message = await strategy.receive()
            if isinstance(message, RulesUpdate):
                continue
            heard.append(message)
            if isinstance(message, (OrderFinal, OrderRejected)):
                break
        nursery.cancel_scope.cancel()
    late = isinstance(heard[-1], OrderRejected) and "deadline" in heard[-1].reason
    assert router.stats.sent_too_late == (1 if late else 0)
    return heard


async def test_an_entry_leg_that_cannot_leave_by_its_deadline_is_not_sent_late(autojump_clock):
    venue = UnavailableFirst(failures=1)
    heard = await place(venue, send_within_s=LAG_S / 2)
    assert len(venue.placements) == 1  # the 503; not sent again once "not found"
    (rejected,) = heard
    assert isinstance(rejected, OrderRejected) and "past its deadline" in rejected.reason


async def test_an_entry_leg_sent_again_within_its_deadline_goes(autojump_clock):
    venue = UnavailableFirst(failures=1)
    heard = await place(venue, send_within_s=LAG_S * 4)
    assert len(venue.placements) == 2
    assert venue.placements[1] - venue.placements[0] >= LAG_S  # looked up before resending
    assert type(heard[0]) is OrderAccepted
    assert isinstance(heard[-1], OrderFinal) and heard[-1].status is OrderStatus.FILLED


async def test_an_order_without_a_deadline_is_sent_again_however_late(autojump_clock):
    venue = UnavailableFirst(failures=3)
    heard = await place(venue, send_within_s=None)
    assert len(venue.placements) == 4
    assert isinstance(heard[-1], OrderFinal) and heard[-1].status is OrderStatus.FILLED


async def test_an_order_whose_lease_ended_is_not_sent_again(autojump_clock):
    # A cluster's instance: the first attempt went under the lease; the retry, after the
    # lease ended here, would reach the venue under a grant another instance holds now.
    venue = UnavailableFirst(failures=1)
    heard = await place(venue, send_within_s=None, lease_ends_s=LAG_S / 2)
    assert len(venue.placements) == 1
    (rejected,) = heard
    assert isinstance(rejected, OrderRejected) and "the lease of BTC/USDT ended" in rejected.reason


async def test_an_order_under_its_lease_goes_again(autojump_clock):
    venue = UnavailableFirst(failures=1)
    heard = await place(venue, send_within_s=None, lease_ends_s=LAG_S * 4)
    assert len(venue.placements) == 2
    assert isinstance(heard[-1], OrderFinal) and heard[-1].status is OrderStatus.FILLED
