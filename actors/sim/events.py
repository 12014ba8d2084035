"""What a simulated venue tells its listeners: the private pushes a server forwards.

A listener is called synchronously, once per event, after the operation that caused it
is complete, in the order the venue would push them: an order's trades come before the
order update that reflects them. Listeners must not raise and must not call back into the
venue; a server puts the event on a channel and returns.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from actors.sim.records import FundingPayment, PerpetualPosition, VenueFill, VenueOrder
from protocols.venue import Balance


class OrderUpdated(msgspec.Struct, frozen=True, tag=True):
    """An order was accepted, filled (in part), cancelled or expired."""

    order: VenueOrder


class TradeExecuted(msgspec.Struct, frozen=True, tag=True):
    fill: VenueFill


class BalanceChanged(msgspec.Struct, frozen=True, tag=True):
    """A spot balance changed (once per asset per operation)."""

    balance: Balance
    ts: float


class PositionChanged(msgspec.Struct, frozen=True, tag=True):
    """A futures position changed (once per symbol per operation)."""

    position: PerpetualPosition
    ts: float


class FundingApplied(msgspec.Struct, frozen=True, tag=True):
    payment: FundingPayment


VenueEvent = OrderUpdated | TradeExecuted | BalanceChanged | PositionChanged | FundingApplied
Listener = Callable[[VenueEvent], None]
