"""Basis's clients of each simulated venue behind one face, so that a test of a fault can
run against both venues: place and query orders with the router codec, ping and read
the websocket with the venue's codec."""

from __future__ import annotations

from typing import Any

import attrs

from actors.sim import SimServers, VenueServer
from actors.venues.gateio import SIZE_DECIMAL, GateioRouterCodec
from actors.venues.mexc import MexcRouterCodec
from actors.venues.rest import RestClient
from protocols import gateio, mexc
from protocols.model import Leg, Order, Side, TimeInForce
from protocols.venue import OrderUpdate, Pong, VenueError

from .support import COIN, CREDENTIALS, next_matching, now

CONTRACT_SIZE = 0.1  # COIN's, in the still config


@attrs.define
class VenueClients:
    """Our clients of the venue ``name`` (``mexc`` or ``gateio``) of ``sim``."""

    name: str
    sim: SimServers
    rest: RestClient
    router: Any = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.router = (MexcRouterCodec if self.name == "mexc" else GateioRouterCodec)(CREDENTIALS)

    @property
    def server(self) -> VenueServer:
        server = self.sim.exchange(self.name)
        assert server is not None
        return server

    @property
    def leg(self) -> Leg:
        return Leg.SPOT if self.name == "mexc" else Leg.FUTURES

    @property
    def ws_url(self) -> str:
        return self.sim.urls.mexc_ws if self.name == "mexc" else self.sim.urls.gateio_ws

    @property
    def ws_headers(self) -> list[tuple[bytes, bytes]]:
        return [] if self.name == "mexc" else [SIZE_DECIMAL]

    @property
    def ledger(self):
        return self.server.exchange.ledger

    def rules(self):
        rules = self.sim.config.symbols[0]
        return rules.spot_rules if self.name == "mexc" else rules.futures_rules

    @property
    def lot(self) -> float:
        """The quantity tests trade in: one contract, and ten spot steps (10 USDT, above
        the spot minimum notional)."""
        return CONTRACT_SIZE

    def taking(self, client_id: str, lots: int, side: Side = Side.BUY) -> Order:
        """An IOC order that takes ``lots`` at the touch."""
        qty = round(lots * self.lot, 1)
        quote = self.sim.venues.market.quote(COIN, self.leg)
        price = quote.ask if side is Side.BUY else quote.bid
        return Order(client_id, self.leg, COIN, side, qty, price)

    def ticker_subscription(self) -> str:
        if self.name == "mexc":
            return mexc.subscribe_message([mexc.book_ticker_channel(COIN)])
        return gateio.subscribe_message(gateio.BOOK_TICKER, ["COIN_USDT"], int(now()))

    def resting(self, client_id: str) -> Order:
        """A GTC buy well below the market, which rests."""
        return Order(client_id, self.leg, COIN, Side.BUY, 1.0, 90.0, tif=TimeInForce.GTC)

    async def send_order(self, order: Order):
        """The venue's raw answer to placing ``order``."""
        return await self.rest.send(self.router.place(order, self.rules(), now()))

    async def place(self, order: Order) -> OrderUpdate:
        response = await self.send_order(order)
        assert response.status in (200, 201), response.body
        return self.router.parse_placed(response, order, self.rules())

    async def query(self, client_id: str) -> OrderUpdate:
        response = await self.rest.send(self.router.query(COIN, client_id, None, now()))
        assert response.status == 200, response.body
        return self.router.parse_order(response, COIN, self.rules())

    async def query_error(self, client_id: str = "never-sent") -> VenueError:
        """The error a signed query gets (the order need not exist)."""
        response = await self.rest.send(self.router.query(COIN, client_id, None, now()))
        return self.error(response)

    def error(self, response) -> VenueError:
        assert response.status >= 400, response.body
        return self.router.error(response, now())

    def ping_message(self) -> str:
        return mexc.PING_MESSAGE if self.name == "mexc" else gateio.ping_message(int(now()))

    def decode(self, frame, recv_ts: float):
        if self.name == "mexc":
            return mexc.decode_frame(frame, recv_ts)
        return gateio.decode_frame(frame, recv_ts, {COIN: CONTRACT_SIZE})

    async def pong(self, ws) -> Pong:
        await ws.send_message(self.ping_message())
        return await next_matching(ws, self.decode, lambda event: isinstance(event, Pong))
