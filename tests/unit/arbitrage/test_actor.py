"""The strategy actor moves messages between its mailbox, the machine and the routers."""

from __future__ import annotations

import logging

import trio
from trio.testing import wait_all_tasks_blocked

from actors.arbitrage import actor as actor_module
from actors.arbitrage.actor import OrdersRefused, StrategyActor
from actors.arbitrage.context import ArbitrageState, LegRules, new_context
from actors.arbitrage.series import SeriesSampler
from actors.risk.limits import EntryLimits
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import (
    Alert,
    AmendOrder,
    CancelOrder,
    FeedHealth,
    FeedLiveness,
    FundingPayment,
    MarketQuote,
    OrderAccepted,
    OrderFinal,
    PlaceOrder,
    StoreHealth,
    TradeClosed,
    TradeRecord,
)
from protocols.model import Fill, Leg, OrderStatus, Quote, Side, Symbol, VenueRules
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")


def quote(bid, ask, now):
    return Quote(BTC, bid, 10.0, ask, 10.0, now, now)


async def start(nursery, live=True, **options):
    """The actor, started; with ``live``, both legs' connections live since 10 s ago."""
    clock = [1_000.0]
    inbox = Mailbox("strategy-t1")
    spot, futures = Mailbox("router-spot"), Mailbox("router-futures")
    actor = StrategyActor(
        new_context("t1", BTC, now=clock[0]),
        {Leg.SPOT: spot.address, Leg.FUTURES: futures.address},
        wall_clock=lambda: clock[0],
        **options,
    )
    await nursery.start(actor.run, Incarnation("strategy-t1", 0, None, inbox))
    if live:
        for leg in Leg:
            inbox.address.put_latest(("live", leg), FeedLiveness(leg, clock[0] - 10.0))
    return actor, inbox, spot, futures, clock


async def test_a_cheap_gap_sends_both_legs_after_the_intents_are_journaled(nursery):
    journaled = []
    sent_when_journaled = []

    async def journal(ctx, orders):
        journaled.extend(o.client_id for o in orders)
        sent_when_journaled.append(len(spot_router) + len(futures_router))

    actor, inbox, spot_router, futures_router, clock = await start(nursery, before_orders=journal)
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    buy = await spot_router.receive()
    sell = await futures_router.receive()
    assert isinstance(buy, PlaceOrder) and isinstance(sell, PlaceOrder)
    assert journaled == [buy.order.client_id, sell.order.client_id]
    assert sent_when_journaled == [0]
    assert actor.ctx.state is ArbitrageState.ENTERING


async def test_orders_the_journal_refuses_never_leave_and_the_strategy_decides_no_more(nursery):
    async def refusing(ctx, orders):
        raise OrdersRefused("BTC/USDT: the lease is another instance's now")

    actor, inbox, spot_router, futures_router, clock = await start(nursery, before_orders=refusing)
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    await wait_all_tasks_blocked()
    decisions = actor.decisions
    assert decisions >= 1 and actor.refused is not None
    # What arrives later is read, so nothing sending to it waits, and decided on no more.
    for n in range(5):
        await inbox.send(FeedHealth(clock[0] + n, Leg.SPOT, fresh=n % 2 == 1))
    await wait_all_tasks_blocked()
    assert len(inbox) == 0 and actor.decisions == decisions
    assert len(spot_router) == len(futures_router) == 0
    assert "another instance" in actor.statistics().paused_reason


async def test_every_quote_decided_on_counts_its_lag_since_it_was_received(nursery):
    actor, inbox, *_, clock = await start(nursery)
    received = clock[0] - 0.0015  # waited 1.5 ms before the strategy took it
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.0, 101.0, received)))
    await wait_all_tasks_blocked()
    assert actor.quote_lag.n == 1
    assert actor.quote_lag.counts[actor.quote_lag.bounds.index(0.002)] == 1
    assert actor.decide_lag.n == 0  # nothing was placed


async def test_reports_from_the_routers_open_the_position(nursery):
    actor, inbox, spot_router, futures_router, clock = await start(nursery)
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    orders = [(await spot_router.receive()).order, (await futures_router.receive()).order]
    for order in orders:
        await inbox.send(OrderAccepted(clock[0], order.client_id, "v1"))
        await inbox.send(
            Fill(order.client_id, "T" + order.client_id, order.qty, order.price, 0.05, clock[0])
        )
        await inbox.send(
            OrderFinal(clock[0], order.client_id, OrderStatus.FILLED, order.qty, order.price)
        )
    await wait_all_tasks_blocked()
    assert actor.ctx.state is ArbitrageState.POSITION_OPEN
    assert actor.ctx.positions.spot.qty == orders[0].qty


async def test_a_spot_leg_ending_part_filled_amends_the_working_short_at_its_router(nursery):
    _, inbox, spot_router, futures_router, clock = await start(nursery)
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    buy, sell = (await spot_router.receive()).order, (await futures_router.receive()).order
    for order in (buy, sell):
        await inbox.send(OrderAccepted(clock[0], order.client_id, "v-" + order.client_id))
    await inbox.send(Fill(buy.client_id, "T1", 0.4, buy.price, 0.02, clock[0]))
    await inbox.send(OrderFinal(clock[0], buy.client_id, OrderStatus.EXPIRED, 0.4, buy.price))
    with trio.fail_after(5):
        amend = await futures_router.receive()
    assert amend == AmendOrder(Leg.FUTURES, sell.client_id, BTC, 0.4)


async def test_timer_ticks_chase_an_order_the_venue_never_answered(nursery, autojump_clock):
    actor, inbox, spot_router, futures_router, clock = await start(nursery, tick_interval_s=0.5)
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    buy = (await spot_router.receive()).order
    await futures_router.receive()
    clock[0] += actor.ctx.params.leg_timeout_s + 1.0  # past the legs' deadline
    cancel = await spot_router.receive()
    assert cancel == CancelOrder(Leg.SPOT, buy.client_id, BTC)


async def test_no_entry_until_both_feeds_tell_their_connections_are_live(nursery):
    actor, inbox, spot_router, futures_router, clock = await start(nursery, live=False)
    both_quotes(inbox, clock[0])
    await wait_all_tasks_blocked()
    assert len(spot_router) == len(futures_router) == 0
    inbox.address.put_latest(("live", Leg.SPOT), FeedLiveness(Leg.SPOT, clock[0] - 1))
    await wait_all_tasks_blocked()
    assert len(spot_router) == 0
    # The liveness of the second leg is enough: the quotes held were received since.
    inbox.address.put_latest(("live", Leg.FUTURES), FeedLiveness(Leg.FUTURES, clock[0] - 1))
    buy = await spot_router.receive()
    assert isinstance(buy, PlaceOrder) and buy.send_by == clock[0] + 1.0
    assert actor.ctx.state is ArbitrageState.ENTERING


async def test_after_a_silence_only_quotes_received_since_count(nursery):
    _, inbox, spot_router, futures_router, clock = await start(nursery)
    inbox.address.put_latest(("live", Leg.SPOT), FeedLiveness(Leg.SPOT, None))
    both_quotes(inbox, clock[0])
    await wait_all_tasks_blocked()
    clock[0] += 2.0  # the spot connection is heard from again, its quote not yet
    inbox.address.put_latest(("live", Leg.SPOT), FeedLiveness(Leg.SPOT, clock[0]))
    await wait_all_tasks_blocked()
    assert len(spot_router) == len(futures_router) == 0
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    assert isinstance(await spot_router.receive(), PlaceOrder)


async def test_a_stale_feed_stops_entries(nursery):
    actor, inbox, spot_router, futures_router, clock = await start(nursery)
    await inbox.send(FeedHealth(clock[0], Leg.FUTURES, False, "stalled"))
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    await wait_all_tasks_blocked()
    assert len(spot_router) == len(futures_router) == 0
    assert actor.ctx.state is not ArbitrageState.ENTERING


async def test_an_entry_is_logged_with_the_age_of_the_quotes_it_was_decided_on(nursery, caplog):
    caplog.set_level(logging.INFO, logger="basis.strategy")
    actor, inbox, spot_router, futures_router, clock = await start(nursery)
    inbox.address.put_latest(
        (Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0] - 0.25))
    )
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0] - 0.5))
    )
    buy, sell = (await spot_router.receive()).order, (await futures_router.receive()).order
    (entry,) = [r for r in caplog.records if getattr(r, "event", None) == "entry"]
    assert entry.fields["client_ids"] == [buy.client_id, sell.client_id]
    assert entry.fields["spot_quote_age_s"] == 0.25
    assert entry.fields["futures_quote_age_s"] == 0.5
    assert entry.fields["max_quote_age_s"] == actor.ctx.params.max_quote_age_s
    assert "decided on prices 0.250 s (spot) and 0.500 s (futures) old" in entry.getMessage()


async def test_a_budget_below_what_the_venues_trade_is_said_once_with_the_least_it_must_be(
    nursery, caplog
):
    caplog.set_level(logging.WARNING, logger="basis.strategy")
    actor, inbox, _, _, clock = await start(nursery)
    # Whole contracts of 0.01 BTC, about 1 USDT: the budget buys a hundredth of one.
    rules = LegRules(VenueRules(qty_step=0.001), VenueRules(contract_size=0.01))
    actor.ctx = actor.ctx.evolve(base_position_size_usdt=0.01, rules=rules)
    for n in range(3):
        now = clock[0] + n
        inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, now)))
        inbox.address.put_latest(
            (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0 + n, 100.1 + n, now))
        )
        await wait_all_tasks_blocked()
    assert actor.ctx.last_skip_reason == "budget is below one increment"
    (told,) = [r.getMessage() for r in caplog.records if "never enters" in r.getMessage()]
    assert "base_position_size_usdt (0.01 USDT)" in told
    assert "(0.01 BTC, 1.00 USDT at the ask)" in told


async def test_resumed_at_is_the_first_decision_on_quotes_of_both_legs_after_a_start(nursery):
    actor, inbox, _, _, clock = await start(nursery)
    started = clock[0]
    clock[0] += 1.0
    # A quote received before the start does not count; one of each leg after it does.
    inbox.address.put_latest(
        (Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, started - 1.0))
    )
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, clock[0]))
    )
    await wait_all_tasks_blocked()
    assert actor.resumed_at is None
    clock[0] += 1.0
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, clock[0])))
    await wait_all_tasks_blocked()
    assert actor.resumed_at == started + 2.0


async def test_resumed_at_moves_on_once_a_stale_feed_is_fresh_again(nursery):
    actor, inbox, _, _, clock = await start(nursery)
    await inbox.send(FeedHealth(clock[0], Leg.SPOT, False, "reconnecting"))
    await inbox.send(FeedHealth(clock[0], Leg.SPOT, True, "fresh"))
    clock[0] += 3.0
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.0, 100.0, clock[0])))
    inbox.address.put_latest(
        (Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(90.0, 91.0, clock[0]))
    )
    await wait_all_tasks_blocked()
    assert actor.resumed_at == clock[0]


async def test_funding_of_the_last_cycle_reported_after_its_exit_amends_its_recent_record(
    nursery,
):
    inbox = Mailbox("strategy-t1")
    closed = TradeRecord("BTC/USDT", 100.0, 200.0, 1.0, 100.0, 100.2, 100.3, 100.1, 0.4, 0.4,
                         "profit", 0.1, 0.0)  # fmt: skip
    ctx = new_context("t1", BTC, now=50.0).evolve(last_trade=closed, last_cycle_began_at=99.0)
    routers = {Leg.SPOT: Mailbox("router-spot").address, Leg.FUTURES: Mailbox("f").address}
    actor = StrategyActor(ctx, routers, wall_clock=lambda: 300.0)
    actor.trades.append(closed)
    await nursery.start(actor.run, Incarnation("strategy-t1", 0, None, inbox))
    await inbox.send(FundingPayment(150.0, 0.25, ledger_id="5"))
    await wait_all_tasks_blocked()
    [amended] = actor.trades
    assert (amended.entry_ts, amended.exit_ts) == (100.0, 200.0)
    assert (amended.funding_usdt, amended.pnl_usdt) == (0.25, 0.65)


def both_quotes(inbox, now):
    inbox.address.put_latest((Leg.SPOT, BTC), MarketQuote(Leg.SPOT, quote(99.9, 100.0, now)))
    inbox.address.put_latest((Leg.FUTURES, BTC), MarketQuote(Leg.FUTURES, quote(100.0, 100.1, now)))


async def test_no_entry_while_the_store_refuses_intents(nursery):
    actor, inbox, spot_router, futures_router, clock = await start(nursery)
    await inbox.send(StoreHealth(clock[0], "disk full: /data/basis.db: free space"))
    both_quotes(inbox, clock[0])
    await wait_all_tasks_blocked()
    assert len(spot_router) == len(futures_router) == 0
    assert actor.ctx.state is ArbitrageState.PAUSED
    assert actor.statistics().paused_reason == (
        "the store cannot journal orders: disk full: /data/basis.db: free space"
    )
    await inbox.send(StoreHealth(clock[0], None))
    both_quotes(inbox, clock[0])
    assert isinstance(await spot_router.receive(), PlaceOrder)
    assert isinstance(await futures_router.receive(), PlaceOrder)
    assert actor.statistics().paused_reason is None


async def test_a_correction_waits_for_its_intent_and_leaves_once_the_store_takes_it(
    nursery, autojump_clock
):
    disk_back = trio.Event()
    journaled: list[str] = []

    async def journal(ctx, orders):
        await disk_back.wait()  # the store refuses writes until then
        journaled.extend(o.client_id for o in orders)

    actor, inbox, spot_router, futures_router, clock = await start(
        nursery, before_orders=journal, tick_interval_s=0.5
    )
    # Half an entry filled: the spot leg holds 1 BTC, the short nothing.
    actor.ctx = actor.ctx.evolve(
        state=ArbitrageState.IMBALANCED,
        imbalance_goal="open",
        positions__spot__qty=1.0,
        positions__spot__avg_price=100.0,
    )
    await inbox.send(StoreHealth(clock[0], "disk full: /data/basis.db: free space"))
    both_quotes(inbox, clock[0])
    await trio.sleep(1.0)
    # The hedge was decided and waits for its journal; nothing is at any venue.
    [waiting] = actor.ctx.active_orders["futures"].values()
    assert len(spot_router) == len(futures_router) == 0
    clock[0] += 10 * actor.ctx.params.leg_timeout_s  # long past the decision's deadline
    await trio.sleep(60.0)
    assert len(spot_router) == len(futures_router) == 0
    disk_back.set()
    sent = await futures_router.receive()
    assert isinstance(sent, PlaceOrder) and sent.order.client_id == waiting.client_id
    assert journaled == [waiting.client_id]
    # Its leg timeout counts from when it left: ticks now send no cancel...
    await trio.sleep(5.0)
    assert len(futures_router) == 0 and len(spot_router) == 0
    # ...until the timeout has passed since it left.
    clock[0] += actor.ctx.params.leg_timeout_s + 1.0
    assert await futures_router.receive() == CancelOrder(Leg.FUTURES, waiting.client_id, BTC)


async def test_a_correction_growing_the_lagging_leg_stays_within_the_portfolios_room(nursery):
    """As the backtester does: a dearer hedge than the caps counted is not placed while
    no room is left; the excess leg is trimmed instead."""
    actor, inbox, spot_router, futures_router, clock = await start(
        nursery, entry_limits=lambda ctx: EntryLimits(0.0, "total cap")
    )
    # Half an entry filled: the spot leg holds 1 BTC bought at 99, the short nothing.
    actor.ctx = actor.ctx.evolve(
        state=ArbitrageState.IMBALANCED,
        imbalance_goal="open",
        positions__spot__qty=1.0,
        positions__spot__avg_price=99.0,
    )
    both_quotes(inbox, clock[0])  # the short would sell at 100: dearer than counted
    await wait_all_tasks_blocked()
    assert len(futures_router) == 0
    sent = await spot_router.receive()
    assert isinstance(sent, PlaceOrder) and sent.order.side is Side.SELL
    assert len(futures_router) == 0


async def test_a_decisions_history_is_handed_over_before_its_snapshot(nursery, monkeypatch):
    told: list[object] = []

    async def history(record):
        told.append(record)

    async def save(ctx):
        told.append("snapshot")

    trade = TradeRecord("BTC/USDT", 100.0, 200.0, 1.0, 100.0, 100.2, 100.3, 100.1, 0.4, 0.4,
                        "profit", 0.1, 0.0, task_id="t1", cycle=1)  # fmt: skip
    fill = FillRecord("t1", 1, "BTC/USDT", "mexc", "spot", "sell", "exit", "t1-2s", "T9",
                      200.0, 1.0, 100.3, 100.3, 0.05)  # fmt: skip
    funding = FundingRecord("t1", 1, "BTC/USDT", "gateio_futures", "L7", 150.0, 0.02)

    def machine(ctx, message):
        """A decision as the machine gives one: a changed context and its commands."""
        commands = (fill, funding, Alert("info", "cycle closed"), TradeClosed(trade))
        return ctx.evolve(last_update=message.now), commands

    monkeypatch.setattr(actor_module, "step", machine)
    actor, inbox, *_ = await start(nursery, history=history, on_change=save, live=False)
    await inbox.send(FundingPayment(150.0, 0.02, ledger_id="L7"))
    await wait_all_tasks_blocked()
    assert told == [fill, funding, trade, "snapshot"]
    assert list(actor.trades) == [trade]


async def test_an_amended_cycle_is_handed_over_again(nursery):
    told: list[object] = []

    async def history(record):
        told.append(record)

    inbox = Mailbox("strategy-t1")
    closed = TradeRecord("BTC/USDT", 100.0, 200.0, 1.0, 100.0, 100.2, 100.3, 100.1, 0.4, 0.4,
                         "profit", 0.1, 0.0)  # fmt: skip
    ctx = new_context("t1", BTC, now=50.0).evolve(last_trade=closed, last_cycle_began_at=99.0)
    routers = {Leg.SPOT: Mailbox("router-spot").address, Leg.FUTURES: Mailbox("f").address}
    actor = StrategyActor(ctx, routers, wall_clock=lambda: 300.0, history=history)
    await nursery.start(actor.run, Incarnation("strategy-t1", 0, None, inbox))
    await inbox.send(FundingPayment(150.0, 0.25, ledger_id="5"))
    await wait_all_tasks_blocked()
    [amended] = [r for r in told if isinstance(r, TradeRecord)]
    assert (amended.funding_usdt, amended.pnl_usdt) == (0.25, 0.65)


async def test_the_series_is_sampled_once_an_interval_after_the_decisions_orders_leave(nursery):
    points: list[tuple[SeriesPoint, int]] = []
    actor, inbox, spot_router, futures_router, clock = await start(nursery)

    async def history(record):
        points.append((record, len(spot_router) + len(futures_router)))

    actor.history = history
    actor.series = SeriesSampler(1.0)
    both_quotes(inbox, clock[0])  # an entry
    await wait_all_tasks_blocked()
    [(point, orders_sent)] = points
    assert orders_sent == 2
    assert (point.ts, point.entry_cost_pct, point.pnl_usdt) == (clock[0], 0.0, None)
    clock[0] += 0.5
    both_quotes(inbox, clock[0])
    await wait_all_tasks_blocked()
    assert len(points) == 1
    clock[0] += 0.5
    both_quotes(inbox, clock[0])
    await wait_all_tasks_blocked()
    assert [p.ts for p, _ in points] == [clock[0] - 1.0, clock[0]]
