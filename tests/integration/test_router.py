"""The router against a scripted venue on 127.0.0.1.

The venue speaks a toy JSON dialect through a toy codec so that each test scripts the
venue's next answers exactly (accept, reject, 429, a reply lost after the order was
taken, ...). The real venues' dialects are exercised against the simulated venues.
"""

from __future__ import annotations

import json
import random
import time

import attrs
import msgspec
import pytest
import trio

from actors.http_server import CloseWithoutAnswer, HttpRequest, HttpResponse, HttpServer
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.orders.router import Router
from actors.venues.rest import RestClient
from protocols.messages import (
    AmendOrder,
    CancelOrder,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    ReconcileOrder,
    RulesUpdate,
)
from protocols.model import Fill, Leg, Order, OrderStatus, Side, Symbol, TimeInForce, VenueRules
from protocols.venue import (
    BadCredentials,
    InsufficientBalance,
    OrderUpdate,
    RateLimited,
    RestRequest,
    Trade,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)
from supervision import Backoff, Incarnation, Mailbox
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
RULES = VenueRules(qty_step=0.001, min_qty=0.001, price_tick=0.1, taker_fee=0.001)


class ToyCodec:
    exchange = "toy"
    leg = Leg.SPOT
    read_after_write_s = 0.05
    forgets_unfilled = False
    clock_ahead_s = 1.0
    clock_behind_s = 5.0

    async def load_rules(self, rest, symbols):
        return {symbol: RULES for symbol in symbols}

    def place(self, order, rules, now):
        body = {"id": order.client_id, "qty": order.qty, "price": order.price}
        return RestRequest("POST", "/order", "", json.dumps(body).encode())

    def query(self, symbol, client_id, venue_order_id, now):
        return RestRequest("GET", "/order", f"id={client_id}")

    def cancel(self, symbol, client_id, venue_order_id, now):
        return RestRequest("DELETE", "/order", f"id={client_id}")

    def parse_placed(self, response, order, rules):
        return self.parse_order(response, order.symbol, rules)

    async def order_trades(self, rest, symbol, venue_order_id, now):
        return None  # the toy venue's order reports say everything

    async def price(self, rest, symbol):
        return None

    def __init__(self):
        self.listed: list[tuple[str, float | None]] = []
        """Each search of the order lists: the client id, and since when."""

    async def listed_order(self, rest, symbol, client_id, since, acquire):
        self.listed.append((client_id, since))
        return None  # the toy venue finds an order by client id as long as it has it

    def parse_order(self, response, symbol, rules):
        o = json.loads(response.body)
        return OrderUpdate(
            BTC,
            o["id"],
            "v-" + o["id"],
            OrderStatus(o["status"]),
            filled_qty=o["filled"],
            avg_price=o["price"],
        )

    def clock_request(self):
        return RestRequest("GET", "/time")

    def parse_clock(self, response):
        return json.loads(response.body)["now"]

    def pause_s(self, response, now):
        # The toy venue's last request of a window says so: held off until it turns.
        return float(response.header("x-toy-window-left") or 0.0)

    def error(self, response, now):
        if response.status == 429:
            return RateLimited("toy", 429, "slow down", 429, float(response.header("retry-after")))
        if response.status >= 500:
            return VenueUnavailable("toy", None, "down", response.status)
        code = json.loads(response.body)["code"]
        kinds = {"balance": InsufficientBalance, "unknown": UnknownOrder, "keys": BadCredentials}
        kind = kinds.get(code, VenueError)
        return kind("toy", code, code, response.status)


class TradesCodec(ToyCodec):
    """A venue whose order reports say nothing of fees: its trades are asked for."""

    async def order_trades(self, rest, symbol, venue_order_id, now):
        client_id = venue_order_id.removeprefix("v-")
        response = await rest.send(RestRequest("GET", "/trades", f"id={client_id}"))
        return [
            Trade(BTC, t["id"], client_id, venue_order_id, Side.BUY, t["qty"], t["price"],
                  t["fee"], "BTC", False, 1.0)
            for t in json.loads(response.body)
        ]  # fmt: skip


@attrs.define
class ToyVenue:
    """Orders by client id; ``script`` says how to answer the next placements."""

    script: list[str] = attrs.field(factory=list)
    rest: RestClient | None = None
    orders: dict[str, dict] = attrs.field(factory=dict)
    placements: list[str] = attrs.field(factory=list)
    queries: int = 0
    holding: trio.Event = attrs.field(factory=trio.Event)
    """Set once a placement scripted ``held`` was taken: its answer never comes."""
    trades: dict[str, list[dict]] = attrs.field(factory=dict)
    """Client id → its trades, as ``/trades`` lists them."""
    trades_hidden: int = 0
    """How many of the next ``/trades`` requests list none (a read-after-write lag)."""
    trade_queries: int = 0
    clock_ahead_s: float = 0.0
    """How far the venue's clock is ahead of this machine's."""
    amends: list[float] = attrs.field(factory=list)
    """Each amend request's new quantity."""
    amend_script: list[str] = attrs.field(factory=list)
    """How to answer the next amends: ``lost-after`` takes it and never answers,
    ``refuse`` refuses it (a size the venue will not take)."""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            return await self._place(json.loads(request.body))
        if request.path == "/time":
            return HttpResponse(200, json.dumps({"now": time.time() + self.clock_ahead_s}).encode())
        if request.path == "/trades":
            self.trade_queries += 1
            if self.trades_hidden > 0:
                self.trades_hidden -= 1
                return HttpResponse(200, b"[]")
            return HttpResponse(200, json.dumps(self.trades.get(request.query["id"], [])).encode())
        client_id = request.query["id"]
        order = self.orders.get(client_id)
        if request.method == "GET":
            self.queries += 1
        if order is None:
            return HttpResponse(404, b'{"code":"unknown"}')
        if request.method == "DELETE" and order["status"] in ("new", "partially_filled"):
            order["status"] = "cancelled"
        if request.method == "PUT":
            self.amends.append(float(request.query["qty"]))
            if order["status"] not in ("new", "partially_filled"):
                return HttpResponse(400, b'{"code":"finished"}')
            script = self.amend_script.pop(0) if self.amend_script else ""
            if script == "refuse":
                return HttpResponse(400, b'{"code":"size"}')
            order["qty"] = float(request.query["qty"])
            if script == "lost-after":
                raise CloseWithoutAnswer
        return HttpResponse(200, json.dumps(order).encode())

    async def _place(self, body: dict) -> HttpResponse:
        action = self.script.pop(0) if self.script else "fill"
        self.placements.append(body["id"])
        if action == "429":
            return HttpResponse(429, b"{}", headers=(("Retry-After", "0.2"),))
        window_left = ()
        if action == "last-of-window":
            window_left = (("X-Toy-Window-Left", "0.3"),)
        if action == "reject":
            return HttpResponse(400, b'{"code":"balance"}')
        if action == "bad-keys":
            return HttpResponse(401, b'{"code":"keys"}')
        if action == "lost-before":
            raise CloseWithoutAnswer
        if body["id"] in self.orders:
            return HttpResponse(400, b'{"code":"duplicate"}')
        filled = {"fill": body["qty"], "partial": body["qty"] / 2, "rest": 0.0}.get(
            action, body["qty"]
        )
        status = {"fill": "filled", "partial": "cancelled", "rest": "new"}.get(action, "filled")
        order = {"id": body["id"], "status": status, "filled": filled, "price": body["price"]}
        self.orders[body["id"]] = order
        if window_left:
            return HttpResponse(200, json.dumps(order).encode(), headers=window_left)
        if action == "held":
            self.holding.set()
            await trio.sleep_forever()
        if action in ("lost-after", "fill-then-500"):
            if action == "lost-after":
                raise CloseWithoutAnswer
            return HttpResponse(502, b"{}")
        return HttpResponse(200, json.dumps(order).encode())


@pytest.fixture
async def venue(nursery):
    venue = ToyVenue()
    server = HttpServer(venue.handle)
    port = await nursery.start(server.serve)
    async with RestClient(f"http://127.0.0.1:{port}", timeout_s=0.3) as rest:
        venue.rest = rest
        yield venue


@attrs.define
class Incarnations:
    """Runs a router as its supervisor does: every incarnation on the same object and
    mailbox; a crash cancels the running one, and everything it started."""

    nursery: trio.Nursery
    router: Router
    inbox: Mailbox
    started: int = 0
    _running: Incarnation | None = None
    _scope: trio.CancelScope | None = None
    _ended: trio.Event | None = None

    async def start(self):
        """Start the next incarnation; returns once it has loaded the rules."""
        self._running = Incarnation(self.router.name, self.started, None, self.inbox)
        self._scope, self._ended = trio.CancelScope(), trio.Event()
        self.started += 1
        await self.nursery.start(self._run)

    async def _run(self, task_status):
        try:
            with self._scope:
                await self.router.run(self._running, task_status=task_status)
        finally:
            self._ended.set()

    async def crash(self):
        """Cancel the running incarnation, as a crash ends it, and wait until it is gone."""
        self._scope.cancel()
        await self._ended.wait()

    async def stop(self):
        """Stop as the supervisor asks: once this returns, the router has nothing in
        flight, so it has said all it will say."""
        self._running.request_stop()
        with trio.fail_after(5):
            await self._ended.wait()


async def start_incarnations(nursery, venue, codec=None, **options):
    strategy = Mailbox("strategy")
    router = Router(
        "router-toy",
        codec or ToyCodec(),
        venue.rest,
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        poll_interval_s=options.pop("poll_interval_s", 0.02),
        read_after_write_s=0.05,
        backoff=Backoff(min_s=0.01, max_s=0.05),
        rng=random.Random(1),
        **options,
    )
    incarnations = Incarnations(nursery, router, Mailbox("router"))
    await incarnations.start()
    return incarnations, strategy


async def start_router(nursery, venue, **options):
    incarnations, strategy = await start_incarnations(nursery, venue, **options)
    return incarnations.router, incarnations.inbox, strategy


def order(seq, qty=0.5, price=100.04, tif=TimeInForce.IOC):
    return Order(f"t1-{seq}s", Leg.SPOT, BTC, Side.BUY, qty, price, tif=tif)


async def until(strategy, client_id, *last):
    """Everything the strategy hears about ``client_id`` up to a message of a ``last`` kind."""
    heard = []
    with trio.fail_after(5):
        while True:
            message = await strategy.receive()
            if getattr(message, "client_id", None) != client_id:
                continue
            heard.append(message)
            if isinstance(message, last):
                return heard


async def until_final(strategy, client_id):
    """Everything the strategy hears about ``client_id`` up to its final word."""
    return await until(strategy, client_id, OrderFinal, OrderRejected)


async def rest_until_stopped(incarnations, strategy, client_id):
    """Everything else the strategy hears about ``client_id`` before the router stops."""
    await incarnations.stop()
    return [m for m in strategy.take_all_nowait() if getattr(m, "client_id", None) == client_id]


def kinds(heard):
    return [type(m).__name__ for m in heard]


async def test_a_filled_order_is_accepted_filled_and_final_in_that_order(nursery, venue):
    router, inbox, strategy = await start_router(nursery, venue)
    rules = await strategy.receive()
    assert (rules.leg, rules.rules) == (Leg.SPOT, RULES)
    assert router.last_fill(BTC) is None
    sent_at = trio.current_time()
    await inbox.send(PlaceOrder(order(1, qty=0.5004, price=100.04)))
    heard = await until_final(strategy, "t1-1s")
    # When the fill was heard: the position watch waits the venue's lag after it.
    assert sent_at <= router.last_fill(BTC) <= trio.current_time()
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    fill, final = heard[1], heard[2]
    # Rounded when built: down to the 0.001 step, to the 0.1 tick.
    assert (fill.qty, fill.price) == (0.5, 100.0)
    assert fill.fee == pytest.approx(0.5 * 100.0 * 0.001)
    assert (final.status, final.filled_qty, final.avg_price) == (OrderStatus.FILLED, 0.5, 100.0)
    assert venue.placements == ["t1-1s"]


async def test_a_rejection_is_reported_with_the_venues_reason(nursery, venue):
    venue.script = ["reject"]
    told = []
    _, inbox, strategy = await start_router(
        nursery, venue, on_balance_refused=lambda: told.append(trio.current_time())
    )
    await inbox.send(PlaceOrder(order(1)))
    [rejected] = await until_final(strategy, "t1-1s")
    assert isinstance(rejected, OrderRejected)
    assert "balance" in rejected.reason
    # A refusal for the balance is told before the strategy hears it (the risk actor
    # spends the venue's balance at once), and only once.
    assert len(told) == 1


async def test_three_rejections_in_a_row_make_a_venue_refusing_orders_until_one_is_accepted(
    nursery, venue
):
    venue.script = ["reject", "reject", "reject", "fill"]
    router, inbox, strategy = await start_router(nursery, venue)
    for seq in (1, 2):
        await inbox.send(PlaceOrder(order(seq)))
        await until_final(strategy, f"t1-{seq}s")
    assert router.statistics().orders_refused is None  # two may be the orders' fault
    await inbox.send(PlaceOrder(order(3)))
    await until_final(strategy, "t1-3s")
    stats = router.statistics()
    assert stats.orders_refused is not None and not stats.account_refused
    assert stats.orders_refused.startswith("3 orders in a row rejected, the last: toy: balance")
    await inbox.send(PlaceOrder(order(4)))
    await until_final(strategy, "t1-4s")
    assert router.statistics().orders_refused is None


async def test_one_rejection_of_the_keys_makes_the_venue_refuse_the_account(nursery, venue):
    venue.script = ["bad-keys"]
    told = []
    router, inbox, strategy = await start_router(
        nursery, venue, on_balance_refused=lambda: told.append(1)
    )
    await inbox.send(PlaceOrder(order(1)))
    await until_final(strategy, "t1-1s")
    assert told == []  # not a refusal for the balance
    stats = router.statistics()
    assert stats.account_refused
    assert stats.orders_refused == "the account is refused: toy: keys (code keys, HTTP 401)"


async def test_the_clock_skew_against_the_venue_is_measured_at_each_load_of_the_rules(
    nursery, venue
):
    venue.clock_ahead_s = 3.0  # this machine's clock is 3 s behind the venue's
    router, _, _ = await start_router(nursery, venue, rules_refresh_s=0.05)
    stats = router.statistics()
    assert stats.clock_skew_s is not None and abs(stats.clock_skew_s + 3.0) < 0.1
    assert (stats.clock_window.ahead_s, stats.clock_window.behind_s) == (1.0, 5.0)
    venue.clock_ahead_s = -0.2
    await wait_until(lambda: abs(router.statistics().clock_skew_s - 0.2) < 0.1, 5)


async def test_429_waits_as_told_then_the_same_intent_goes_once(nursery, venue):
    venue.script = ["429"]
    router, inbox, strategy = await start_router(nursery, venue)
    began = trio.current_time()
    await inbox.send(PlaceOrder(order(1)))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert trio.current_time() - began >= 0.2
    assert venue.placements == ["t1-1s", "t1-1s"]
    assert router.stats.rate_limited == 1


async def test_a_reply_saying_the_budget_is_spent_holds_the_next_order_until_it_turns(
    nursery, venue
):
    venue.script = ["last-of-window", "fill"]
    router, inbox, strategy = await start_router(nursery, venue)
    began = trio.current_time()
    await inbox.send(PlaceOrder(order(1)))
    await until_final(strategy, "t1-1s")
    await inbox.send(PlaceOrder(order(3)))
    await until_final(strategy, "t1-3s")
    # Held off as the venue's headers said (two orders take a few ms otherwise), before
    # it had to refuse anything.
    assert trio.current_time() - began >= 0.3
    assert router.stats.held_off == 1 and router.stats.rate_limited == 0
    assert venue.placements == ["t1-1s", "t1-3s"]


@pytest.mark.parametrize("lost", ["lost-after", "fill-then-500"])
async def test_an_order_taken_but_unanswered_is_found_by_client_id_not_placed_twice(
    nursery, venue, lost
):
    venue.script = [lost]
    router, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1)))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert venue.placements == ["t1-1s"]
    assert venue.queries >= 1
    assert router.stats.unknown_resolved == 1


async def test_an_order_lost_before_the_venue_took_it_is_sent_again_after_looking(nursery, venue):
    venue.script = ["lost-before"]
    router, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1)))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert venue.placements == ["t1-1s", "t1-1s"]
    assert venue.queries >= 2  # looked until the venue's read-after-write lag had passed
    assert router.stats.resent_after_not_found == 1


@pytest.mark.parametrize("hidden", [1, 1000])
async def test_trades_the_venue_does_not_list_yet_are_asked_for_again_within_its_lag(
    nursery, venue, caplog, hidden
):
    # The order report says 0.5 filled; the venue lists the trade (its fee in the coin)
    # only from the second request on, or (1000) not within its lag at all.
    caplog.set_level("WARNING", logger="basis.router")
    venue.trades["t1-1s"] = [{"id": "T1", "qty": 0.5, "price": 100.04, "fee": 0.0005}]
    venue.trades_hidden = hidden
    _, inbox, strategy = await start_router(nursery, venue, codec=TradesCodec())
    await inbox.send(PlaceOrder(order(1)))
    heard = await until_final(strategy, "t1-1s")
    fills = [m for m in heard if isinstance(m, Fill)]
    warned = [r for r in caplog.records if "t1-1s" in r.message and "estimated" in r.message]
    if hidden == 1:
        assert [(f.qty, f.commission, f.commission_asset) for f in fills] == [(0.5, 0.0005, "BTC")]
        assert warned == []
    else:
        assert [(f.qty, f.commission) for f in fills] == [(0.5, 0.0)]  # the estimate stands
        assert len(warned) == 1 and "cover 0 of the 0.5" in warned[0].message
        assert venue.trade_queries > 1


async def test_the_order_lists_are_searched_since_the_send_or_whole_when_it_is_not_known(
    nursery, venue
):
    venue.script = ["lost-before"]
    router, inbox, strategy = await start_router(nursery, venue)
    before = time.time()
    await inbox.send(PlaceOrder(order(1)))
    await until_final(strategy, "t1-1s")
    [(client_id, since)] = router.codec.listed
    # Sent after ``before``, and looked for once the read-after-write lag had passed.
    assert client_id == "t1-1s"
    assert before <= since <= time.time() - router.visibility.read_after_write_s
    await inbox.send(CancelOrder(Leg.SPOT, "t1-8s", BTC))  # sent by an earlier run, if ever
    await until_final(strategy, "t1-8s")
    assert router.codec.listed[1:] == [("t1-8s", None)]


async def test_a_partial_fill_delivers_what_filled(nursery, venue):
    venue.script = ["partial"]
    _, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1, qty=1.0)))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert heard[1].qty == 0.5
    assert (heard[2].status, heard[2].filled_qty) == (OrderStatus.CANCELLED, 0.5)


async def test_a_resting_order_is_followed_and_cancelled(nursery, venue):
    venue.script = ["rest"]
    _, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1, tif=TimeInForce.GTC)))
    accepted = None
    with trio.fail_after(5):
        while not isinstance(accepted, OrderAccepted):
            accepted = await strategy.receive()
    await inbox.send(CancelOrder(Leg.SPOT, "t1-1s", BTC))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderFinal"]
    assert heard[0].status is OrderStatus.CANCELLED


async def test_a_stop_waits_for_orders_in_flight_to_end_not_for_their_next_poll(nursery, venue):
    # Polled once a minute: a stop waiting for the next poll of an order that has ended
    # would outlast its own bound (5 s, ``Incarnations.stop``).
    venue.script = ["rest"]
    incarnations, strategy = await start_incarnations(nursery, venue, poll_interval_s=60.0)
    await incarnations.inbox.send(PlaceOrder(order(1, tif=TimeInForce.GTC)))
    await until(strategy, "t1-1s", OrderAccepted)
    await incarnations.inbox.send(CancelOrder(Leg.SPOT, "t1-1s", BTC))
    heard = await until_final(strategy, "t1-1s")
    assert heard[-1].status is OrderStatus.CANCELLED
    await incarnations.stop()


class AmendingCodec(ToyCodec):
    """A venue that changes an open order's size in place."""

    def amend(self, order, venue_order_id, rules, now):
        return RestRequest("PUT", "/order", f"id={order.client_id}&qty={order.qty}")


async def test_an_amend_whose_outcome_is_unknown_is_sent_again_as_it_is(nursery, venue):
    venue.script = ["rest"]
    router, inbox, strategy = await start_router(nursery, venue, codec=AmendingCodec())
    await inbox.send(PlaceOrder(order(1, qty=0.5, tif=TimeInForce.GTC)))
    await until(strategy, "t1-1s", OrderAccepted)
    venue.amend_script = ["lost-after"]
    await inbox.send(AmendOrder(Leg.SPOT, "t1-1s", BTC, 0.2004))
    followed = router.orders["t1-1s"]
    await wait_until(lambda: followed.order.qty == 0.2)
    # The size is absolute: sent again, in the venue's step, it changes nothing more.
    assert venue.amends == [0.2, 0.2] and venue.orders["t1-1s"]["status"] == "new"
    await inbox.send(CancelOrder(Leg.SPOT, "t1-1s", BTC))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderFinal"] and heard[0].status is OrderStatus.CANCELLED


async def test_a_refused_amend_cancels_the_order_so_the_venue_never_holds_more(nursery, venue):
    # The strategy already counts the order at its smaller size: left open at the
    # larger one, it could fill past what the strategy expects.
    venue.script = ["rest"]
    _, inbox, strategy = await start_router(nursery, venue, codec=AmendingCodec())
    await inbox.send(PlaceOrder(order(1, qty=0.5, tif=TimeInForce.GTC)))
    await until(strategy, "t1-1s", OrderAccepted)
    venue.amend_script = ["refuse"]
    await inbox.send(AmendOrder(Leg.SPOT, "t1-1s", BTC, 0.2))
    heard = await until_final(strategy, "t1-1s")
    assert kinds(heard) == ["OrderFinal"] and heard[0].status is OrderStatus.CANCELLED
    assert venue.amends == [0.2] and venue.orders["t1-1s"]["status"] == "cancelled"


async def test_an_amend_of_an_order_no_longer_open_leaves_it_to_its_reports(nursery, venue):
    _, inbox, strategy = await start_router(nursery, venue, codec=AmendingCodec())
    await inbox.send(PlaceOrder(order(1, qty=0.5)))
    await until_final(strategy, "t1-1s")
    await inbox.send(AmendOrder(Leg.SPOT, "t1-1s", BTC, 0.2))
    await inbox.send(AmendOrder(Leg.SPOT, "t1-9s", BTC, 0.2))  # never placed here
    await trio.sleep(0.1)
    assert venue.amends == []
    assert [m for m in strategy.take_all_nowait() if getattr(m, "client_id", "")] == []


class ForgettingCodec(ToyCodec):
    """A venue that forgets an order that ended unfilled (as Gate.io does)."""

    forgets_unfilled = True


@attrs.define
class CancelsUnreachable:
    """The venue's connection, except that cancels go to a port nothing listens on:
    each is refused before anything is sent."""

    venue: RestClient
    nowhere: RestClient

    async def send(self, request):
        return await (self.nowhere if request.method == "DELETE" else self.venue).send(request)


async def test_a_cancel_never_sent_does_not_let_not_found_end_the_order(nursery, venue):
    venue.script = ["rest"]
    router, inbox, strategy = await start_router(nursery, venue, codec=ForgettingCodec())
    await inbox.send(PlaceOrder(order(1, tif=TimeInForce.GTC)))
    await until(strategy, "t1-1s", OrderAccepted)
    with trio.socket.socket() as closed:
        await closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    async with RestClient(f"http://127.0.0.1:{port}", timeout_s=0.3) as nowhere:
        router.rest = CancelsUnreachable(venue.rest, nowhere)
        await inbox.send(CancelOrder(Leg.SPOT, "t1-1s", BTC))
        await wait_until(lambda: nowhere.failures >= 2)
        # The venue no longer shows the order (the router cannot tell why): with no cancel
        # sent and the order not immediate-or-cancel, nothing says it ended.
        del venue.orders["t1-1s"]
        queries = venue.queries
        followed = router.orders["t1-1s"]
        await wait_until(lambda: venue.queries >= queries + 10 or followed.final)
        assert not followed.final
        assert [m for m in strategy.take_all_nowait() if getattr(m, "client_id", None)] == []


async def test_the_same_intent_twice_is_sent_once(nursery, venue):
    _, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1)))
    await inbox.send(PlaceOrder(order(1)))
    await until_final(strategy, "t1-1s")
    await trio.sleep(0.1)
    assert venue.placements == ["t1-1s"]


async def test_fills_are_never_doubled_whatever_reports_them(nursery, venue):
    router, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(PlaceOrder(order(1, qty=1.0)))
    heard = await until_final(strategy, "t1-1s")
    assert sum(m.qty for m in heard if isinstance(m, Fill)) == 1.0

    # A private trade report for the same quantity, late, and then again.
    trade = Trade(BTC, "T1", "t1-1s", "v-t1-1s", Side.BUY, 1.0, 100.0, 0.1, "USDT", False, 0.0)
    await router.on_trade(trade)
    await router.on_trade(trade)
    assert len(strategy) == 0


async def test_a_token_bucket_holds_placements_under_the_limit(nursery, venue):
    router, inbox, strategy = await start_router(
        nursery, venue, order_bucket=TokenBucket(rate_per_s=50.0, burst=1.0)
    )
    began = trio.current_time()
    for seq in range(1, 6):
        await inbox.send(PlaceOrder(order(seq)))
    for seq in range(1, 6):
        await until_final(strategy, f"t1-{seq}s")
    # Five placements at 50/s after a burst of one take at least 4/50 s.
    assert trio.current_time() - began >= 4 / 50
    assert router.order_bucket.waits >= 4
    assert msgspec.json.encode(sorted(venue.placements)) == msgspec.json.encode(
        [f"t1-{s}s" for s in range(1, 6)]
    )


async def test_finished_orders_are_forgotten_but_never_sent_again(nursery, venue):
    router, inbox, strategy = await start_router(nursery, venue, keep_finished_s=0.05)
    await inbox.send(PlaceOrder(order(1)))
    await until_final(strategy, "t1-1s")
    await trio.sleep(0.1)
    await inbox.send(PlaceOrder(order(2)))
    await until_final(strategy, "t1-2s")
    assert "t1-1s" not in router.orders  # a router that runs for weeks keeps no history
    await inbox.send(PlaceOrder(order(1)))
    await inbox.send(PlaceOrder(order(3)))
    await until_final(strategy, "t1-3s")
    assert venue.placements == ["t1-1s", "t1-2s", "t1-3s"]


async def test_an_order_from_before_a_restart_is_adopted_when_cancelled(nursery, venue):
    venue.orders["t1-7s"] = {"id": "t1-7s", "status": "filled", "filled": 0.25, "price": 101.0}
    incarnations, strategy = await start_incarnations(nursery, venue)
    await incarnations.inbox.send(CancelOrder(Leg.SPOT, "t1-7s", BTC))
    heard = await until_final(strategy, "t1-7s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert (heard[1].qty, heard[1].price) == (0.25, 101.0)
    assert await rest_until_stopped(incarnations, strategy, "t1-7s") == []
    assert incarnations.router.stats.unknown_resolved == 1
    assert venue.placements == []


async def test_an_order_an_earlier_run_left_in_flight_is_reconciled_by_client_id(nursery, venue):
    venue.orders["t1-9s"] = {"id": "t1-9s", "status": "filled", "filled": 0.25, "price": 101.0}
    incarnations, strategy = await start_incarnations(nursery, venue)
    await incarnations.inbox.send(ReconcileOrder(Leg.SPOT, "t1-9s", BTC))
    heard = await until_final(strategy, "t1-9s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert (heard[1].qty, heard[1].price) == (0.25, 101.0)
    assert incarnations.router.stats.unknown_resolved == 1
    assert venue.placements == []


async def test_an_acknowledged_order_the_venue_never_finds_is_reported_unresolved_not_ended(
    nursery, venue, caplog
):
    # An earlier run journaled the venue's acknowledgement; this venue (like MEXC) never
    # forgets an order, yet it has none: no outcome may be inferred, the owner waits.
    caplog.set_level("INFO", logger="basis.router")
    incarnations, strategy = await start_incarnations(
        nursery, venue, lookup_give_up_s=0.3, not_found_log_every_s=60.0
    )
    router = incarnations.router
    await incarnations.inbox.send(ReconcileOrder(Leg.SPOT, "t1-9s", BTC, "v-t1-9s"))
    await wait_until(lambda: "t1-9s" in router.statistics().unresolved_orders)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "t1-9s" in r.message]
    assert len(errors) == 1 and "unresolved" in errors[0].message
    await wait_until(lambda: venue.queries >= 20)
    not_found = [r for r in caplog.records if "t1-9s not found" in r.message]
    assert len(not_found) == 1  # logged once, not at every poll
    heard = [m for m in strategy.take_all_nowait() if getattr(m, "client_id", None) == "t1-9s"]
    assert heard == []  # nothing invented: no end, no rejection
    # Its owner cancels it at each timeout: the lookup under way answers for all.
    await incarnations.inbox.send(CancelOrder(Leg.SPOT, "t1-9s", BTC))
    await incarnations.inbox.send(CancelOrder(Leg.SPOT, "t1-9s", BTC))
    queries = venue.queries
    await wait_until(lambda: venue.queries >= queries + 10)
    # The venue shows it after all: it is taken up once, and no longer unresolved.
    venue.orders["t1-9s"] = {"id": "t1-9s", "status": "filled", "filled": 0.25, "price": 101.0}
    heard = await until_final(strategy, "t1-9s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert router.statistics().unresolved_orders == {}
    assert await rest_until_stopped(incarnations, strategy, "t1-9s") == []


async def test_an_intent_that_never_left_is_reported_rejected(nursery, venue):
    _, inbox, strategy = await start_router(nursery, venue)
    await inbox.send(CancelOrder(Leg.SPOT, "t1-8s", BTC))
    [rejected] = await until_final(strategy, "t1-8s")
    assert isinstance(rejected, OrderRejected)
    assert "never left" in rejected.reason


async def test_an_order_followed_when_the_router_crashed_is_followed_to_its_end_after(
    nursery, venue
):
    venue.script = ["rest"]
    incarnations, strategy = await start_incarnations(nursery, venue)
    await incarnations.inbox.send(PlaceOrder(order(1, tif=TimeInForce.GTC)))
    heard = await until(strategy, "t1-1s", OrderAccepted)
    await incarnations.crash()
    venue.orders["t1-1s"].update(status="filled", filled=0.5)  # while nobody follows it
    await incarnations.start()
    heard += await until_final(strategy, "t1-1s")
    heard += await rest_until_stopped(incarnations, strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    fill, final = heard[1], heard[2]
    assert (fill.qty, fill.price) == (0.5, 100.0)
    assert (final.status, final.filled_qty, final.avg_price) == (OrderStatus.FILLED, 0.5, 100.0)
    assert venue.placements == ["t1-1s"]


async def test_a_placement_unanswered_when_the_router_crashed_is_looked_up_after(nursery, venue):
    venue.script = ["held"]
    incarnations, strategy = await start_incarnations(nursery, venue)
    router = incarnations.router
    await incarnations.inbox.send(PlaceOrder(order(1)))
    await venue.holding.wait()
    await incarnations.crash()
    assert not router.orders["t1-1s"].accepted  # the crash came before any answer
    await incarnations.start()
    heard = await until_final(strategy, "t1-1s")
    heard += await rest_until_stopped(incarnations, strategy, "t1-1s")
    assert kinds(heard) == ["OrderAccepted", "Fill", "OrderFinal"]
    assert (heard[2].status, heard[2].filled_qty) == (OrderStatus.FILLED, 0.5)
    assert venue.placements == ["t1-1s"]
    assert router.stats.unknown_resolved == 1


async def test_a_placement_that_never_left_when_the_router_crashed_is_reported_rejected(
    nursery, venue
):
    incarnations, strategy = await start_incarnations(nursery, venue)
    router = incarnations.router
    router.order_bucket.close_for(60.0)
    await incarnations.inbox.send(PlaceOrder(order(1)))
    await wait_until(lambda: router.order_bucket.waits == 1)  # held before it is sent
    await incarnations.crash()
    router.order_bucket = TokenBucket(10.0, 10.0)  # nothing would hold a resend now
    await incarnations.start()
    [rejected] = await until_final(strategy, "t1-1s")
    assert isinstance(rejected, OrderRejected)
    assert "never reached the venue before the router restarted" in rejected.reason
    assert await rest_until_stopped(incarnations, strategy, "t1-1s") == []
    assert venue.placements == []
    assert venue.queries == 1  # never sent, so no lag to wait out


@pytest.mark.parametrize("script", ["fill", "reject"])
async def test_a_cancel_for_an_order_that_ended_has_its_end_reported_again(nursery, venue, script):
    venue.script = [script]
    incarnations, strategy = await start_incarnations(nursery, venue)
    await incarnations.inbox.send(PlaceOrder(order(1)))
    end = (await until_final(strategy, "t1-1s"))[-1]
    # Its owner lost that end (it crashed handling it) and keeps cancelling the order.
    await incarnations.inbox.send(CancelOrder(Leg.SPOT, "t1-1s", BTC))
    [again] = await until_final(strategy, "t1-1s")
    assert msgspec.structs.replace(again, now=end.now) == end
    assert await rest_until_stopped(incarnations, strategy, "t1-1s") == []
    assert venue.placements == ["t1-1s"]


class RulesLateCodec(ToyCodec):
    """A venue that answers its first ``failures`` rules requests with a 429 or a 5xx."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def load_rules(self, rest, symbols):
        if self.failures > 0:
            self.failures -= 1
            if self.failures % 2:
                raise RateLimited("toy", 429, "slow down", 429, 0.05)
            raise VenueUnavailable("toy", None, "down", 503)
        return await super().load_rules(rest, symbols)


async def test_a_venue_without_rules_at_start_does_not_stop_the_router(nursery, venue):
    strategy = Mailbox("strategy")
    router = Router(
        "router-toy",
        RulesLateCodec(failures=3),
        venue.rest,
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        backoff=Backoff(min_s=0.01, max_s=0.05),
        rng=random.Random(1),
    )
    inbox = Mailbox("router")
    await nursery.start(router.run, Incarnation("router-toy", 0, None, inbox))
    # Serving before the rules are known: a placement is refused, never sent.
    await inbox.send(PlaceOrder(order(1)))
    [refused] = await until_final(strategy, "t1-1s")
    assert isinstance(refused, OrderRejected) and "no toy rules" in refused.reason
    assert venue.placements == []
    # Asked again in the background until the venue answers; then it trades.
    with trio.fail_after(5):
        while not isinstance(await strategy.receive(), RulesUpdate):
            pass
    await inbox.send(PlaceOrder(order(2)))
    assert kinds(await until_final(strategy, "t1-2s")) == ["OrderAccepted", "Fill", "OrderFinal"]
