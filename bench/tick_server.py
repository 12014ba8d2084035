"""The far end of the tick-to-order benchmark, in its own process: a MEXC-speaking and a
Gate.io-speaking venue whose spot quote alternates between an entry and an exit
opportunity. For each decision it stamps, on the clock both processes share
(``time.perf_counter_ns``), the quote frame leaving and the spot order request it causes
parsed; between decisions it times a bare TCP round trip to the bench process (the
floor), so both are measured in the same run.

It answers what the routers and feeds ask at start and while they follow their orders
(rules, contracts, the futures account, the clock, order queries, the orders' trades), in
the venues' own formats (``protocols/*_encode``); a request it does not know is answered
404 and named on stderr.

Run: ``python -m bench.tick_server DECISIONS``; prints one JSON line with its URLs, then
one with the stamps once that many decisions have arrived.
"""

from __future__ import annotations

import functools
import itertools
import json
import sys
import time

import msgspec
import trio
import trio_websocket

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.ops.gc_tuning import freeze_startup_objects
from protocols import (
    gateio,
    gateio_client_requests,
    gateio_encode,
    mexc_client_requests,
    mexc_encode,
)
from protocols.model import OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.venue import Balance, FundingRate, OrderUpdate, Trade

BTC = Symbol("BTC", "USDT")
SPOT_RULES = VenueRules(qty_step=0.001, min_qty=0.001, min_notional=1.0, price_tick=0.01)
FUTURES_RULES = VenueRules(qty_step=0.1, price_tick=0.01, contract_size=0.1, min_contracts=1)
CONTRACT_SIZE = 0.1
TAKER_FEE = 0.0005
# Entry cost 0 % at ENTRY; at EXIT the spot leg is up 2 %, a profit well past 0.58 %.
ENTRY = Quote(BTC, 99.99, 50.0, 100.0, 50.0, 0.0, 0.0)
EXIT = Quote(BTC, 102.0, 50.0, 102.01, 50.0, 0.0, 0.0)
FUTURES = Quote(BTC, 100.0, 50.0, 100.01, 50.0, 0.0, 0.0)
FUTURES_EVERY_S = 0.05
NO_DECISION_S = 0.5
SETTLE_S = 0.005
"""After both legs' trades were asked for, time for the strategy to hear its fills before
the next quote (a quote it is not ready for would wait for the next futures quote)."""
ORDERS_KEPT = 100
"""Orders remembered for queries and trade lists: the venue's own heap stays small."""
NOT_FOUND = b'{"label":"NOT_FOUND","message":"not served by the benchmark venue"}'


class Venue:
    """Both venues' answers, and the orders they filled (each fills at once, whole)."""

    def __init__(self) -> None:
        self.orders: dict[str, tuple[OrderUpdate, Trade]] = {}
        self.ids = itertools.count(1)
        self.on_spot_order = lambda: None
        self.on_trade_list = lambda: None
        """A trade list served: a router asks for an order's trades once it is filled, and
        its strategy hears the fills after that."""

    def _filled(self, client_id: str, venue_id: str, side: Side, qty: float, price: float):
        update = OrderUpdate(
            BTC, client_id, venue_id, OrderStatus.FILLED, side, qty, price, qty, price
        )
        fee = qty * price * TAKER_FEE
        trade = Trade(
            BTC, str(next(self.ids)), client_id, venue_id, side, qty, price, fee, "USDT", False, 0.0
        )
        self.orders[venue_id] = self.orders[client_id] = (update, trade)
        while len(self.orders) > 2 * ORDERS_KEPT:
            del self.orders[next(iter(self.orders))]
        return update

    async def mexc_rest(self, request: HttpRequest) -> HttpResponse:
        path, method, query = request.path.removeprefix("/api/v3/"), request.method, request.query
        if method == "POST" and path == "order":
            self.on_spot_order()  # first: the request is parsed, its answer not yet built
            client_id = query["newClientOrderId"]
            side = Side.BUY if query["side"] == "BUY" else Side.SELL
            update = self._filled(
                client_id, f"m-{client_id}", side, float(query["quantity"]), float(query["price"])
            )
            return HttpResponse(200, mexc_encode.new_order_body(update, "IMMEDIATE_OR_CANCEL"))
        if path == "order":
            known = self.orders.get(query.get("origClientOrderId") or query.get("orderId", ""))
            if known is None:
                return _missing(request)
            return HttpResponse(200, mexc_encode.order_body(known[0], "IMMEDIATE_OR_CANCEL"))
        if path == "myTrades":
            self.on_trade_list()
            known = self.orders.get(query.get("orderId", ""))
            return HttpResponse(200, mexc_encode.my_trades_body([known[1]] if known else []))
        if path == "exchangeInfo":
            listed = mexc_encode.ListedSymbol(BTC, SPOT_RULES, 0.0, TAKER_FEE)
            return HttpResponse(200, mexc_encode.exchange_info_body([listed], time.time()))
        if path == "time":
            return HttpResponse(200, mexc_encode.server_time_body(time.time()))
        if path == "account":
            balances = [Balance("USDT", 1e9, 0.0), Balance("BTC", 1e6, 0.0)]
            return HttpResponse(200, mexc_encode.account_body(balances))
        if path == "openOrders":
            return HttpResponse(200, mexc_encode.open_orders_body([]))
        return _missing(request)

    async def gateio_rest(self, request: HttpRequest) -> HttpResponse:
        path, method = request.path.removeprefix("/api/v4"), request.method
        if method == "POST" and path == "/futures/usdt/orders":
            body = json.loads(request.body)
            size = int(body["size"])
            update = self._filled(
                gateio.client_id_from_text(body["text"]),
                str(next(self.ids)),
                Side.BUY if size > 0 else Side.SELL,
                abs(size) * CONTRACT_SIZE,
                float(body["price"]),
            )
            return HttpResponse(201, gateio_encode.order_body(update, CONTRACT_SIZE))
        if path.startswith("/futures/usdt/orders/"):
            known = self.orders.get(path.rpartition("/")[2])
            if known is None:
                return _missing(request)
            return HttpResponse(200, gateio_encode.order_body(known[0], CONTRACT_SIZE))
        if path == "/futures/usdt/my_trades":
            self.on_trade_list()
            known = self.orders.get(request.query.get("order", ""))
            trades = [(known[1], 0.0)] if known else []
            return HttpResponse(200, gateio_encode.my_trades_body(trades, {BTC: CONTRACT_SIZE}))
        funding = FundingRate(BTC, 0.0001, 28_800.0, time.time() + 3600)
        if path == "/futures/usdt/contracts":
            contracts = [(BTC, FUTURES_RULES, funding)]
            return HttpResponse(200, gateio_encode.contracts_body(contracts))
        if path.startswith("/futures/usdt/contracts/"):
            return HttpResponse(200, gateio_encode.contract_body(BTC, FUTURES_RULES, funding))
        if path == "/futures/usdt/accounts":
            return HttpResponse(200, gateio_encode.accounts_body(1e9, 1e9))
        if path == "/spot/time":
            return HttpResponse(200, gateio_encode.server_time_body(time.time()))
        return _missing(request)


def _missing(request: HttpRequest) -> HttpResponse:
    print(f"tick_server: not served: {request.method} {request.path}", file=sys.stderr)
    return HttpResponse(404, NOT_FOUND)


class Bench:
    def __init__(self, decisions: int) -> None:
        self.decisions = decisions
        self.stamps: list[tuple[int, int]] = []
        """Each decision's quote frame sent and its spot order request parsed."""
        self.floor_ns: list[int] = []
        self.sent_ns: int | None = None
        self.decided = trio.Event()
        self.spot_clients: list[trio_websocket.WebSocketConnection] = []
        self.futures_clients: list[trio_websocket.WebSocketConnection] = []
        self.version = 0
        self.venue = Venue()
        self.venue.on_spot_order = self._arrived
        self.venue.on_trade_list = self._listed
        self.listed = trio.Event()
        self.lists_awaited = 0
        self.both_subscribed = trio.Event()
        self.floor_stream: trio.SocketStream | None = None
        self.floor_connected = trio.Event()

    def _arrived(self) -> None:
        if self.sent_ns is not None:
            self.stamps.append((self.sent_ns, time.perf_counter_ns()))
            self.sent_ns = None
            self.decided.set()

    def _listed(self) -> None:
        self.lists_awaited -= 1
        if self.lists_awaited <= 0:
            self.listed.set()

    # ------------------------------------------------------------- websockets

    async def mexc_ws(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await self._subscribed(ws, self.spot_clients, "mexc")

    async def gateio_ws(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await self._subscribed(ws, self.futures_clients, "gateio")

    async def _subscribed(self, ws, clients, venue: str) -> None:
        try:
            while True:
                message = await ws.get_message()
                if venue == "mexc":
                    request = mexc_client_requests.decode_client_message(message)
                    if isinstance(request, mexc_client_requests.ClientSubscription):
                        await ws.send_message(mexc_encode.subscription_ack(request.channels))
                        clients.append(ws)
                        self._check_subscribed()
                    else:
                        await ws.send_message(mexc_encode.PONG_MESSAGE)
                else:
                    request = gateio_client_requests.decode_client_message(message)
                    if request.channel == gateio.PING:
                        await ws.send_message(gateio_encode.pong_message(time.time()))
                    else:
                        await ws.send_message(gateio_encode.subscription_ack(request, time.time()))
                        clients.append(ws)
                        self._check_subscribed()
        except trio_websocket.ConnectionClosed:
            pass

    def _check_subscribed(self) -> None:
        if self.spot_clients and self.futures_clients:
            self.both_subscribed.set()

    async def floor_peer(self, stream: trio.SocketStream) -> None:
        """The bench process's end of the floor's round trips."""
        self.floor_stream = stream
        self.floor_connected.set()
        await trio.sleep_forever()

    async def round_trip(self) -> None:
        """One byte to the bench process and back: the floor under the path."""
        stream = self.floor_stream
        assert stream is not None
        began = time.perf_counter_ns()
        await stream.send_all(b"x")
        await stream.receive_some(1)
        self.floor_ns.append(time.perf_counter_ns() - began)

    # ------------------------------------------------------------------ driving

    async def keep_futures_fresh(self) -> None:
        while True:
            for ws in list(self.futures_clients):
                self.version += 1
                frame = gateio_encode.book_ticker_push(FUTURES, 0.1, self.version, time.time())
                await ws.send_message(frame)
            await trio.sleep(FUTURES_EVERY_S)

    async def drive(self) -> None:
        await self.both_subscribed.wait()
        await self.floor_connected.wait()
        await trio.sleep(0.5)  # rules loaded, both feeds fresh
        quote = ENTRY
        while len(self.stamps) < self.decisions:
            self.version += 1
            frame = mexc_encode.book_ticker_push(quote, self.version, time.time())
            self.decided = trio.Event()
            self.sent_ns = time.perf_counter_ns()
            for ws in self.spot_clients:
                await ws.send_message(frame)
            self.listed, self.lists_awaited = trio.Event(), 2
            with trio.move_on_after(NO_DECISION_S):
                await self.decided.wait()
                # Both legs' trades asked for: the strategy is about to hear its fills.
                await self.listed.wait()
            self.sent_ns = None
            await trio.sleep(SETTLE_S / 2)
            await self.round_trip()
            await trio.sleep(SETTLE_S / 2)
            quote = EXIT if quote is ENTRY else ENTRY


async def main(decisions: int) -> None:
    bench = Bench(decisions)
    async with trio.open_nursery() as nursery:
        mexc_port = await nursery.start(HttpServer(bench.venue.mexc_rest).serve)
        gate_port = await nursery.start(HttpServer(bench.venue.gateio_rest).serve)
        mexc_ws = await nursery.start(
            trio_websocket.serve_websocket, bench.mexc_ws, "127.0.0.1", 0, None
        )
        gate_ws = await nursery.start(
            trio_websocket.serve_websocket, bench.gateio_ws, "127.0.0.1", 0, None
        )
        floor = await nursery.start(
            functools.partial(trio.serve_tcp, bench.floor_peer, 0, host="127.0.0.1")
        )
        urls = {
            "mexc_rest": f"http://127.0.0.1:{mexc_port}",
            "mexc_ws": f"ws://127.0.0.1:{mexc_ws.port}/ws",
            "gateio_rest": f"http://127.0.0.1:{gate_port}",
            "gateio_ws": f"ws://127.0.0.1:{gate_ws.port}/v4/ws/usdt",
            "floor_port": floor[0].socket.getsockname()[1],
        }
        print(json.dumps(urls), flush=True)
        nursery.start_soon(bench.keep_futures_fresh)
        freeze_startup_objects()
        await bench.drive()
        result = {"decisions": bench.stamps, "floor": bench.floor_ns}
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
        sys.stdout.flush()
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]))
