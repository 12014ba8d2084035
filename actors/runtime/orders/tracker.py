"""What one order's owner is to be told, derived from what the venue reports: no I/O.

A venue reports an order in two ways, each possibly late, repeated or out of order:

* cumulative reports (:class:`~protocols.venue.OrderUpdate`: placement replies, queries,
  private pushes) say how much of the order has filled so far and at what average price;
* trade reports (:class:`~protocols.venue.Trade`) each say one execution, by trade id.

An :class:`OrderTracker` takes them, in whatever order they come, and returns what the
owner must hear — :class:`Accepted`, then :class:`Filled` (each new quantity once),
then :class:`Finished` or :class:`Rejected` — never twice and nothing after the end. It
reads no clock (times are passed in) and awaits nothing: the router moves the messages,
journals them and serializes the calls.

How fills are derived: every report names a set of the order's executions whose total
quantity and value are known exactly — a cumulative report the executions so far (a
prefix), trade reports the distinct trades seen. The delivered totals only ever move up to
the largest such set seen, by the difference, so a quantity is never delivered twice and a
stale report delivers nothing. At the final report the set is every execution: the
delivered quantity is then the venue's filled quantity and the delivered value its average
price times that quantity, whichever reports came before. (Between two sets that are not
nested — a stale cumulative report after newer trades — one fill's price may lie outside
the trades' range; the totals stay exact.)

Fees: a trade report says what the venue charged and in which asset; a cumulative report
usually says nothing of fees, and a fill it delivers carries a fee estimated at the fee
rate. When a trade then arrives for quantity already delivered, a fill of quantity 0
corrects that estimate to what the venue charged (and takes a commission charged in the
base coin out of what is held). The router asks the venue for an order's trades before
its end is delivered, again while the venue's read-after-write lag may hide some; an
estimate outlives the order only when the venue lists no trade for that quantity by
then (or its trades cannot be asked for), and the router warns of it.
"""

from __future__ import annotations

import attrs

from protocols.messages import OrderAccepted, OrderFinal, OrderRejected
from protocols.model import Fill, Order, OrderStatus
from protocols.rules import more_than_noise
from protocols.venue import OrderUpdate, Trade


@attrs.frozen
class Accepted:
    """The venue took the order: tell its owner ``message``."""

    message: OrderAccepted


@attrs.frozen
class Filled:
    """New quantity filled: tell its owner ``message``. ``filled_qty`` and ``avg_price``
    are the delivered totals with this fill included."""

    message: Fill
    filled_qty: float
    avg_price: float


@attrs.frozen
class Finished:
    """The order ended at the venue (every fill was delivered before): tell its owner
    ``message``."""

    message: OrderFinal


@attrs.frozen
class Rejected:
    """The router refused the order, or found it never reached the venue: tell its owner
    ``message``."""

    message: OrderRejected


Delivery = Accepted | Filled | Finished | Rejected


@attrs.define(eq=False)
class OrderTracker:
    """The fill accounting of one order intent.

    ``order`` is the order as sent (its quantity sets what counts as float noise; its price
    stands in for a cumulative report that gives no average price). The router may replace
    it before the first report (rounded to the venue's increments, or adopted from the
    venue's own description). Every method returns the deliveries, in the order the owner
    must hear them, and changes the totals as if they were delivered.
    """

    order: Order
    venue_order_id: str | None = None
    accepted: bool = False
    final_status: OrderStatus | None = None
    """How the order ended (``REJECTED`` when the router rejected it); ``None`` while it
    lives."""
    rejection: str | None = None
    """Why the router rejected it, when it did."""
    delivered_qty: float = 0.0
    delivered_value: float = 0.0
    delivered_fee: float = 0.0
    traded_qty: float = 0.0
    """The total quantity of the distinct trades reported."""
    traded_value: float = 0.0
    trade_ids: set[str] = attrs.field(factory=set)
    estimated_qty: float = 0.0
    """Quantity delivered with an estimated fee that no trade has corrected yet."""
    estimated_fee: float = 0.0
    """The estimated fees (USDT) of ``estimated_qty``."""

    @property
    def final(self) -> bool:
        return self.final_status is not None

    @property
    def average_price(self) -> float:
        """The average price of what was delivered (0 when nothing was)."""
        return self.delivered_value / self.delivered_qty if self.delivered_qty else 0.0

    def on_report(self, update: OrderUpdate, now: float, fee_rate: float) -> list[Delivery]:
        """A cumulative report of the order; ``now`` is the time of a report that carries
        none, ``fee_rate`` the taker fee assumed when the report gives no fee.

        Accepts the order unless the venue rejected it, delivers what was filled beyond
        what was delivered, and finishes it if the report is final. A report after the end
        changes nothing."""
        if self.final:
            return []
        at = update.ts or now
        if update.venue_order_id:
            self.venue_order_id = update.venue_order_id
        deliveries: list[Delivery] = []
        if update.status is not OrderStatus.REJECTED:
            deliveries += self._accept(at)
        filled = update.filled_qty or 0.0
        extra = filled - self.delivered_qty
        if more_than_noise(extra, of=self.order.qty):
            average = update.avg_price or self.order.price
            price = (average * filled - self.delivered_value) / extra
            if update.fee:
                fee = update.fee - self.delivered_fee
            else:
                fee = extra * price * fee_rate
                self.estimated_qty += extra
                self.estimated_fee += fee
            trade_id = f"{self.venue_order_id}@{filled:.12g}"
            deliveries.append(self._deliver(extra, price, fee, trade_id, at))
        if update.status.is_final:
            self.final_status = update.status
            final = OrderFinal(
                at, self.order.client_id, update.status, self.delivered_qty, self.average_price
            )
            deliveries.append(Finished(final))
        return deliveries

    def on_trade(self, trade: Trade, fee_asset_usdt: float | None = None) -> list[Delivery]:
        """A trade report: accepts the order (the venue traded it, so it took it) and
        delivers what the distinct trades reported add beyond what was delivered, with
        the trade's own fee; for the part a cumulative report delivered already, a fill
        of quantity 0 corrects its estimated fee. ``fee_asset_usdt`` is the USDT price of
        the trade's fee asset when that is neither of the symbol's assets: without it,
        ``ValueError``, and nothing changes. A trade seen before, or one after the end,
        changes nothing."""
        if self.final or trade.trade_id in self.trade_ids:
            return []
        fee_usdt = fee_value_usdt(trade, fee_asset_usdt)  # raises before anything changes
        self.trade_ids.add(trade.trade_id)
        self.traded_qty += trade.qty
        self.traded_value += trade.qty * trade.price
        if not self.venue_order_id and trade.venue_order_id:
            self.venue_order_id = trade.venue_order_id
        deliveries: list[Delivery] = list(self._accept(trade.ts))
        extra = self.traded_qty - self.delivered_qty
        new_qty = (
            min(max(extra, 0.0), trade.qty) if more_than_noise(extra, of=self.order.qty) else 0.0
        )
        covered = min(trade.qty - new_qty, self.estimated_qty)
        if more_than_noise(covered, of=self.order.qty) and trade.qty > 0.0:
            share = covered / trade.qty
            estimate = self.estimated_fee * covered / self.estimated_qty
            self.estimated_qty -= covered
            self.estimated_fee -= estimate
            deliveries.append(
                self._deliver(
                    0.0,
                    trade.price,
                    fee_usdt * share - estimate,
                    f"{trade.trade_id}-fee",
                    trade.ts,
                    trade.fee * share,
                    trade.fee_asset,
                )
            )
        if new_qty > 0.0:
            price = (self.traded_value - self.delivered_value) / extra
            if not more_than_noise(abs(price - trade.price), of=trade.price):
                price = trade.price  # the trade alone: its price, not float noise around it
            share = new_qty / trade.qty
            deliveries.append(
                self._deliver(
                    extra,
                    price,
                    fee_usdt * share,
                    trade.trade_id,
                    trade.ts,
                    trade.fee * share,
                    trade.fee_asset,
                )
            )
        return deliveries

    def reject(self, reason: str, now: float) -> list[Delivery]:
        """The router refuses the order (or found it never reached the venue); nothing if
        it already ended."""
        if self.final:
            return []
        self.rejection = reason
        self.final_status = OrderStatus.REJECTED
        return [Rejected(OrderRejected(now, self.order.client_id, reason))]

    def end_report(self, now: float) -> OrderFinal | OrderRejected:
        """What the owner is told of the end of the order, which must be final."""
        client_id = self.order.client_id
        if self.rejection is not None:
            return OrderRejected(now, client_id, self.rejection)
        assert self.final_status is not None, f"{client_id} is not final"
        return OrderFinal(now, client_id, self.final_status, self.delivered_qty, self.average_price)

    def _accept(self, at: float) -> list[Delivery]:
        if self.accepted:
            return []
        self.accepted = True
        return [Accepted(OrderAccepted(at, self.order.client_id, self.venue_order_id or ""))]

    def _deliver(
        self,
        qty: float,
        price: float,
        fee: float,
        trade_id: str,
        at: float,
        commission: float = 0.0,
        commission_asset: str = "",
    ) -> Filled:
        self.delivered_qty += qty
        self.delivered_value += qty * price
        self.delivered_fee += fee
        fill = Fill(
            self.order.client_id, trade_id, qty, price, fee, at, commission, commission_asset
        )
        return Filled(fill, self.delivered_qty, self.delivered_value / self.delivered_qty)


def fee_value_usdt(trade: Trade, fee_asset_usdt: float | None) -> float:
    """What ``trade``'s fee is worth in USDT: in the quote asset (USDT) as it is, in the
    base coin at the trade's price, in another asset (MX) at ``fee_asset_usdt``.

    Raises ``ValueError`` for a fee in another asset without its price."""
    if trade.fee_asset in (trade.symbol.quote, "") or not trade.fee:
        return trade.fee
    if trade.fee_asset == trade.symbol.base:
        return trade.fee * trade.price
    if fee_asset_usdt is None:
        raise ValueError(
            f"trade {trade.trade_id}: a fee in {trade.fee_asset} needs the "
            f"{trade.fee_asset}/{trade.symbol.quote} price to be valued"
        )
    return trade.fee * fee_asset_usdt
