"""The far end of the tick-to-order benchmark, in its own process: a MEXC-speaking and a
Gate.io-speaking venue whose spot quote alternates between an entry and an exit
opportunity, and which times, on its own clock, each quote frame leaving to the first
order request it causes arriving.

Run: ``python -m bench.tick_server DECISIONS``; prints one JSON line with its URLs, then
one with the latencies (nanoseconds) once that many decisions have arrived.
"""

from __future__ import annotations

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
from protocols.venue import FundingRate, OrderUpdate

BTC = Symbol("BTC", "USDT")
SPOT_RULES = VenueRules(qty_step=0.001, min_qty=0.001, min_notional=1.0, price_tick=0.01)
FUTURES_RULES = VenueRules(qty_step=0.1, price_tick=0.01, contract_size=0.1, min_contracts=1)
# Entry cost 0 % at ENTRY; at EXIT the spot leg is up 2 %, a profit well past 0.58 %.
ENTRY = Quote(BTC, 99.99, 50.0, 100.0, 50.0, 0.0, 0.0)
EXIT = Quote(BTC, 102.0, 50.0, 102.01, 50.0, 0.0, 0.0)
FUTURES = Quote(BTC, 100.0, 50.0, 100.01, 50.0, 0.0, 0.0)
NO_DECISION_S = 0.5
SETTLE_S = 0.005
ORDERS_KEPT = 100
"""After an order arrives, time for both legs to settle before the next quote."""


class Bench:
    def __init__(self, decisions: int) -> None:
        self.decisions = decisions
        self.latencies_ns: list[int] = []
        self.sent_ns: int | None = None
        self.decided = trio.Event()
        self.spot_clients: list[trio_websocket.WebSocketConnection] = []
        self.futures_clients: list[trio_websocket.WebSocketConnection] = []
        self.version = 0
        self._orders: dict[str, OrderUpdate] = {}
        self.both_subscribed = trio.Event()

    # ------------------------------------------------------------------ REST

    async def mexc_rest(self, request: HttpRequest) -> HttpResponse:
        if request.path.endswith("/exchangeInfo"):
            listed = mexc_encode.ListedSymbol(BTC, SPOT_RULES, 0.0, SPOT_RULES.taker_fee or 0.0)
            return HttpResponse(200, mexc_encode.exchange_info_body([listed], time.time()))
        query = request.query
        client_id = query.get("newClientOrderId") or query.get("origClientOrderId", "")
        if request.method == "POST":
            self._arrived()
        update = OrderUpdate(
            BTC,
            client_id,
            f"m-{client_id}",
            OrderStatus.FILLED,
            Side.BUY if query.get("side") == "BUY" else Side.SELL,
            float(query.get("quantity", 0.0) or 0.0),
            float(query.get("price", 0.0) or 0.0),
            float(query.get("quantity", 0.0) or 0.0),
            float(query.get("price", 0.0) or 0.0),
        )
        if request.method == "POST":
            self._orders[client_id] = update
            if len(self._orders) > ORDERS_KEPT:  # the venue's own heap stays small
                del self._orders[next(iter(self._orders))]
            return HttpResponse(200, mexc_encode.new_order_body(update, "IMMEDIATE_OR_CANCEL"))
        known = self._orders.get(client_id, update)
        return HttpResponse(200, mexc_encode.order_body(known, "IMMEDIATE_OR_CANCEL"))

    async def gateio_rest(self, request: HttpRequest) -> HttpResponse:
        if "/contracts/" in request.path:
            funding = FundingRate(BTC, 0.0001, 28_800.0, time.time() + 3600)
            return HttpResponse(200, gateio_encode.contract_body(BTC, FUTURES_RULES, funding))
        body = json.loads(request.body)
        size = int(body["size"])
        update = OrderUpdate(
            BTC,
            gateio.client_id_from_text(body["text"]),
            "7",
            OrderStatus.FILLED,
            Side.BUY if size > 0 else Side.SELL,
            abs(size) * 0.1,
            float(body["price"]),
            abs(size) * 0.1,
            float(body["price"]),
        )
        return HttpResponse(201, gateio_encode.order_body(update, 0.1))

    def _arrived(self) -> None:
        if self.sent_ns is not None:
            self.latencies_ns.append(time.perf_counter_ns() - self.sent_ns)
            self.sent_ns = None
            self.decided.set()

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

    # ------------------------------------------------------------------ driving

    async def keep_futures_fresh(self) -> None:
        while True:
            for ws in list(self.futures_clients):
                self.version += 1
                frame = gateio_encode.book_ticker_push(FUTURES, 0.1, self.version, time.time())
                await ws.send_message(frame)
            await trio.sleep(0.05)

    async def drive(self) -> None:
        await self.both_subscribed.wait()
        await trio.sleep(0.5)  # rules loaded, both feeds fresh
        quote = ENTRY
        while len(self.latencies_ns) < self.decisions:
            self.version += 1
            frame = mexc_encode.book_ticker_push(quote, self.version, time.time())
            self.decided = trio.Event()
            self.sent_ns = time.perf_counter_ns()
            for ws in self.spot_clients:
                await ws.send_message(frame)
            with trio.move_on_after(NO_DECISION_S):
                await self.decided.wait()
            self.sent_ns = None
            await trio.sleep(SETTLE_S)
            quote = EXIT if quote is ENTRY else ENTRY


async def main(decisions: int) -> None:
    bench = Bench(decisions)
    async with trio.open_nursery() as nursery:
        mexc_port = await nursery.start(HttpServer(bench.mexc_rest).serve)
        gate_port = await nursery.start(HttpServer(bench.gateio_rest).serve)
        mexc_ws = await nursery.start(
            trio_websocket.serve_websocket, bench.mexc_ws, "127.0.0.1", 0, None
        )
        gate_ws = await nursery.start(
            trio_websocket.serve_websocket, bench.gateio_ws, "127.0.0.1", 0, None
        )
        urls = {
            "mexc_rest": f"http://127.0.0.1:{mexc_port}",
            "mexc_ws": f"ws://127.0.0.1:{mexc_ws.port}/ws",
            "gateio_rest": f"http://127.0.0.1:{gate_port}",
            "gateio_ws": f"ws://127.0.0.1:{gate_ws.port}/v4/ws/usdt",
        }
        print(json.dumps(urls), flush=True)
        nursery.start_soon(bench.keep_futures_fresh)
        freeze_startup_objects()
        await bench.drive()
        sys.stdout.write(msgspec.json.encode(bench.latencies_ns).decode() + "\n")
        sys.stdout.flush()
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]))
