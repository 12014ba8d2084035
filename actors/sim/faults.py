"""Faults a simulated venue can be told to inject, switched at run time (chaos runs).

- ``reject_next(n, error)``: the next ``n`` order placements fail with ``error`` before the
  venue looks at them, so nothing is accepted and nothing reaches the ledger.
- ``fill_partially(fraction, probability)``: while on, each matching pass of an order
  (on arrival, and each time the book crosses it later) is, with ``probability``, given
  at most ``fraction`` of the order's quantity, rounded down to whole lots. An IOC or
  market order then expires part-filled; a resting order keeps the rest open.

- ``reject_order(client_id, error)``, ``cap_order(client_id, fraction)``: the same for one
  order, named by its client id (an aimed fault, ``actors.sim.aimed_faults``, that met it).
  A capped pass gives at least one lot: a partial fill fills part of the order, never
  none of it (a one-lot order cannot be part-filled, and fills whole).

Dislocating the market is the market's business: ``SimMarket.dislocate``.
"""

from __future__ import annotations

import random

import attrs

from protocols.venue import VenueError, VenueUnavailable


@attrs.define
class VenueFaults:
    """The faults currently switched on for one venue; all off when created."""

    _rejections_left: int = attrs.field(default=0, init=False)
    _rejection: type[VenueError] = attrs.field(default=VenueUnavailable, init=False)
    _rejection_message: str = attrs.field(default="", init=False)
    _fill_fraction: float | None = attrs.field(default=None, init=False)
    _fill_probability: float = attrs.field(default=1.0, init=False)
    _rejected_orders: dict[str, VenueError] = attrs.field(factory=dict, init=False)
    _capped_orders: dict[str, float] = attrs.field(factory=dict, init=False)

    def reject_next(
        self,
        count: int,
        error: type[VenueError] = VenueUnavailable,
        message: str = "injected fault: order rejected",
    ) -> None:
        """Fail the next ``count`` placements with ``error(venue, None, message)``."""
        if count < 0:
            raise ValueError(f"reject_next: count {count} must be >= 0")
        self._rejections_left = count
        self._rejection = error
        self._rejection_message = message

    def fill_partially(self, fraction: float, probability: float = 1.0) -> None:
        """Give matching passes at most ``fraction`` of an order, with ``probability``."""
        if not 0.0 <= fraction < 1.0 or not 0.0 <= probability <= 1.0:
            raise ValueError(
                f"fill_partially: fraction {fraction} must be in [0, 1) and probability "
                f"{probability} in [0, 1]"
            )
        self._fill_fraction = fraction
        self._fill_probability = probability

    def reject_order(self, client_id: str, error: VenueError) -> None:
        """Refuse the placement of the order ``client_id`` with ``error``."""
        self._rejected_orders[client_id] = error

    def withdraw_rejection(self, client_id: str) -> bool:
        """Take back a refusal of ``client_id`` not served (its placement failed before
        the venue looked at it); whether one was still due."""
        return self._rejected_orders.pop(client_id, None) is not None

    def cap_order(self, client_id: str, fraction: float) -> None:
        """Give each matching pass of the order ``client_id`` at most ``fraction`` of it."""
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"cap_order: fraction {fraction} must be in [0, 1)")
        self._capped_orders[client_id] = fraction

    def uncap_order(self, client_id: str) -> None:
        """Take back a cap on ``client_id`` (it did not part-fill the order)."""
        self._capped_orders.pop(client_id, None)

    def fill_fully(self) -> None:
        """Switch partial fills off."""
        self._fill_fraction = None

    def clear(self) -> None:
        """Switch every fault off."""
        self._rejections_left = 0
        self._fill_fraction = None
        self._rejected_orders.clear()
        self._capped_orders.clear()

    @property
    def rejections_left(self) -> int:
        return self._rejections_left

    @property
    def rejection(self) -> type[VenueError]:
        """The error the next injected rejections raise."""
        return self._rejection

    @property
    def partial_fill(self) -> tuple[float, float] | None:
        """``(fraction, probability)`` while partial fills are on, else ``None``."""
        if self._fill_fraction is None:
            return None
        return self._fill_fraction, self._fill_probability

    def take_rejection(self, venue: str, client_id: str | None = None) -> VenueError | None:
        """The error for this placement (of ``client_id``) if one is due (and count it),
        else ``None``."""
        if client_id is not None and client_id in self._rejected_orders:
            return self._rejected_orders.pop(client_id)
        if self._rejections_left <= 0:
            return None
        self._rejections_left -= 1
        return self._rejection(venue, None, self._rejection_message)

    def fill_cap(
        self, order_lots: int, rng: random.Random, client_id: str | None = None
    ) -> int | None:
        """The most lots this matching pass of the order (``client_id``) may fill, or
        ``None`` for no fault limit."""
        capped = self._capped_orders.get(client_id or "")
        if capped is not None:
            return max(1, _lots(order_lots, capped))
        if self._fill_fraction is None:
            return None
        if self._fill_probability < 1.0 and rng.random() >= self._fill_probability:
            return None
        return _lots(order_lots, self._fill_fraction)


def _lots(order_lots: int, fraction: float) -> int:
    # 0.29 * 100 is 28.999999999999996 in floating point, and must give 29 lots.
    return int(order_lots * fraction + 1e-9)
