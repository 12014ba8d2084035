"""When a venue's "no such order" may be believed (``actors.runtime.orders.lookup``)."""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import trio
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.orders.lookup import NotFound, OrderKnowledge, Visibility, judge_not_found
from actors.runtime.orders.router import Router
from actors.venues.mexc import READ_AFTER_WRITE_S, MexcRouterCodec
from protocols import mexc_encode
from protocols.messages import (
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    ReconcileOrder,
    RulesUpdate,
)
from protocols.mexc_rest import API_PREFIX
from protocols.model import Leg, OrderStatus, Side, Symbol, VenueRules
from protocols.venue import ApiCredentials, OrderUpdate, RestRequest, RestResponse, UnknownOrder
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
RULES = VenueRules(qty_step=0.000001, min_qty=0.000001, min_notional=1.0, price_tick=0.01)

MEXC = Visibility(read_after_write_s=5.0, forgets_unfilled=False)
GATEIO = Visibility(read_after_write_s=1.0, forgets_unfilled=True)

SENT_NOT_SEEN = OrderKnowledge(
    since_sent_s=0.5, accepted=False, asked_by_venue_id=False, ending=False, filled=False
)
CANCELLED_UNSEEN = OrderKnowledge(
    since_sent_s=30.0, accepted=True, asked_by_venue_id=True, ending=True, filled=False
)

knowledge = st.builds(
    OrderKnowledge,
    since_sent_s=st.floats(min_value=0.0, max_value=1e6),
    accepted=st.booleans(),
    asked_by_venue_id=st.booleans(),
    ending=st.booleans(),
    filled=st.booleans(),
)
venues = st.builds(
    Visibility,
    read_after_write_s=st.floats(min_value=0.0, max_value=60.0),
    forgets_unfilled=st.booleans(),
)


def test_within_the_lag_not_found_means_nothing():
    assert judge_not_found(SENT_NOT_SEEN, MEXC) is NotFound.ASK_AGAIN
    late = attrs.evolve(SENT_NOT_SEEN, since_sent_s=5.0)
    assert judge_not_found(late, MEXC) is NotFound.NEVER_ARRIVED


def test_an_order_never_sent_never_arrived_at_once():
    never_sent = attrs.evolve(SENT_NOT_SEEN, since_sent_s=float("inf"))
    assert judge_not_found(never_sent, MEXC) is NotFound.NEVER_ARRIVED


def test_a_forgotten_gateio_order_ended_unfilled_only_when_it_was_meant_to_end():
    assert judge_not_found(CANCELLED_UNSEEN, GATEIO) is NotFound.ENDED_UNFILLED
    for change in (
        {"ending": False},  # still open as far as anyone knows: a lag, not an end
        {"filled": True},  # Gate.io keeps filled orders: not found is not an end
        {"asked_by_venue_id": False},  # a client id is forgotten after any end
        {"since_sent_s": 0.5},  # too new to be missing
    ):
        assert judge_not_found(attrs.evolve(CANCELLED_UNSEEN, **change), GATEIO) is (
            NotFound.ASK_AGAIN
        ), change


def test_mexc_forgets_nothing_a_query_should_find():
    assert judge_not_found(CANCELLED_UNSEEN, MEXC) is NotFound.ASK_AGAIN


@given(knowledge, venues)
def test_an_order_the_venue_reported_is_never_concluded_never_arrived(known, venue):
    if known.accepted:
        assert judge_not_found(known, venue) is not NotFound.NEVER_ARRIVED


@given(knowledge, venues)
def test_nothing_is_concluded_within_the_lag(known, venue):
    if known.since_sent_s < venue.read_after_write_s:
        assert judge_not_found(known, venue) is NotFound.ASK_AGAIN


@given(knowledge, venues)
def test_ended_unfilled_only_where_the_venue_forgets_and_nothing_filled(known, venue):
    if judge_not_found(known, venue) is NotFound.ENDED_UNFILLED:
        assert venue.forgets_unfilled and not known.filled and known.ending


# ------------------------------------------------- the router's lookups, on MockClock


@attrs.define
class LaggingMexc:
    """MEXC's order endpoints for one order the venue shows from ``shows_at`` (trio time)
    on, or never (``None``); before that it answers -2013 to queries and -2011 to cancels."""

    shows_at: float | None
    queries: list[float] = attrs.field(factory=list)
    on_reply: Callable[[RestResponse], None] | None = None

    async def send(self, request: RestRequest) -> RestResponse:
        endpoint = request.path.removeprefix(API_PREFIX + "/")
        if endpoint == "exchangeInfo":
            return RestResponse(
                200,
                mexc_encode.exchange_info_body(
                    [mexc_encode.ListedSymbol(BTC, RULES, 0.0005, 0.0005)], 0.0
                ),
            )
        now = trio.current_time()
        self.queries.append(now)
        if self.shows_at is None or now < self.shows_at:
            code = -2013 if request.method == "GET" else -2011
            return mexc_encode.error_response(UnknownOrder("mexc", code, "Order does not exist."))
        status = OrderStatus.NEW if request.method == "GET" else OrderStatus.CANCELLED
        update = OrderUpdate(BTC, "t1-1s", "42", status, Side.BUY, 0.001, 60_000.0, 0.0)
        return RestResponse(200, mexc_encode.order_body(update, "LIMIT"))


async def reconcile(venue: LaggingMexc) -> tuple[list[object], float]:
    """What the owner of ``t1-1s`` hears when a router settles it, and how long it took."""
    strategy = Mailbox("strategy")
    router = Router(
        "router-mexc",
        MexcRouterCodec(ApiCredentials("k", "s")),
        venue,  # type: ignore[arg-type]  # the part of a RestClient a router uses
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        rng=random.Random(1),
    )
    inbox = Mailbox("router")
    heard: list[object] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
        started = trio.current_time()
        await inbox.send(ReconcileOrder(Leg.SPOT, "t1-1s", BTC))
        while True:
            message = await strategy.receive()
            if isinstance(message, RulesUpdate):
                continue
            heard.append(message)
            if isinstance(message, (OrderFinal, OrderRejected)):
                break
        took = trio.current_time() - started
        nursery.cancel_scope.cancel()
    return heard, took


async def test_an_order_mexc_never_shows_is_concluded_never_arrived_once_the_lag_passed(
    autojump_clock,
):
    venue = LaggingMexc(shows_at=None)
    heard, took = await reconcile(venue)
    assert [type(m) for m in heard] == [OrderRejected]
    assert READ_AFTER_WRITE_S <= took < READ_AFTER_WRITE_S + 1.0
    assert len(venue.queries) > 2  # asked all through the lag, not once


async def test_an_order_mexc_shows_late_is_adopted_and_cancelled(autojump_clock):
    venue = LaggingMexc(shows_at=3.0)
    heard, took = await reconcile(venue)
    assert [type(m) for m in heard] == [OrderAccepted, OrderFinal]
    assert heard[-1].status is OrderStatus.CANCELLED
    assert took < READ_AFTER_WRITE_S
