"""Each fault of the simulated venues does what it says, seen through Basis's own clients;
switched through the control API, which calls the venue servers' fault methods."""

from __future__ import annotations

import httpx
import pytest
import trio

from actors.runtime.market.reconnect import why_reconnect
from actors.runtime.market.websocket import WebSocketClosed, open_websocket
from actors.venues.rest import OutcomeUnknown, RequestNotSent, RestClient
from protocols.model import OrderStatus, Quote
from protocols.venue import (
    InsufficientBalance,
    Pong,
    RateLimited,
    UnknownOrder,
    VenueUnavailable,
)

from .support import COIN, WAIT_S, next_matching, now
from .venue_clients import VenueClients


@pytest.fixture(params=["mexc", "gateio"])
async def venue(request, still_sim):
    url = still_sim.urls.mexc_rest if request.param == "mexc" else still_sim.urls.gateio_rest
    async with RestClient(url) as rest:
        yield VenueClients(request.param, still_sim, rest)


async def switch(venue: VenueClients, fault: str, **parameters) -> dict:
    """Switch ``fault`` on through the control API; its answer."""
    async with httpx.AsyncClient(base_url=venue.sim.urls.control) as control:
        response = await control.post(f"/faults/{venue.name}/{fault}", json=parameters)
    assert response.status_code == 200, response.text
    return response.json()


def is_(kind):
    return lambda event: isinstance(event, kind)


async def test_dropped_websockets_are_cut_without_a_closing_handshake(venue):
    async with open_websocket(venue.ws_url, headers=venue.ws_headers) as ws:
        await venue.pong(ws)
        assert (await switch(venue, "drop_websockets"))["affected"] == 1
        with pytest.raises(WebSocketClosed) as closed:
            await ws.get_message()
    assert closed.value.code == 1006
    assert why_reconnect(closed.value).startswith("connection closed (1006")


async def test_a_stalled_websocket_stays_open_but_sends_nothing_not_even_pongs(venue):
    async with open_websocket(venue.ws_url, headers=venue.ws_headers) as ws:
        await ws.send_message(venue.ticker_subscription())
        await next_matching(ws, venue.decode, is_(Quote))
        await switch(venue, "stall_websockets", seconds=3600)
        stalled_at = venue.sim.clock.now()
        await ws.send_message(venue.ping_message())
        seen = []
        with trio.move_on_after(0.5):
            while True:
                seen.extend(venue.decode(await ws.get_message(), 0.0))
        # Frames queued before the stall may still arrive; nothing made after it does (MEXC
        # writes times in whole milliseconds, rounded).
        assert not any(isinstance(event, Pong) for event in seen)
        quotes = [event for event in seen if isinstance(event, Quote)]
        assert all(quote.venue_ts <= stalled_at + 0.001 for quote in quotes)

        await switch(venue, "stall_websockets", seconds=0)
        await venue.pong(ws)
        fresh = await next_matching(ws, venue.decode, is_(Quote))
        assert fresh.venue_ts > stalled_at


async def test_delayed_frames_arrive_no_sooner_than_the_delay(venue):
    async with open_websocket(venue.ws_url, headers=venue.ws_headers) as ws:
        await venue.pong(ws)
        await switch(venue, "delay_frames", ms=300)
        sent_at = trio.current_time()
        await venue.pong(ws)
        # Same process, same trio clock: the server cannot send before the delay is up.
        assert trio.current_time() - sent_at >= 0.3
        await switch(venue, "delay_frames", ms=0)
        await venue.pong(ws)


async def test_refused_connections_are_not_sent_and_open_ones_live_on(venue):
    async with open_websocket(venue.ws_url, headers=venue.ws_headers) as ws:
        await venue.pong(ws)
        await switch(venue, "refuse_connections", seconds=3600)
        async with RestClient(venue.rest.base_url) as fresh:
            with pytest.raises(RequestNotSent):
                await fresh.send(venue.router.query(COIN, "x", None, now()))
        with pytest.raises(OSError) as refused:
            async with open_websocket(venue.ws_url, headers=venue.ws_headers):
                pass
        assert why_reconnect(refused.value).startswith("cannot connect")
        await venue.pong(ws)
        await switch(venue, "refuse_connections", seconds=0)
    async with RestClient(venue.rest.base_url) as fresh:
        response = await fresh.send(venue.router.query(COIN, "x", None, now()))
    assert isinstance(venue.error(response), UnknownOrder)
    assert venue.ledger.client_ids() == []


async def test_server_errors_answer_the_next_requests_then_stop(venue):
    await switch(venue, "fail_requests", count=2)
    for _ in range(2):
        error = await venue.query_error()
        assert (type(error), error.http_status) == (VenueUnavailable, 503)
    assert type(await venue.query_error()) is UnknownOrder


async def test_injected_rate_limits_say_how_long_to_wait(venue):
    await switch(venue, "rate_limit_requests", count=1, retry_after_s=2)
    error = await venue.query_error()
    assert (type(error), error.http_status) == (RateLimited, 429)
    # MEXC says Retry-After: 2; Gate.io a reset time 2 s after its clock, read on ours.
    assert 0.0 < error.retry_after_s <= 3.0
    assert type(await venue.query_error()) is UnknownOrder


@pytest.mark.parametrize("hold_s", [0.0, 3600.0])
async def test_a_timed_out_placement_is_accepted_but_never_answered(venue, hold_s):
    await switch(venue, "time_out_orders", count=1, hold_s=hold_s)
    async with RestClient(venue.rest.base_url, timeout_s=0.2) as impatient:
        request = venue.router.place(venue.taking("lost-1", 2), venue.rules(), now())
        with pytest.raises(OutcomeUnknown):
            await impatient.send(request)
    assert (await venue.query("lost-1")).status is OrderStatus.FILLED
    assert len(venue.ledger.client_ids()) == 1
    placed = await venue.place(venue.taking("answered-1", 2))
    assert placed.client_id == "answered-1"


async def test_rejected_orders_are_refused_with_the_asked_error_and_not_accepted(venue):
    await switch(venue, "reject_orders", count=1, error="InsufficientBalance")
    response = await venue.send_order(venue.taking("refused-1", 2))
    assert type(venue.error(response)) is InsufficientBalance
    assert venue.ledger.client_ids() == []
    await venue.place(venue.taking("accepted-1", 2))
    applied = await switch(venue, "clear")
    assert applied["faults"]["wire"]["injected"] == {"rejected_order": 1}


async def test_partial_fills_give_each_order_the_asked_fraction(venue):
    await switch(venue, "fill_partially", fraction=0.5)
    await venue.place(venue.taking("half-1", 4))
    half = await venue.query("half-1")
    assert (half.status, half.filled_qty) == (OrderStatus.CANCELLED, pytest.approx(2 * venue.lot))
    await switch(venue, "fill_fully")
    await venue.place(venue.taking("whole-1", 4))
    assert (await venue.query("whole-1")).status is OrderStatus.FILLED


async def test_a_depth_skip_is_pending_until_the_next_tick_serves_it(venue):
    applied = await switch(venue, "skip_depth_update", symbol="COIN/USDT")
    assert applied["faults"]["wire"]["depth_skips_pending"] == ["COIN/USDT"]
    with trio.fail_after(WAIT_S):
        while venue.server.wire_faults.view().depth_skips_pending:  # noqa: ASYNC110
            await trio.sleep(0.01)
    assert venue.server.wire_faults.injected["depth_skip"] == 1
