"""Other Basis instances on the same venue accounts, as their orders show them.

Every client order id names the instance that made it (``protocols/client_ids.py``), so
an order at a venue whose id names another instance is that instance's: at start each
symbol's open orders and recent order history at both venues are read
(``Recovery.other_instances``), and what other instances are found is reported — in the
log, in ``/status`` (``other_instances``) and as a ``degraded`` health signal. Nothing
else is done with their orders: no router follows an order it did not place or take
over from its own store, and every lookup matches whole client ids, so another
instance's order is never cancelled, adopted or reconciled here. Their positions are
the other thing they change: the futures venue's short in a symbol both trade is the sum
of both instances' shorts (``Recovery.contradiction``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from protocols.client_ids import other_instance
from protocols.venue import OrderUpdate


class ForeignOrder(msgspec.Struct, frozen=True):
    """An open order of another instance, as its venue showed it."""

    venue: str
    client_id: str
    venue_order_id: str
    side: str | None
    qty: float | None
    price: float | None


class OtherInstance(msgspec.Struct, frozen=True):
    """Another Basis instance seen trading ``symbol`` on this account."""

    instance: str
    symbol: str
    open_orders: tuple[ForeignOrder, ...]
    """Its orders still open at the venues: left to it, never touched here."""
    recent_orders: int
    """Its finished orders in the venues' recent order history."""
    seen_at: float
    """When the venues were asked (Unix time)."""
    shared_position: str | None = None
    """What the venue holds beyond this instance's record of the symbol, taken as the
    other instance's (``None`` when the position check found nothing of the kind)."""

    def describe(self) -> str:
        text = (
            f"Basis instance {self.instance} also trades {self.symbol} on this account "
            f"({len(self.open_orders)} open order(s), {self.recent_orders} recent)"
        )
        if self.shared_position is not None:
            text += f"; {self.shared_position}"
        return text


def other_instances(
    instance: str, symbol: str, listed: Mapping[str, Sequence[OrderUpdate]], now: float
) -> list[OtherInstance]:
    """The other instances whose orders are among ``listed`` (venue → the orders it
    listed for ``symbol``), by instance id."""
    open_orders: dict[str, list[ForeignOrder]] = {}
    recent: dict[str, int] = {}
    for venue, orders in listed.items():
        for order in orders:
            other = other_instance(order.client_id, instance)
            if other is None:
                continue
            open_orders.setdefault(other, [])
            recent.setdefault(other, 0)
            if order.status.is_final:
                recent[other] += 1
            else:
                open_orders[other].append(
                    ForeignOrder(
                        venue,
                        order.client_id,
                        order.venue_order_id,
                        None if order.side is None else order.side.value,
                        order.qty,
                        order.price,
                    )
                )
    return [
        OtherInstance(other, symbol, tuple(open_orders[other]), recent[other], now)
        for other in sorted(open_orders)
    ]
