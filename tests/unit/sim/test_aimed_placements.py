"""A fault aimed at an order placement hits only when its effect happened at the venue
(on trio's MockClock): otherwise it stays armed for the next matching order, so a hit
share cannot count faults that exercised nothing."""

from __future__ import annotations

import pytest
import trio

from actors.http_server import CloseWithoutAnswer, HttpResponse
from actors.sim.aimed_faults import OrderFault, OrderFaultKind, OrderTarget, Role
from actors.sim.config import ServerConfig
from actors.sim.mexc_server import MexcServer
from actors.sim.venue_server import Placement
from protocols.client_ids import client_order_id
from protocols.model import Leg, OrderType, Side, VenueRules
from protocols.venue import InsufficientBalance, InvalidParameter, InvalidPrecision
from tests.unit.sim.helpers import COIN, T0, coin, config, venues

CORRECTION = OrderTarget("mexc", Role.CORRECTION)
LOT = 0.1
"""The spot quantity step here: an order of one lot is 10 USDT, above the minimum."""


def server() -> MexcServer:
    rules = VenueRules(qty_step=LOT, min_qty=LOT, min_notional=5.0, price_tick=0.01)
    cfg = config(coin(spot_rules=rules))
    return MexcServer(venues(cfg).spot, cfg.spot, ServerConfig(), lambda: T0)


async def buy(venue: MexcServer, seq: int, qty: float, unreadable: bool = False) -> HttpResponse:
    """A spot market buy of ``qty`` placed alone (a correction), through the wire edge;
    ``unreadable``: refused by the handler before it reaches the engine."""
    cid = client_order_id("btc_1", seq, Leg.SPOT, "ab12")

    def place() -> HttpResponse:
        if unreadable:
            raise InvalidParameter("mexc", None, "quantity is not a number")
        venue.spot.place_order(COIN, Side.BUY, OrderType.MARKET, qty, client_id=cid, now=T0)
        return HttpResponse(200, {}, b"{}")

    return await venue._place(place, Placement(cid, cid, Side.BUY, COIN))


def served(venue: MexcServer, fault: str) -> int:
    return venue.wire_faults.view().injected.get(fault, 0)


async def test_a_reject_whose_placement_failed_before_the_venue_looked_stays_armed(
    autojump_clock,
):
    venue = server()
    fault = OrderFault(OrderFaultKind.REJECT, error=InsufficientBalance)
    aimed = venue.aimed.arm(CORRECTION, fault, 30.0)
    with pytest.raises(InvalidParameter):
        await buy(venue, 1, 1.0, unreadable=True)
    assert aimed.open and aimed.hit is None and served(venue, "rejected_order") == 0
    with pytest.raises(InsufficientBalance):
        await buy(venue, 3, 1.0)
    assert aimed.hit is not None and served(venue, "rejected_order") == 1


async def test_a_timeout_whose_order_was_refused_is_not_a_timeout_after_acceptance(
    autojump_clock,
):
    venue = server()
    aimed = venue.aimed.arm(CORRECTION, OrderFault(OrderFaultKind.TIMEOUT, hold_s=2.0), 30.0)
    with pytest.raises(InvalidPrecision):  # off the step: refused by the engine, and answered
        await buy(venue, 1, 0.01)
    assert aimed.open and aimed.hit is None and served(venue, "timeout") == 0
    with pytest.raises(CloseWithoutAnswer):
        await buy(venue, 3, 1.0)
    assert aimed.hit is not None and served(venue, "timeout") == 1
    assert venue.spot.orders(COIN)[-1].filled_qty == 1.0  # accepted, never answered


async def test_a_partial_fill_hits_only_an_order_it_part_fills(autojump_clock):
    venue = server()
    fault = OrderFault(OrderFaultKind.PARTIAL_FILL, fraction=0.3)
    aimed = venue.aimed.arm(CORRECTION, fault, 30.0)
    await buy(venue, 1, LOT)  # one lot: a cap cannot part-fill it, it fills whole
    assert venue.spot.orders(COIN)[-1].filled_qty == LOT
    assert aimed.open and aimed.hit is None and served(venue, "partial_fill") == 0
    await buy(venue, 3, 5.0)
    assert venue.spot.orders(COIN)[-1].filled_qty == 1.5
    assert aimed.hit is not None and served(venue, "partial_fill") == 1
    await buy(venue, 5, 5.0)  # the fault is spent: the next order fills whole
    assert venue.spot.orders(COIN)[-1].filled_qty == 5.0
    assert trio.current_time() < 30.0
