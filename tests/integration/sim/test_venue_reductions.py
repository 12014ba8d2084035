"""The simulated Gate.io reducing the account's position by itself, on the wire: an
auto-deleveraging on the control API's command and a liquidation after a price run, each
pushed on its private channel and on ``futures.positions`` and listed by its REST
history."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from actors.runtime.market.websocket import open_websocket
from actors.sim.config import FuturesVenueConfig
from actors.venues.gateio import SIZE_DECIMAL, GateioRouterCodec
from protocols import gateio, gateio_rest
from protocols.model import Leg, Order, Side
from protocols.venue import FuturesPosition, PositionReducedByVenue, SubscriptionResult

from .support import COIN, CREDENTIALS, next_matching, now

ROUTER = GateioRouterCodec(CREDENTIALS)
USER = FuturesVenueConfig().user_id
SIZES = {COIN: 0.1}  # the still coin's contract


def decode(frame, recv_ts):
    return gateio.decode_frame(frame, recv_ts, SIZES)


async def open_short(sim, rest, client_id: str, qty: float) -> None:
    rules = (await ROUTER.load_rules(rest, [COIN]))[COIN]
    bid = sim.venues.market.quote(COIN, Leg.FUTURES).bid
    order = Order(client_id, Leg.FUTURES, COIN, Side.SELL, qty, bid)
    assert (await rest.send(ROUTER.place(order, rules, now()))).status == 201


async def follow(ws, *channels: str) -> None:
    for channel in channels:
        payload = gateio.private_payload(USER, COIN)
        await ws.send_message(
            gateio.subscribe_message(channel, payload, int(now()), 1, CREDENTIALS)
        )
        ack = await next_matching(ws, decode, lambda e: isinstance(e, SubscriptionResult))
        assert ack.ok, ack


async def history(rest, path: str) -> list[dict]:
    request = gateio_rest.signed_request(
        "GET", f"/futures/usdt/{path}", "contract=COIN_USDT", b"", CREDENTIALS, int(now())
    )
    response = await rest.send(request)
    assert response.status == 200, response.body
    return msgspec.json.decode(response.body)


async def test_an_auto_deleveraging_on_command_is_pushed_and_listed(still_sim, gateio_client):
    await open_short(still_sim, gateio_client, "g-adl", 0.5)
    mark = still_sim.venues.market.mark_price(COIN)
    async with (
        open_websocket(still_sim.urls.gateio_ws, headers=[SIZE_DECIMAL]) as ws,
        httpx.AsyncClient(base_url=still_sim.urls.control) as control,
    ):
        await follow(ws, gateio.AUTO_DELEVERAGES, gateio.POSITIONS)
        reply = await control.post("/auto_deleverage", json={"symbol": "COIN/USDT", "contracts": 2})
        assert reply.status_code == 200, reply.text
        assert (reply.json()["trade_contracts"], reply.json()["position_contracts"]) == (2, -3)
        reduced = await next_matching(ws, decode, lambda e: isinstance(e, PositionReducedByVenue))
        assert (reduced.symbol, reduced.cause, reduced.price) == (COIN, "auto_deleveraging", mark)
        assert reduced.qty == pytest.approx(0.2)  # that much of the short bought back
        position = await next_matching(ws, decode, lambda e: isinstance(e, FuturesPosition))
        assert position.qty == pytest.approx(-0.3)
        [row] = await history(gateio_client, "auto_deleverages")
        assert (row["trade_size"], row["position_size"], row["user"]) == (2, -3, int(USER))
        refused = await control.post(
            "/auto_deleverage", json={"symbol": "COIN/USDT", "contracts": 4}
        )
        assert refused.status_code == 400
        assert "deleverage 1..3 contracts" in refused.json()["error"]
        unknown = await control.post("/auto_deleverage", json={"symbol": "DOGE/USDT"})
        assert "DOGE/USDT is not simulated" in unknown.json()["error"]


async def test_a_price_run_past_the_liquidation_price_liquidates_the_short(
    still_sim, gateio_client
):
    still_sim.venues.futures.set_leverage(COIN, 20.0)
    await open_short(still_sim, gateio_client, "g-liq", 0.5)
    held = still_sim.venues.futures.position(COIN)
    async with (
        open_websocket(still_sim.urls.gateio_ws, headers=[SIZE_DECIMAL]) as ws,
        httpx.AsyncClient(base_url=still_sim.urls.control) as control,
    ):
        await follow(ws, gateio.LIQUIDATES, gateio.POSITIONS)
        run = {"symbol": "COIN/USDT", "price": held.liq_price * 1.02, "seconds": 0.2}
        assert (await control.post("/price_run", json=run)).status_code == 200
        reduced = await next_matching(ws, decode, lambda e: isinstance(e, PositionReducedByVenue))
        assert (reduced.cause, reduced.qty) == ("liquidation", pytest.approx(0.5))
        assert reduced.price == pytest.approx(held.entry_price + held.margin / 0.5)
        position = await next_matching(ws, decode, lambda e: isinstance(e, FuturesPosition))
        assert position.qty == 0.0
        [row] = await history(gateio_client, "liquidates")
        assert (row["size"], row["left"], row["contract"]) == (-5, 0, "COIN_USDT")
        assert float(row["mark_price"]) >= float(row["liq_price"])
        bad = await control.post("/price_run", json={**run, "seconds": 0})
        assert "seconds > 0" in bad.json()["error"]


async def test_the_risk_limit_tiers_are_served_and_a_position_names_its_own(
    still_sim, gateio_client
):
    await open_short(still_sim, gateio_client, "g-tier", 0.5)
    request = gateio_rest.public_request(
        "GET", "/futures/usdt/risk_limit_tiers", "contract=COIN_USDT"
    )
    tiers = msgspec.json.decode((await gateio_client.send(request)).body)
    assert [tier["tier"] for tier in tiers] == [1, 2, 3, 4, 5]
    assert tiers[0] == {
        "tier": 1,
        "risk_limit": "1000000",
        "initial_rate": "0.01",
        "maintenance_rate": "0.005",
        "leverage_max": "100",
    }
    response = await gateio_client.send(gateio_rest.position_request(COIN, CREDENTIALS, int(now())))
    position = gateio_rest.parse_position(response.body, SIZES[COIN])
    assert (position.maintenance_rate, position.risk_limit) == (0.005, 1_000_000.0)
    # Leverage 1: the margin is the entry value; Gate.io's formula with tier 1's rate.
    expected = 2.0 * position.entry_price / (1.0 + 0.005 + still_sim.venues.futures.taker_fee)
    assert position.liq_price == pytest.approx(expected, abs=0.01)
