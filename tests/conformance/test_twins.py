"""Every venue's simulated twin, met by Basis's own feed and router as each venue is
plugged in (``actors.venues.kinds``): the same expectations of all of them. Quotes flow
and every subscription comes back after a drop; a gap in the depth stream resyncs the
book from a snapshot; an order goes through its states (accepted, partly filled, filled,
cancelled, ended unfilled, rejected) and is never sent twice, whether the venue refuses
it, asks for a pause or leaves its answer unknown."""

from __future__ import annotations

import pytest
import trio

from protocols.messages import (
    CancelOrder,
    FeedHealth,
    MarketQuote,
    OrderAccepted,
    OrderRejected,
    PlaceOrder,
)
from protocols.model import Fill, OrderStatus, Side, TimeInForce
from protocols.venue import InsufficientBalance
from supervision import Incarnation, Mailbox
from tests.conformance.twins import BTC, ETH, KINDS, settled, started_router, twin
from tests.integration.polling import wait_until

pytestmark = pytest.mark.parametrize("kind", KINDS)


async def next_of(mailbox: Mailbox, kind: type, where=lambda m: True):
    with trio.fail_after(10.0):
        while True:
            message = await mailbox.receive()
            if isinstance(message, kind) and where(message):
                return message


async def test_quotes_flow_and_every_subscription_comes_back_after_a_drop(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        feed = venue.feed(strategy)
        nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
        first = await next_of(strategy, MarketQuote)
        assert first.leg is venue.leg
        assert 0 < first.quote.bid < first.quote.ask
        venue.server.drop_websockets()
        await next_of(strategy, FeedHealth, lambda h: not h.fresh)
        await next_of(strategy, FeedHealth, lambda h: h.fresh)
        for symbol in (BTC, ETH):
            await next_of(strategy, MarketQuote, lambda m, s=symbol: m.quote.symbol == s)
        assert feed.status.connects == 2
        nursery.cancel_scope.cancel()


async def test_a_depth_gap_resyncs_the_book_from_a_snapshot(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        feed = venue.feed(strategy, depth=True)
        nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
        await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)
        resyncs = feed.status.resyncs
        venue.server.skip_depth_update(BTC)
        status = feed.status
        await wait_until(
            lambda: status.gaps > 0 and status.resyncs > resyncs and status.state == "fresh"
        )
        await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)
        nursery.cancel_scope.cancel()


async def test_an_order_is_accepted_then_filled_once(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        order = venue.order(1)
        await inbox.send(PlaceOrder(order))
        heard = await settled(strategy, order.client_id)
        assert isinstance(heard[0], OrderAccepted)
        final = heard[-1]
        assert (final.status, final.filled_qty) == (OrderStatus.FILLED, pytest.approx(order.qty))
        assert sum(m.qty for m in heard if isinstance(m, Fill)) == pytest.approx(order.qty)
        assert len(venue.accepted_client_ids()) == 1
        nursery.cancel_scope.cancel()


def far_from_the_book(venue, side: Side) -> float:
    """A price an order on ``side`` rests at without filling: far below the bid to buy,
    far above the ask to sell."""
    quote = venue.sim.venues.market.book(BTC, venue.leg).quote()
    return round(quote.bid * 0.8) if side is Side.BUY else round(quote.ask * 1.2)


async def test_a_resting_order_is_cancelled(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        order = venue.order(2, price=far_from_the_book(venue, Side.BUY))
        await inbox.send(PlaceOrder(order))
        await next_of(strategy, OrderAccepted, lambda m: m.client_id == order.client_id)
        await inbox.send(CancelOrder(venue.leg, order.client_id, BTC))
        final = (await settled(strategy, order.client_id))[-1]
        assert (final.status, final.filled_qty) == (OrderStatus.CANCELLED, 0.0)
        nursery.cancel_scope.cancel()


async def test_an_immediate_order_that_cannot_fill_ends_with_nothing_filled(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        price = far_from_the_book(venue, Side.SELL)
        order = venue.order(3, Side.BUY, price=price / 1.2 * 0.8, tif=TimeInForce.IOC)
        await inbox.send(PlaceOrder(order))
        final = (await settled(strategy, order.client_id))[-1]
        # Venues name it differently: cancelled (MEXC, Gate.io) or expired (Binance).
        assert final.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        assert final.filled_qty == 0.0
        nursery.cancel_scope.cancel()


async def test_a_partial_fill_is_reported_as_what_filled(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        venue.server.fill_partially(0.5)
        order = venue.order(4, tif=TimeInForce.IOC)
        await inbox.send(PlaceOrder(order))
        heard = await settled(strategy, order.client_id)
        final = heard[-1]
        assert final.filled_qty == pytest.approx(order.qty / 2)
        assert final.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        assert sum(m.qty for m in heard if isinstance(m, Fill)) == pytest.approx(order.qty / 2)
        nursery.cancel_scope.cancel()


async def test_a_refused_order_is_rejected_and_never_sent_again(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        venue.server.reject_orders(1, InsufficientBalance)
        order = venue.order(5)
        await inbox.send(PlaceOrder(order))
        [refusal] = await settled(strategy, order.client_id)
        assert isinstance(refusal, OrderRejected)
        assert venue.accepted_client_ids() == []
        nursery.cancel_scope.cancel()


async def test_an_order_asked_to_wait_goes_once_the_wait_is_over(kind):
    async with twin(kind) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        router = venue.router(strategy)
        inbox = Mailbox(router.name)
        await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
        # One 429: a venue that tells its wait in whole seconds makes each one a second.
        venue.server.rate_limit_requests(1, retry_after_s=0.3)
        order = venue.order(6)
        await inbox.send(PlaceOrder(order))
        assert (await settled(strategy, order.client_id))[-1].status is OrderStatus.FILLED
        # The 429 met the placement, and the placement that followed waited for the
        # venue's wait before it went.
        assert (router.stats.rate_limited, router.stats.placed) == (1, 2)
        assert router.order_bucket.waits == 1
        assert len(venue.accepted_client_ids()) == 1
        nursery.cancel_scope.cancel()


async def test_an_order_whose_answer_never_came_is_looked_up_not_sent_twice(kind):
    async with twin(kind, timeout_s=0.5) as venue, trio.open_nursery() as nursery:
        strategy = Mailbox("strategy")
        inbox = await started_router(nursery, venue, strategy)
        venue.server.time_out_orders(1, hold_s=2.0)
        order = venue.order(7)
        await inbox.send(PlaceOrder(order))
        assert (await settled(strategy, order.client_id))[-1].status is OrderStatus.FILLED
        venue.server.fail_requests(1)
        failed = venue.order(8)
        await inbox.send(PlaceOrder(failed))
        assert (await settled(strategy, failed.client_id))[-1].status is OrderStatus.FILLED
        assert len(venue.accepted_client_ids()) == 2
        nursery.cancel_scope.cancel()
