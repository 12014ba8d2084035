"""The simulated venues' lookup lag and forgetting of unfilled orders."""

from __future__ import annotations

import pytest

from actors.sim import SimVenues
from protocols.model import OrderType, Side
from protocols.venue import UnknownOrder

from .helpers import COIN, T0, config


def resting_buy(venues, exchange, now, client_id):
    price = round(venues.market.spot_mid(COIN) * 0.9, 2)
    if exchange is venues.spot:
        return exchange.place_order(
            COIN, Side.BUY, OrderType.LIMIT, 0.1, price=price, client_id=client_id, now=now
        )
    return exchange.place_order(
        COIN, Side.BUY, OrderType.LIMIT, 1, price=price, client_id=client_id, now=now
    )


def test_a_new_order_is_hidden_from_queries_for_the_lag_then_shown():
    venues = SimVenues(config(), T0)
    venues.spot.read_after_write.set(2.0, None)
    placed = resting_buy(venues, venues.spot, T0, "a1")
    with pytest.raises(UnknownOrder):
        venues.spot.order(venue_order_id=placed.venue_order_id, now=T0 + 1.9)
    with pytest.raises(UnknownOrder):
        venues.spot.order(client_id="a1", now=T0 + 1.9)
    assert venues.spot.order(client_id="a1", now=T0 + 2.0).venue_order_id == placed.venue_order_id
    assert venues.spot.read_after_write.served() == {"lagged_lookup": 2, "forgotten_lookup": 0}


def test_an_order_cancelled_unfilled_is_forgotten_by_its_id_too():
    venues = SimVenues(config(), T0)
    futures = venues.futures
    assert futures.read_after_write.forget_unfilled_after_s == 600.0  # Gate.io's ten minutes
    placed = resting_buy(venues, futures, T0, "t-b1")
    futures.cancel_order(venue_order_id=placed.venue_order_id, now=T0 + 1.0)
    assert futures.order(venue_order_id=placed.venue_order_id, now=T0 + 601.0).status.is_final
    with pytest.raises(UnknownOrder):
        futures.order(venue_order_id=placed.venue_order_id, now=T0 + 601.1)
    assert futures.read_after_write.forgotten == 1


def test_clear_restores_the_configured_behaviour():
    venues = SimVenues(config(), T0)
    lookups = venues.futures.read_after_write
    lookups.set(1.0, 0.0)
    lookups.reset()
    assert (lookups.lag_s, lookups.forget_unfilled_after_s) == (0.0, 600.0)
    with pytest.raises(ValueError, match="must be >= 0"):
        lookups.set(-1.0, None)
