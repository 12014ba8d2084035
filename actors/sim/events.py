"""What a simulated venue tells its listeners: the private pushes a server forwards.

A listener is called synchronously, once per event, after the operation that caused it
is complete, in the order the venue would push them: an order's trades come before the
order update that reflects them. Listeners must not raise and must not call back into the
venue; a server puts the event on a channel and returns.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from actors.sim.records import (
    AutoDeleverage,
    FundingPayment,
    Liquidation,
    PerpetualPosition,
    VenueFill,
    VenueOrder,
)
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


class PositionLiquidated(msgspec.Struct, frozen=True, tag=True):
    """The venue liquidated a futures position."""

    liquidation: Liquidation


class PositionDeleveraged(msgspec.Struct, frozen=True, tag=True):
    """The venue's auto-deleveraging reduced a futures position."""

    deleverage: AutoDeleverage


VenueEvent = (
    OrderUpdated
    | TradeExecuted
    | BalanceChanged
    | PositionChanged
    | FundingApplied
    | PositionLiquidated
    | PositionDeleveraged
)
Listener = Callable[[VenueEvent], None]
