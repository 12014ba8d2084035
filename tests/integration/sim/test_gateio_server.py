"""The simulated Gate.io venue driven by Basis's own Gate.io clients over loopback: the
router codec and ``RestClient`` for REST, ``open_websocket`` and the feed codec for
streams."""

from __future__ import annotations

import hashlib
import hmac

import msgspec
import pytest
import trio

from actors.runtime.market.order_book import OrderBook, Outcome
from actors.runtime.market.websocket import open_websocket
from actors.runtime.orders.funding_book import FundingBook
from actors.sim.config import FuturesVenueConfig, GateioRateLimits, RateLimit
from actors.venues.gateio import (
    SIZE_DECIMAL,
    GateioFeedCodec,
    GateioFundingBookCodec,
    GateioRouterCodec,
)
from actors.venues.rest import RestClient
from protocols import gateio, gateio_rest
from protocols._wire import decimal
from protocols.model import (
    Leg,
    Order,
    OrderStatus,
    Quote,
    Side,
    Symbol,
    TimeInForce,
    VenueRules,
)
from protocols.rules import round_to_tick
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    DepthDiff,
    DepthSnapshot,
    FundingRate,
    FuturesPosition,
    InvalidSymbol,
    OrderAlreadyFinal,
    OrderUpdate,
    Pong,
    RestRequest,
    SubscriptionResult,
    TimestampRejected,
    Trade,
    UnknownOrder,
    UpgradeNotice,
)
from tests.unit.sim import helpers
from tests.venue_wire import gateio as gateio_wire

from .support import (
    BTC,
    COIN,
    CREDENTIALS,
    TICK_S,
    WAIT_S,
    fast,
    moving,
    next_matching,
    now,
    start,
)

ROUTER = GateioRouterCodec(CREDENTIALS)
CONTRACT_SIZE = 0.1  # COIN's, in the still config
USER = FuturesVenueConfig().user_id


def decoder(sizes):
    return lambda frame, recv_ts: gateio.decode_frame(frame, recv_ts, sizes)


decode = decoder({COIN: CONTRACT_SIZE})


def is_(kind, **fields):
    return lambda event: (
        isinstance(event, kind)
        and all(getattr(event, name) == value for name, value in fields.items())
    )


async def rules_of(rest) -> VenueRules:
    return (await ROUTER.load_rules(rest, [COIN]))[COIN]


async def place(rest, order, rules):
    response = await rest.send(ROUTER.place(order, rules, now()))
    assert response.status == 201, response.body
    return ROUTER.parse_placed(response, order, rules)


async def query(rest, client_id, rules):
    response = await rest.send(ROUTER.query(COIN, client_id, None, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_order(response, COIN, rules)


def error_of(response):
    return gateio_rest.error_from_response(response, now())


# ------------------------------------------------------------------------ REST


async def test_contract_rules_and_funding_are_served_as_configured(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    assert rules == VenueRules(
        qty_step=0.1,
        min_qty=0.1,
        price_tick=0.01,
        contract_size=0.1,
        min_contracts=1.0,
        taker_fee=0.0005,
    )
    response = await gateio_client.send(gateio_rest.contract_request(COIN))
    funding = gateio_rest.parse_funding(response.body)
    published = still_sim.venues.market.funding_rate(COIN)
    assert funding.interval_s == published.interval_s
    assert funding.next_ts == published.next_ts
    with pytest.raises(InvalidSymbol) as refused:
        await ROUTER.load_rules(gateio_client, [BTC])
    assert refused.value.code == "CONTRACT_NOT_FOUND"


async def test_the_order_book_is_the_engines(still_sim, gateio_client):
    response = await gateio_client.send(gateio_rest.order_book_request(COIN, limit=3))
    snapshot = gateio_rest.parse_order_book(response.body, COIN, CONTRACT_SIZE)
    book = still_sim.venues.market.book(COIN, Leg.FUTURES)
    engine = book.snapshot(3)
    assert [level.price for level in snapshot.asks] == [level.price for level in engine.asks]
    assert [level.qty for level in snapshot.bids] == pytest.approx(
        [level.qty for level in engine.bids]
    )
    assert 0 < snapshot.version <= book.version


async def test_an_order_rests_is_found_by_text_listed_and_cancelled(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    order = Order("g-rest", Leg.FUTURES, COIN, Side.SELL, 0.3, 101.0, tif=TimeInForce.GTC)
    placed = await place(gateio_client, order, rules)
    assert (placed.client_id, placed.status, placed.side, placed.price) == (
        "g-rest",
        OrderStatus.NEW,
        Side.SELL,
        101.0,
    )
    assert placed.qty == pytest.approx(0.3)
    assert (await query(gateio_client, "g-rest", rules)).status is OrderStatus.NEW
    listed = await gateio_client.send(
        gateio_wire.open_orders_request(COIN, CREDENTIALS, int(now()))
    )
    assert listed.status == 200
    assert [o.client_id for o in gateio_wire.parse_orders(listed.body, CONTRACT_SIZE)] == ["g-rest"]

    cancelled = await gateio_client.send(ROUTER.cancel(COIN, "g-rest", None, now()))
    assert ROUTER.parse_order(cancelled, COIN, rules).status is OrderStatus.CANCELLED
    again = await gateio_client.send(ROUTER.cancel(COIN, "g-rest", placed.venue_order_id, now()))
    assert (type(error_of(again)), error_of(again).code) == (OrderAlreadyFinal, "ORDER_FINISHED")
    unknown = await gateio_client.send(ROUTER.query(COIN, "never-sent", None, now()))
    assert (type(error_of(unknown)), error_of(unknown).code) == (UnknownOrder, "ORDER_NOT_FOUND")
    assert unknown.status == 404  # as Gate.io answers an order it does not know


async def amend(rest, order, qty, venue_order_id=None):
    smaller = msgspec.structs.replace(order, qty=qty)
    rules = VenueRules(contract_size=CONTRACT_SIZE)
    return await rest.send(ROUTER.amend(smaller, venue_order_id, rules, now()))


async def test_an_open_order_is_amended_down_pushed_and_cancelled_at_its_fill(
    still_sim, gateio_client
):
    """``PUT /futures/usdt/orders/{id}`` as documented: the new size counts what was
    filled, the side stays, and a size at or below the filled part cancels the order."""
    rules = await rules_of(gateio_client)
    async with open_websocket(still_sim.urls.gateio_ws, headers=[SIZE_DECIMAL]) as ws:
        request = gateio.subscribe_message(
            gateio.ORDERS, gateio.private_payload(USER, COIN), int(now()), 1, CREDENTIALS
        )
        await ws.send_message(request)
        assert (await next_matching(ws, decode, is_(SubscriptionResult))).ok
        # A sell at the bid, larger than the bid: it fills the bid and rests the rest.
        bid = still_sim.venues.market.quote(COIN, Leg.FUTURES)
        size = round(bid.bid_qty + 0.5, 1)
        order = Order("g-amend", Leg.FUTURES, COIN, Side.SELL, size, bid.bid, tif=TimeInForce.GTC)
        placed = await place(gateio_client, order, rules)
        assert placed.status is OrderStatus.PARTIALLY_FILLED
        assert placed.filled_qty == pytest.approx(bid.bid_qty)
        await next_matching(ws, decode, is_(OrderUpdate, client_id="g-amend"))

        down = round(bid.bid_qty + 0.2, 1)
        response = await amend(gateio_client, order, down)
        assert response.status == 200, response.body
        # Counted with placements, against their limit.
        limit = GateioRateLimits().place.requests
        assert response.header(gateio_rest.LIMIT_HEADER) == str(limit)
        amended = ROUTER.parse_order(response, COIN, rules)
        assert amended.status is OrderStatus.PARTIALLY_FILLED
        assert amended.qty == pytest.approx(down)
        pushed = await next_matching(ws, decode, is_(OrderUpdate, client_id="g-amend"))
        assert pushed.qty == pytest.approx(down)

        wrong_side = gateio_rest.amend_order_request(
            Side.BUY, down, CONTRACT_SIZE, CREDENTIALS, int(now()), client_id="g-amend"
        )
        refused = error_of(await gateio_client.send(wrong_side))
        assert refused.code == "INVALID_PARAM_VALUE"

        # Down to what it filled: the venue cancels it, and says so on the stream.
        response = await amend(gateio_client, order, round(bid.bid_qty, 1))
        assert response.status == 200, response.body
        ended = ROUTER.parse_order(response, COIN, rules)
        assert ended.status is OrderStatus.CANCELLED
        assert ended.filled_qty == pytest.approx(bid.bid_qty)
        pushed = await next_matching(ws, decode, is_(OrderUpdate, client_id="g-amend"))
        assert pushed.status is OrderStatus.CANCELLED
        again = error_of(await amend(gateio_client, order, 0.1, placed.venue_order_id))
        assert (type(again), again.code) == (OrderAlreadyFinal, "ORDER_FINISHED")
        unknown = error_of(
            await amend(gateio_client, msgspec.structs.replace(order, client_id="nope"), 0.1)
        )
        assert (type(unknown), unknown.code) == (UnknownOrder, "ORDER_NOT_FOUND")


async def test_server_time_is_wall_clock_time(gateio_client):
    before = now()
    response = await gateio_client.send(gateio_rest.server_time_request())
    after = now()
    # trio's clock, which the server reads, and the system clock may drift a little apart.
    assert before - 1.0 <= gateio_rest.parse_server_time(response.body) <= after + 1.0


async def test_an_ioc_short_fills_at_the_bid_and_opens_a_position(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    bid = still_sim.venues.market.quote(COIN, Leg.FUTURES).bid
    await place(gateio_client, Order("g-take", Leg.FUTURES, COIN, Side.SELL, 0.5, bid), rules)
    filled = await query(gateio_client, "g-take", rules)
    assert (filled.status, filled.avg_price) == (OrderStatus.FILLED, bid)
    assert filled.filled_qty == pytest.approx(0.5)

    response = await gateio_client.send(gateio_rest.position_request(COIN, CREDENTIALS, int(now())))
    position = gateio_rest.parse_position(response.body, CONTRACT_SIZE)
    assert (position.qty, position.entry_price) == (pytest.approx(-0.5), bid)
    response = await gateio_client.send(
        gateio_rest.futures_account_request(CREDENTIALS, int(now()))
    )
    account = gateio_wire.parse_accounts(response.body)
    engine = still_sim.venues.futures.account()
    assert account.asset == "USDT"
    assert account.locked == pytest.approx(engine.position_margin + engine.order_margin)
    assert account.locked == pytest.approx(0.5 * still_sim.venues.market.mark_price(COIN))


async def test_open_orders_of_every_contract_are_listed_without_a_contract(moving_sim):
    eth = Symbol("ETH", "USDT")
    async with RestClient(moving_sim.urls.gateio_rest) as rest:
        rules = await ROUTER.load_rules(rest, [BTC, eth])
        for client_id, symbol, qty in (("g-btc", BTC, 0.01), ("g-eth", eth, 0.1)):
            below = moving_sim.venues.market.quote(symbol, Leg.FUTURES).bid * 0.5
            price = round_to_tick(below, rules[symbol].price_tick)
            resting = Order(
                client_id, Leg.FUTURES, symbol, Side.BUY, qty, price, tif=TimeInForce.GTC
            )
            await place(rest, resting, rules[symbol])
        everything = await rest.send(gateio_wire.open_orders_request(None, CREDENTIALS, int(now())))
        only_eth = await rest.send(gateio_wire.open_orders_request(eth, CREDENTIALS, int(now())))
    listed = msgspec.json.decode(everything.body)
    assert everything.status == 200
    assert sorted((o["contract"], o["text"]) for o in listed) == [
        ("BTC_USDT", "t-g-btc"),
        ("ETH_USDT", "t-g-eth"),
    ]
    assert [o["text"] for o in msgspec.json.decode(only_eth.body)] == ["t-g-eth"]


async def test_the_accounts_trades_are_listed_by_time_range(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    quote = still_sim.venues.market.quote(COIN, Leg.FUTURES)
    started = now() - 1.0
    await place(
        gateio_client, Order("g-short", Leg.FUTURES, COIN, Side.SELL, 0.5, quote.bid), rules
    )
    # Buying 8 contracts against a short of 5 closes the 5 and opens 3 long.
    await place(gateio_client, Order("g-flip", Leg.FUTURES, COIN, Side.BUY, 0.8, quote.ask), rules)

    async def listed(*params):
        request = gateio_wire.my_trades_timerange_request(params, CREDENTIALS, int(now()))
        response = await gateio_client.send(request)
        assert response.status == 200, response.body
        return msgspec.json.decode(response.body)

    trades = await listed(("contract", "COIN_USDT"), ("from", str(int(started))))
    assert [(t["text"], t["size"], t["close_size"]) for t in trades] == [
        ("t-g-flip", 8, 5),
        ("t-g-short", -5, 0),
    ]
    newest = trades[0]
    fill = still_sim.venues.futures.ledger.fills(COIN)[-1]
    assert newest["trade_id"] == fill.trade_id and newest["order_id"] == fill.venue_order_id
    assert (newest["price"], newest["role"], newest["create_time"]) == (
        decimal(quote.ask),
        "taker",
        round(fill.ts, 3),  # to the millisecond
    )
    assert float(newest["fee"]) == pytest.approx(fill.fee)
    assert await listed(("role", "maker")) == []
    assert await listed(("to", str(started))) == []
    assert [t["text"] for t in await listed(("limit", "1"), ("offset", "1"))] == ["t-g-short"]
    assert len(await listed()) == 2


async def test_one_orders_trades_are_listed_with_the_fees_it_was_charged(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    quote = still_sim.venues.market.quote(COIN, Leg.FUTURES)
    sold = await place(
        gateio_client, Order("g-sold", Leg.FUTURES, COIN, Side.SELL, 0.3, quote.bid), rules
    )
    await place(gateio_client, Order("g-other", Leg.FUTURES, COIN, Side.BUY, 0.2, quote.ask), rules)
    request = gateio_rest.order_trades_request(COIN, sold.venue_order_id, CREDENTIALS, int(now()))
    response = await gateio_client.send(request)
    assert response.status == 200, response.body
    [listed] = msgspec.json.decode(response.body)
    assert set(listed) == {
        "id", "create_time", "contract", "order_id", "size", "close_size", "price", "role",
        "text", "fee", "point_fee",
    }  # fmt: skip
    assert isinstance(listed["id"], int)
    assert (listed["order_id"], listed["text"], listed["size"]) == (
        sold.venue_order_id,
        "t-g-sold",
        -3,
    )
    [fill] = [
        fill
        for fill in still_sim.venues.futures.ledger.fills(COIN)
        if fill.venue_order_id == sold.venue_order_id
    ]
    [trade] = await ROUTER.order_trades(gateio_client, COIN, sold.venue_order_id, now())
    assert (trade.trade_id, trade.client_id, trade.fee_asset) == (fill.trade_id, "g-sold", "USDT")
    assert (trade.fee, trade.qty) == (pytest.approx(fill.fee), pytest.approx(0.3))


async def listed(rest: RestClient, client_id: str) -> OrderUpdate | None:
    """The router codec's search of the order lists, every page (its send time unknown)."""
    return await ROUTER.listed_order(rest, COIN, client_id, None, trio.lowlevel.checkpoint)


async def test_the_finished_list_pages_and_forgets_what_a_query_forgets(still_sim, gateio_client):
    """Gate.io's order list: a zero-fill order cannot be retrieved 10 minutes after its
    cancel; filled orders stay. The router finds an order there by its ``text`` when a
    query by it comes too late."""
    rules = await rules_of(gateio_client)
    quote = still_sim.venues.market.quote(COIN, Leg.FUTURES)
    low = round_to_tick(quote.bid * 0.5, rules.price_tick)
    idle = Order("g-idle", Leg.FUTURES, COIN, Side.BUY, 0.1, low, tif=TimeInForce.GTC)
    await place(gateio_client, idle, rules)
    resting = await listed(gateio_client, "g-idle")
    assert resting is not None and resting.status is OrderStatus.NEW
    await gateio_client.send(ROUTER.cancel(COIN, "g-idle", None, now()))
    sold = await place(
        gateio_client, Order("g-sold", Leg.FUTURES, COIN, Side.SELL, 0.3, quote.bid), rules
    )
    await place(
        gateio_client, Order("g-bought", Leg.FUTURES, COIN, Side.BUY, 0.2, quote.ask), rules
    )

    async def finished(**page):
        request = gateio_rest.orders_request(COIN, "finished", CREDENTIALS, int(now()), **page)
        response = await gateio_client.send(request)
        assert response.status == 200, response.body
        return [order.client_id for order in gateio_rest.parse_orders(response.body, 0.1)]

    assert await finished() == ["g-bought", "g-sold", "g-idle"]
    assert await finished(limit=1, offset=1) == ["g-sold"]
    still_sim.gateio.set_read_after_write(0.0, 0.0)  # unfilled ended orders are forgotten
    await trio.sleep(0.01)
    assert await finished() == ["g-bought", "g-sold"]
    found = await listed(gateio_client, "g-sold")
    assert found is not None
    assert (found.status, found.venue_order_id) == (OrderStatus.FILLED, sold.venue_order_id)
    assert await listed(gateio_client, "g-idle") is None


async def test_funding_history_lists_the_settlements(nursery):
    sim = await start(nursery, fast(helpers.config(helpers.coin(funding_interval_s=0.2))))
    with trio.fail_after(WAIT_S):
        while len(sim.venues.market.funding_history(COIN)) < 2:  # noqa: ASYNC110
            await trio.sleep(TICK_S)
    async with RestClient(sim.urls.gateio_rest) as rest:
        query = "contract=COIN_USDT&limit=2"
        request = gateio_rest.public_request("GET", "/futures/usdt/funding_rate", query)
        response = await rest.send(request)
    assert response.status == 200
    listed = msgspec.json.decode(response.body)
    # Settlements go on every 0.2 s: compare with those up to the newest one listed.
    history = sim.venues.market.funding_history(COIN)
    newest_first = [{"t": int(s.ts), "r": decimal(s.rate)} for s in reversed(history)]
    newest_first = [entry for entry in newest_first if entry["t"] <= listed[0]["t"]]
    assert listed == newest_first[:2]


TICKER_FIELDS = {
    "contract",
    "last",
    "change_percentage",
    "total_size",
    "low_24h",
    "high_24h",
    "volume_24h",
    "mark_price",
    "funding_rate",
    "funding_rate_indicative",
    "index_price",
    "quanto_base_rate",
    "lowest_ask",
    "highest_bid",
}


async def test_the_contract_list_and_tickers_carry_the_documented_funding(still_sim, gateio_client):
    published = still_sim.venues.market.funding_rate(COIN)
    response = await gateio_client.send(
        gateio_rest.public_request("GET", "/futures/usdt/contracts")
    )
    [listed] = msgspec.json.decode(response.body)
    assert listed["name"] == "COIN_USDT"
    assert gateio_rest.parse_funding(msgspec.json.encode(listed)) == published
    for query in ("", "contract=COIN_USDT"):
        request = gateio_rest.public_request("GET", "/futures/usdt/tickers", query)
        [ticker] = msgspec.json.decode((await gateio_client.send(request)).body)
        assert set(ticker) >= TICKER_FIELDS
        assert ticker["contract"] == "COIN_USDT"
        assert float(ticker["funding_rate"]) == pytest.approx(published.rate)
        quote = still_sim.venues.market.quote(COIN, Leg.FUTURES)
        assert (float(ticker["highest_bid"]), float(ticker["lowest_ask"])) == (quote.bid, quote.ask)
    unknown = gateio_rest.public_request("GET", "/futures/usdt/tickers", "contract=NOPE_USDT")
    assert (await gateio_client.send(unknown)).status == 400


async def test_prices_and_times_are_written_as_the_venue_writes_them(moving_sim):
    """Prices on each contract's price grid, times to the millisecond: no float noise."""
    async with RestClient(moving_sim.urls.gateio_rest) as rest:
        contracts = msgspec.json.decode(
            (await rest.send(gateio_rest.public_request("GET", "/futures/usdt/contracts"))).body
        )
        ticks = {c["name"]: float(c["order_price_round"]) for c in contracts}
        # A parameter the futures tickers do not document (the spot tickers' timezone,
        # which clients send to both) is ignored.
        query = "timezone=utc0"
        request = gateio_rest.public_request("GET", "/futures/usdt/tickers", query)
        tickers = msgspec.json.decode((await rest.send(request)).body)
        rules = await ROUTER.load_rules(rest, [BTC])
        bid = moving_sim.venues.market.quote(BTC, Leg.FUTURES).bid
        await place(rest, Order("g-noise", Leg.FUTURES, BTC, Side.SELL, 0.0003, bid), rules[BTC])
        order = msgspec.json.decode(
            (await rest.send(ROUTER.query(BTC, "g-noise", None, now()))).body
        )
        position = msgspec.json.decode(
            (await rest.send(gateio_rest.position_request(BTC, CREDENTIALS, int(now())))).body
        )
    assert sorted(t["contract"] for t in tickers) == sorted(ticks)
    for ticker in tickers:
        tick = ticks[ticker["contract"]]
        for field in ("last", "mark_price", "index_price"):
            price = float(ticker[field])
            assert ticker[field] == decimal(round_to_tick(price, tick)), (field, ticker)
    tick = ticks["BTC_USDT"]
    assert order["fill_price"] == decimal(round_to_tick(float(order["fill_price"]), tick))
    for field in ("entry_price", "mark_price", "liq_price"):
        assert position[field] == decimal(round_to_tick(float(position[field]), tick)), position
    assert round(order["create_time"], 3) == order["create_time"]
    assert round(order["finish_time"], 3) == order["finish_time"]


async def test_the_account_detail_names_a_classic_account(gateio_client):
    response = await gateio_client.send(gateio_rest.account_detail_request(CREDENTIALS, int(now())))
    detail = msgspec.json.decode(response.body)
    assert detail["key"] == {"mode": 1}  # 1 classic, 2 unified
    assert str(detail["user_id"]) == USER


async def test_the_feed_codec_hears_funding_from_the_contract_and_the_tickers_channel(
    still_sim, gateio_client
):
    codec = GateioFeedCodec(gateio_client)
    await codec.prepare([COIN])
    published = still_sim.venues.market.funding_rate(COIN)
    assert codec.funding_rates(now()) == [published.at(now())]
    async with open_websocket(still_sim.urls.gateio_ws, headers=codec.handshake_headers) as ws:
        for request in codec.subscriptions([COIN], depth=False, now=now()):
            await ws.send_message(request)
        funding = await next_matching(ws, codec.decode, is_(FundingRate))
    assert (funding.symbol, funding.interval_s) == (COIN, published.interval_s)
    assert funding.rate == pytest.approx(still_sim.venues.market.funding_rate(COIN).rate)


def account_book(query: str) -> RestRequest:
    return gateio_rest.signed_request(
        "GET", "/futures/usdt/account_book", query, b"", CREDENTIALS, int(now())
    )


async def test_the_account_book_lists_each_funding_settlement_under_its_ledger_id(nursery):
    sim = await start(nursery, fast(helpers.config(helpers.coin(funding_interval_s=0.2))))
    async with RestClient(sim.urls.gateio_rest) as rest:
        rules = await rules_of(rest)
        bid = sim.venues.market.quote(COIN, Leg.FUTURES).bid
        await place(rest, Order("g-short", Leg.FUTURES, COIN, Side.SELL, 0.5, bid), rules)
        with trio.fail_after(WAIT_S):
            while len(sim.venues.futures.ledger.funding_entries()) < 3:  # noqa: ASYNC110
                await trio.sleep(TICK_S)
        codec = GateioFundingBookCodec(CREDENTIALS)
        response = await rest.send(codec.request(0, now()))
        assert response.status == 200, response.body
        listed = codec.parse(response)
        raw = msgspec.json.decode(response.body)
        engine = {str(e.seq): e.payment for e in sim.venues.futures.ledger.funding_entries()}
        assert [entry.ledger_id for entry in listed] == [r["id"] for r in reversed(raw)]
        for entry, row in zip(listed, reversed(raw), strict=True):
            payment = engine[entry.ledger_id]
            assert (entry.symbol, entry.ts, entry.amount) == (COIN, payment.ts, payment.amount)
            assert row["type"] == "fund" and row["contract"] == "COIN_USDT"
            assert float(row["balance"]) == pytest.approx(payment.balance)
        newest, older = listed[-1], listed[-2]
        # Filters: by time (inclusive), by contract, by type, and a limit (newest first).
        window = f"from={int(older.ts)}&to={int(newest.ts)}"
        ranged = msgspec.json.decode((await rest.send(account_book(window))).body)
        assert {r["id"] for r in ranged} <= {e.ledger_id for e in listed}
        assert all(int(older.ts) <= r["time"] <= int(newest.ts) for r in ranged)
        limited = msgspec.json.decode((await rest.send(account_book("limit=1"))).body)
        assert [row["id"] for row in limited] == [max(engine, key=int)]
        second = msgspec.json.decode((await rest.send(account_book("limit=1&offset=1"))).body)
        assert [row["id"] for row in second] == [sorted(engine, key=int)[-2]]
        fees = msgspec.json.decode((await rest.send(account_book("type=fee"))).body)
        assert fees == []
        by_contract = await rest.send(account_book("contract=COIN_USDT&type=fund"))
        assert len(msgspec.json.decode(by_contract.body)) >= 3
        unsigned = gateio_rest.public_request("GET", "/futures/usdt/account_book")
        assert (await rest.send(unsigned)).status == 401


async def test_the_funding_book_reads_every_page_of_a_span_longer_than_one(nursery):
    sim = await start(nursery, fast(helpers.config(helpers.coin(funding_interval_s=0.1))))
    async with RestClient(sim.urls.gateio_rest) as rest:
        rules = await rules_of(rest)
        bid = sim.venues.market.quote(COIN, Leg.FUTURES).bid
        await place(rest, Order("g-short", Leg.FUTURES, COIN, Side.SELL, 0.5, bid), rules)
        with trio.fail_after(WAIT_S):
            while len(sim.venues.futures.ledger.funding_entries()) < 7:  # noqa: ASYNC110
                await trio.sleep(TICK_S)
        book = FundingBook("funding", GateioFundingBookCodec(CREDENTIALS, page_size=2), rest, {})
        written = {str(e.seq) for e in sim.venues.futures.ledger.funding_entries()}
        await book.poll()
        # Pages of 2, newest first: the oldest settlements are on the last pages; each is
        # reported once (settlements written while it reads may add to them).
        assert book.delivered >= len(written) >= 7


BAD_ORDER = Order("g-bad", Leg.FUTURES, COIN, Side.SELL, 0.3, 101.0, tif=TimeInForce.GTC)


def signed_with(credentials=CREDENTIALS, clock_offset_s=0.0):
    def sign():
        timestamp = int(now() + clock_offset_s)
        return gateio_rest.place_order_request(BAD_ORDER, CONTRACT_SIZE, credentials, timestamp)

    return sign


def with_body_changed_after_signing():
    request = signed_with()()
    return msgspec.structs.replace(request, body=request.body.replace(b'"size":-3', b'"size":-4'))


def without_header(name):
    def sign():
        request = signed_with()()
        headers = tuple(header for header in request.headers if header[0] != name)
        return msgspec.structs.replace(request, headers=headers)

    return sign


@pytest.mark.parametrize(
    ("make_request", "kind", "label"),
    [
        (with_body_changed_after_signing, BadSignature, "INVALID_SIGNATURE"),
        (signed_with(ApiCredentials("sim-key", "guess")), BadSignature, "INVALID_SIGNATURE"),
        (signed_with(ApiCredentials("other", "sim-secret")), BadCredentials, "INVALID_KEY"),
        (signed_with(clock_offset_s=-120.0), TimestampRejected, "REQUEST_EXPIRED"),
        (without_header("SIGN"), BadCredentials, "MISSING_REQUIRED_HEADER"),
        (without_header("Timestamp"), BadCredentials, "MISSING_REQUIRED_HEADER"),
    ],
)
async def test_a_request_that_does_not_check_out_gets_gateios_error(
    still_sim, gateio_client, make_request, kind, label
):
    response = await gateio_client.send(make_request())
    error = error_of(response)
    assert (type(error), error.code, response.status) == (kind, label, 401)
    assert still_sim.venues.futures.ledger.client_ids() == []


async def test_the_query_is_checked_without_its_url_encoding(still_sim, gateio_client):
    # A client that percent-encodes more than it must (an underscore) signs the query as
    # Gate.io documents it: decoded.
    sent, signed = "status=open&contract=COIN%5FUSDT", "status=open&contract=COIN_USDT"
    timestamp = str(int(now()))
    message = "\n".join(
        ["GET", "/api/v4/futures/usdt/orders", signed, hashlib.sha512(b"").hexdigest(), timestamp]
    )
    signature = hmac.new(b"sim-secret", message.encode(), hashlib.sha512).hexdigest()
    headers = (("KEY", "sim-key"), ("Timestamp", timestamp), ("SIGN", signature))
    request = RestRequest("GET", "/api/v4/futures/usdt/orders", sent, b"", headers)
    response = await gateio_client.send(request)
    assert (response.status, msgspec.json.decode(response.body)) == (200, [])


async def test_every_reply_carries_the_rate_limit_headers(nursery):
    limits = GateioRateLimits(public_per_endpoint=RateLimit(3, 60.0))
    sim = await start(nursery, fast(helpers.config(), gateio_limits=limits))
    async with RestClient(sim.urls.gateio_rest) as rest:
        replies = [await rest.send(gateio_rest.contract_request(COIN)) for _ in range(4)]
        asked_at = now()
        unknown = await rest.send(gateio_rest.public_request("GET", "/futures/usdt/nothing"))
        unsigned = await rest.send(
            msgspec.structs.replace(gateio_rest.futures_account_request(CREDENTIALS, 0), headers=())
        )
    assert [reply.status for reply in replies] == [200, 200, 200, 429]
    assert [reply.header("X-Gate-RateLimit-Requests-Remain") for reply in replies] == [
        "2",
        "1",
        "0",
        "0",
    ]
    for reply in (*replies, unknown, unsigned):
        assert reply.header("X-Gate-RateLimit-Limit") in ("3", "200")
        reset = float(reply.header("X-Gate-RateLimit-Reset-Timestamp"))
        if reply is replies[-1]:
            # Exceeded: when the window lets the next one through (one every 20 s), in s.
            assert asked_at + 18.0 <= reset <= asked_at + 22.0
        else:
            assert abs(reset - asked_at) <= 2.0  # not exceeded: the current time
    assert (unknown.status, unsigned.status) == (404, 401)
    assert error_of(replies[-1]).retry_after_s == pytest.approx(20.0, abs=2.0)


# ------------------------------------------------------------------ websockets


async def test_pings_subscriptions_and_refusals_are_answered_as_documented(still_sim):
    async with open_websocket(still_sim.urls.gateio_ws, headers=[SIZE_DECIMAL]) as ws:
        await ws.send_message(gateio.ping_message(int(now())))
        assert await next_matching(ws, decode, is_(Pong))
        payload = gateio.book_ticker_payload([COIN])
        await ws.send_message(gateio.subscribe_message(gateio.BOOK_TICKER, payload, int(now())))
        ack = await next_matching(ws, decode, is_(SubscriptionResult))
        assert (ack.ok, ack.channel) == (True, gateio.BOOK_TICKER)
        await ws.send_message(gateio.subscribe_message("futures.trades", ["COIN_USDT"], int(now())))
        assert not (await next_matching(ws, decode, is_(SubscriptionResult))).ok
        for credentials, user in ((ApiCredentials("sim-key", "guess"), USER), (CREDENTIALS, "x")):
            request = gateio.subscribe_message(
                gateio.ORDERS, gateio.private_payload(user), int(now()), 1, credentials
            )
            await ws.send_message(request)
            refused = await next_matching(ws, decode, is_(SubscriptionResult))
            assert not refused.ok and refused.message.startswith("error 2:")
        await ws.send_message(
            gateio_wire.unsubscribe_message(gateio.BOOK_TICKER, payload, int(now()))
        )
        assert (await next_matching(ws, decode, is_(SubscriptionResult))).ok


async def test_the_feed_codecs_book_ticker_subscription_gets_the_engines_quote(
    still_sim, gateio_client
):
    codec = GateioFeedCodec(gateio_client)
    await codec.prepare([COIN])
    async with open_websocket(still_sim.urls.gateio_ws, headers=codec.handshake_headers) as ws:
        for request in codec.subscriptions([COIN], depth=False, now=now()):
            await ws.send_message(request)
        quote = await next_matching(ws, codec.decode, is_(Quote))
    expected = still_sim.venues.market.quote(COIN, Leg.FUTURES)
    assert (quote.symbol, quote.bid, quote.ask) == (COIN, expected.bid, expected.ask)
    assert (quote.bid_qty, quote.ask_qty) == pytest.approx((expected.bid_qty, expected.ask_qty))


async def test_book_updates_continue_the_snapshot_and_a_skipped_one_is_a_gap(moving_sim):
    sim = moving_sim
    async with RestClient(sim.urls.gateio_rest) as rest:
        codec = GateioFeedCodec(rest)
        await codec.prepare([BTC])
        async with open_websocket(sim.urls.gateio_ws, headers=codec.handshake_headers) as ws:
            ticker = gateio.subscribe_message(gateio.BOOK_TICKER, ["BTC_USDT"], int(now()))
            await ws.send_message(ticker)
            for request in codec.subscriptions([BTC], depth=True, now=now()):
                await ws.send_message(request)
            book = OrderBook()
            synced = False
            last_quote = None
            applied = 0
            while applied < 20:
                event = await next_matching(ws, codec.decode, is_((Quote, DepthDiff)))
                if isinstance(event, Quote):
                    last_quote = event
                    continue
                outcome = book.on_diff(event)
                if not synced:
                    snapshot = await codec.fetch_snapshot(BTC)
                    assert book.on_snapshot(snapshot) is Outcome.APPLIED
                    synced = True
                elif outcome is Outcome.APPLIED:
                    applied += 1
                    # The ticker of the same tick came just before: the book agrees with it.
                    bid, bid_qty, ask, ask_qty = book.best()
                    assert (bid, ask) == (last_quote.bid, last_quote.ask)
                    assert (bid_qty, ask_qty) == pytest.approx(
                        (last_quote.bid_qty, last_quote.ask_qty)
                    )
                else:
                    pytest.fail(f"update {event.first_version}..{event.last_version}: {outcome}")
            sim.gateio.skip_depth_update(BTC)
            last_version = book.version
            while True:
                diff = await next_matching(ws, codec.decode, is_(DepthDiff))
                if book.on_diff(diff) is not Outcome.APPLIED:
                    break
                last_version = diff.last_version
            assert diff.first_version > last_version + 1
            assert book.gaps == 1


async def test_the_whole_book_comes_first_and_then_every_so_often(nursery):
    sim = await start(nursery, moving(gateio_full_book_every=4))
    async with RestClient(sim.urls.gateio_rest) as rest:
        codec = GateioFeedCodec(rest)
        await codec.prepare([BTC])
        async with open_websocket(sim.urls.gateio_ws, headers=codec.handshake_headers) as ws:
            ticker = gateio.subscribe_message(gateio.BOOK_TICKER, ["BTC_USDT"], int(now()))
            await ws.send_message(ticker)
            for request in codec.subscriptions([BTC], depth=True, now=now()):
                await ws.send_message(request)
            book = OrderBook()
            kinds = []
            last_quote = None
            while len(kinds) < 12:
                event = await next_matching(
                    ws, codec.decode, is_((Quote, DepthDiff, DepthSnapshot))
                )
                if isinstance(event, Quote):
                    last_quote = event
                    continue
                if isinstance(event, DepthSnapshot):
                    kinds.append("full")
                    # Levels beyond the subscribed depth are not in the whole book.
                    assert len(event.bids) <= 20 and len(event.asks) <= 20
                    assert book.on_snapshot(event) is Outcome.APPLIED
                else:
                    kinds.append("diff")
                    assert book.on_diff(event) is Outcome.APPLIED
                # No REST snapshot was needed: the stream's own whole book synced it.
                bid, bid_qty, ask, ask_qty = book.best()
                assert (bid, ask) == (last_quote.bid, last_quote.ask)
                assert (bid_qty, ask_qty) == pytest.approx((last_quote.bid_qty, last_quote.ask_qty))
    assert kinds[0] == "full"
    assert kinds.count("full") >= 3 and "diff" in kinds


async def test_own_orders_trades_and_positions_are_pushed(still_sim, gateio_client):
    rules = await rules_of(gateio_client)
    async with open_websocket(still_sim.urls.gateio_ws, headers=[SIZE_DECIMAL]) as ws:
        for channel in (gateio.USER_TRADES, gateio.ORDERS, gateio.POSITIONS):
            request = gateio.subscribe_message(
                channel, gateio.private_payload(USER, COIN), int(now()), 1, CREDENTIALS
            )
            await ws.send_message(request)
            assert (await next_matching(ws, decode, is_(SubscriptionResult))).ok
        ask = still_sim.venues.market.quote(COIN, Leg.FUTURES).ask
        await place(gateio_client, Order("g-push", Leg.FUTURES, COIN, Side.BUY, 0.2, ask), rules)
        trade = await next_matching(ws, decode, is_(Trade))
        assert (trade.client_id, trade.side, trade.price) == ("g-push", Side.BUY, ask)
        assert trade.qty == pytest.approx(0.2)
        update = await next_matching(ws, decode, is_(OrderUpdate))
        assert (update.client_id, update.status) == ("g-push", OrderStatus.FILLED)
        position = await next_matching(ws, decode, is_(FuturesPosition))
        assert (position.symbol, position.qty) == (COIN, pytest.approx(0.2))


async def test_an_upgrade_notice_reaches_every_client(still_sim):
    async with open_websocket(still_sim.urls.gateio_ws) as ws:
        await ws.send_message(gateio.ping_message(int(now())))
        await next_matching(ws, decode, is_(Pong))
        assert still_sim.gateio.send_upgrade_notice() == 1
        assert await next_matching(ws, decode, is_(UpgradeNotice))
