"""The control API: the venues' books of record, faults, and a forced dislocation, as JSON
over HTTP on its own port."""

from __future__ import annotations

import httpx
import msgspec
import pytest
import trio

from actors.runtime.market.websocket import open_websocket
from actors.sim.views import Faults, Holdings, Ledgers, SimUrls
from actors.venues.rest import RestClient
from protocols import gateio
from protocols.model import Leg, Quote, Side
from tests.unit.sim import helpers

from .support import COIN, WAIT_S, fast, next_matching, now, start
from .venue_clients import VenueClients


@pytest.fixture
async def control(still_sim):
    async with httpx.AsyncClient(base_url=still_sim.urls.control) as client:
        yield client


@pytest.fixture
async def venues(still_sim):
    async with (
        RestClient(still_sim.urls.mexc_rest) as mexc,
        RestClient(still_sim.urls.gateio_rest) as gateio,
    ):
        yield VenueClients("mexc", still_sim, mexc), VenueClients("gateio", still_sim, gateio)


async def test_the_ledgers_list_each_order_its_fills_and_its_end_by_client_id(
    still_sim, control, venues
):
    mexc, gateio = venues
    await mexc.place(mexc.taking("led-1", 3))
    await gateio.place(gateio.taking("led-2", 3))
    response = await control.get("/ledger")
    assert response.status_code == 200
    ledgers = response.json()
    assert [entry["type"] for entry in ledgers["mexc"]] == [
        "OrderAccepted",
        "FillExecuted",
        "OrderFinished",
    ]
    assert ledgers["mexc"][0]["order"]["client_id"] == "led-1"
    assert ledgers["gateio"][0]["order"]["client_id"] == "t-led-2"
    assert ledgers["gateio"][1]["fill"]["contracts"] == 3
    assert msgspec.json.decode(response.content, type=Ledgers) == still_sim.ledgers()


async def test_positions_show_spot_balances_and_futures_positions(still_sim, control, venues):
    mexc, gateio = venues
    await mexc.place(mexc.taking("pos-1", 3))
    await gateio.place(gateio.taking("pos-2", 3, Side.SELL))
    response = await control.get("/positions")
    holdings = msgspec.json.decode(response.content, type=Holdings)
    assert holdings == still_sim.holdings()
    balances = {balance.asset: balance.free for balance in holdings.mexc.balances}
    assert balances["COIN"] == pytest.approx(100.3)
    [position] = holdings.gateio.positions
    assert (position.symbol, position.contracts) == (COIN, -3)


async def test_faults_show_what_is_on_and_what_was_served(still_sim, control, venues):
    mexc, _ = venues
    response = await control.get("/faults")
    faults = msgspec.json.decode(response.content, type=Faults)
    assert faults == still_sim.faults()
    assert (faults.mexc.wire.server_errors_left, faults.mexc.wire.injected) == (0, {})
    applied = await control.post("/faults/mexc/fail_requests", json={"count": 3})
    assert applied.json()["faults"]["wire"]["server_errors_left"] == 3
    await mexc.query_error()
    wire = (await control.get("/faults")).json()["mexc"]["wire"]
    assert (wire["server_errors_left"], wire["injected"]) == (2, {"server_error": 1})
    applied = await control.post("/faults/gateio/fill_partially", json={"fraction": 0.25})
    assert applied.json()["faults"]["partial_fill"] == [0.25, 1.0]
    applied = await control.post(
        "/faults/mexc/read_after_write", json={"lag_s": 2.0, "forget_unfilled_after_s": 30.0}
    )
    faults_now = applied.json()["faults"]
    assert (faults_now["lookup_lag_s"], faults_now["forget_unfilled_after_s"]) == (2.0, 30.0)
    assert faults_now["hidden_lookups"] == {"lagged_lookup": 0, "forgotten_lookup": 0}
    cleared = (await control.post("/faults/mexc/clear")).json()["faults"]
    assert (cleared["lookup_lag_s"], cleared["forget_unfilled_after_s"]) == (0.0, None)


async def test_urls_are_served(still_sim, control):
    response = await control.get("/urls")
    assert msgspec.json.decode(response.content, type=SimUrls) == still_sim.urls


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/faults/binance/fail_requests", {"count": 1}, 404, "no venue 'binance'"),
        ("/faults/mexc/explode", {}, 404, "no fault 'explode'; known: drop_websockets"),
        ("/faults/mexc/stall_websockets", {"seconds": "soon"}, 400, "seconds"),
        ("/faults/mexc/stall_websockets", {}, 400, "missing required key 'seconds'"),
        ("/faults/mexc/fail_requests", {"count": 1, "n": 2}, 400, "unknown key 'n'"),
        ("/faults/mexc/fail_requests", {"count": -1}, 400, "count -1 must be >= 0"),
        ("/faults/gateio/reject_orders", {"count": 1, "error": "Nope"}, 400, "'Nope' is not"),
        ("/faults/gateio/skip_depth_update", {"symbol": "COIN"}, 400, "BASE/QUOTE"),
        ("/faults/mexc/upgrade_notice", {}, 400, "MEXC documents no upgrade notice"),
        ("/faults/mexc/read_after_write", {"lag_s": -1}, 400, "must be >= 0"),
        ("/dislocate", {"size": "big"}, 400, "size"),
        ("/price_run", {"symbol": "COIN/USDT", "seconds": 1}, 400, "missing required key 'price'"),
        ("/price_run", {"symbol": "COIN/USDT", "price": -1, "seconds": 1}, 400, "price > 0"),
        ("/auto_deleverage", {"symbol": "COIN/USDT"}, 400, "no position to deleverage"),
        ("/transfer", {"venue": "binance", "usdt": 1.0}, 400, "no venue 'binance'"),
        ("/transfer", {"venue": "mexc"}, 400, "missing required key 'usdt'"),
        ("/hold", {"seconds": 0}, 400, "seconds must be above 0 and at most 600, got 0"),
        ("/hold", {"seconds": 601}, 400, "at most 600"),
        ("/hold", {}, 400, "missing required key 'seconds'"),
        ("/nowhere", {}, 404, "no route POST /nowhere"),
    ],
)
async def test_a_bad_request_is_told_what_was_wrong(control, path, body, status, says):
    response = await control.post(path, json=body)
    assert response.status_code == status
    assert says in response.json()["error"]


async def test_a_transfer_moves_usdt_in_and_out_no_more_than_is_free(still_sim, control):
    spot, futures = still_sim.venues.spot, still_sim.venues.futures
    free, available = spot.balance("USDT").free, futures.account().available
    response = await control.post("/transfer", json={"venue": "mexc", "usdt": -100.0})
    assert response.json() == {"venue": "mexc", "usdt": -100.0}
    assert spot.balance("USDT").free == pytest.approx(free - 100.0)
    response = await control.post("/transfer", json={"venue": "gateio", "usdt": -1e12})
    assert response.json()["usdt"] == pytest.approx(-available)  # all there was, no more
    assert futures.account().available == pytest.approx(0.0, abs=1e-9)
    await control.post("/transfer", json={"venue": "gateio", "usdt": available})
    assert futures.account().available == pytest.approx(available)


async def test_a_dislocation_moves_the_perpetual_away_from_spot(still_sim, control):
    async with open_websocket(still_sim.urls.gateio_ws) as ws:
        payload = gateio.book_ticker_payload([COIN])
        await ws.send_message(gateio.subscribe_message(gateio.BOOK_TICKER, payload, int(now())))
        response = await control.post("/dislocate", json={"symbol": "COIN/USDT", "size": 0.01})
        assert response.status_code == 200

        def decode(frame, recv_ts):
            return gateio.decode_frame(frame, recv_ts, {COIN: 0.1})

        quote = await next_matching(ws, decode, lambda e: isinstance(e, Quote) and e.bid > 100.5)
    # The still coin sits at 100 with no premium: now its perpetual trades 1% over it.
    assert (quote.bid + quote.ask) / 2.0 == pytest.approx(101.0, abs=0.01)
    assert still_sim.venues.market.quote(COIN, Leg.SPOT).bid == 100.0


async def test_the_futures_ledger_lists_funding_paid_on_a_position(nursery):
    sim = await start(nursery, fast(helpers.config(helpers.coin(funding_interval_s=0.2))))
    async with RestClient(sim.urls.gateio_rest) as rest:
        gateio = VenueClients("gateio", sim, rest)
        await gateio.place(gateio.taking("short-1", 5, Side.SELL))
    with trio.fail_after(WAIT_S):
        while not sim.venues.futures.ledger.funding():  # noqa: ASYNC110
            await trio.sleep(0.05)
    async with httpx.AsyncClient(base_url=sim.urls.control) as control:
        ledger = (await control.get("/ledger")).json()["gateio"]
    [payment, *_] = [entry["payment"] for entry in ledger if entry["type"] == "FundingSettled"]
    # A short receives funding when the rate is positive (the still coin's is the interest).
    assert (payment["contracts"], payment["rate"] > 0, payment["amount"] > 0) == (-5, True, True)
