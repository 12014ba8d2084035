"""Status: assembled from the statistics the actors report of themselves, in a JSON
shape that stays put; a supervisor that gave up anywhere in the tree makes the system
failing, and the reason names it, in ``/status`` and ``/health`` alike (both read
``build_status``)."""

from __future__ import annotations

import io
import math
import time
from collections import deque
from types import SimpleNamespace

import msgspec
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from actors.arbitrage.actor import OrderOut, StrategyActor
from actors.arbitrage.context import ArbitrageState, LegRules, Positions, new_context
from actors.cli.status_tables import pnl_table
from actors.histogram import LAG_BUCKETS_S, Histogram
from actors.runtime.market.feed import Feed
from actors.runtime.ops.recent_fills import RECENT_FILLS, FillOut, keeping_fills
from actors.runtime.ops.statistics import SystemStatistics
from actors.runtime.ops.status import build_status, status_of
from actors.runtime.orders.clock_skew import ClockWindow
from actors.runtime.other_instances import ForeignOrder, OtherInstance
from actors.runtime.persistence.writer import WriterStatistics
from protocols.history import FillRecord, FundingRecord
from protocols.messages import PlaceOrder
from protocols.model import Leg, LegPosition, Order, OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.venue import PositionSettings
from supervision import Backoff, ChildSpec, Intensity, Supervisor
from tests.integration.polling import wait_until
from tests.unit.actors.sample_statistics import T0, feed, router, statistics, strategy
from tests.unit.arbitrage.harness import BTC, ENTRY, PROFIT, Driver, placed


async def failing(inc, *, task_status=trio.TASK_STATUS_IGNORED):
    task_status.started()
    await trio.sleep(1.0)
    raise RuntimeError("venue keys rejected")


def system_with(root: Supervisor) -> SimpleNamespace:
    """What status reads of a TradingSystem, its statistics, around ``root``."""
    started_at = time.time()
    return SimpleNamespace(
        statistics=lambda: SystemStatistics(
            mode="paper",
            started_at=started_at,
            tree=root.snapshot(),
            strategies=(),
            feeds=(),
            routers=(),
            writer=WriterStatistics(0, 0, 0, 0, None, None, None),
            mailbox_depths=(("writer", 0),),
            store_counts={},
            quarantined=(),
        )
    )


async def test_a_give_up_deep_in_the_tree_is_the_health_reason(autojump_clock):
    routers = Supervisor(
        "routers",
        [ChildSpec("router-mexc", failing)],
        intensity=Intensity(1, 60.0),
        backoff=Backoff.none(),
    )
    root = Supervisor(
        "basis",
        [routers.child_spec()],
        intensity=Intensity(1, 60.0),
        backoff=Backoff(min_s=30.0, max_s=30.0),
    )
    system = system_with(root)
    async with trio.open_nursery() as nursery:
        await nursery.start(root.run)
        assert build_status(system).healthy
        await wait_until(lambda: root.snapshot().gave_up_anywhere() == ["routers"], 10)
        status = build_status(system)
        assert not status.healthy
        assert status.health_reason.startswith("supervisor gave up: routers: ")
        assert "more than 1 restart within 60 s" in status.health_reason
        root.request_stop()


def test_status_is_assembled_from_the_actors_statistics():
    status = status_of(statistics(), T0)
    [task] = status.tasks
    assert (task.task_id, task.symbol, task.state, task.cycles) == (
        "btc_1",
        "BTC/USDT",
        "position_open",
        3,
    )
    assert (task.position_qty, task.entry_cost_pct, task.decisions) == (0.002, -0.123, 41)
    [feed_status] = status.feeds
    assert feed_status.last_data_age_s == 0.5
    [router_status] = status.routers
    assert (router_status.open_orders, router_status.private_stream_up) == (1, True)
    persistence = status.persistence
    assert (persistence.active, persistence.completed, persistence.queue_depth) == (1, 4, 2)
    assert persistence.write_latency_p99_ms == 2.0
    assert (status.healthy, status.health_reason, status.uptime_s) == (True, "ok", 120.0)


def quotes_at(actor: StrategyActor, sb: float, fa: float) -> None:
    """The actor's latest quotes: spot bid ``sb``, futures ask ``fa``, 10 apart."""
    actor.spot = Quote(BTC, sb, 1.0, sb + 10.0, 1.0, T0, T0)
    actor.futures = Quote(BTC, fa - 10.0, 1.0, fa, 1.0, T0, T0)


def test_unrealised_pnl_is_what_closing_now_would_add_to_the_realised():
    # The worked example of docs/strategy.md: 1 BTC bought at 50 000 and shorted at
    # 49 750, fees 0.05 %; the entry fees, 25 + 24.875, are realised at once.
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    actor = StrategyActor(driver.ctx, routers={})
    quotes_at(actor, sb=50_350.0, fa=49_650.0)
    stats = actor.statistics()
    assert stats.realized_pnl_usdt == pytest.approx(-49.875, abs=1e-9)
    assert stats.fees_usdt == pytest.approx(49.875, abs=1e-9)
    # Closed there the cycle makes 350.125, of which -49.875 is realised already.
    assert stats.unrealized_pnl_usdt == pytest.approx(400.0, abs=1e-9)
    [task] = status_of(statistics([stats]), T0).tasks
    assert task.unrealized_pnl_usdt == stats.unrealized_pnl_usdt
    assert task.total_pnl_usdt == task.realized_pnl_usdt + task.unrealized_pnl_usdt
    assert task.total_pnl_usdt == pytest.approx(350.125, abs=1e-9)
    # Without a quote to close the futures leg at, it is not known; not 0.
    actor.futures = None
    assert actor.statistics().unrealized_pnl_usdt is None
    # Closed at those quotes: all of it realised, nothing left unrealised, and the fees
    # of both halves counted (the cycle's running totals start afresh).
    quotes_at(actor, sb=50_350.0, fa=49_650.0)
    exit_orders = placed(driver.quotes(2.0, (50_350.0, 50_360.0, 49_640.0, 49_650.0)))
    driver.fill_all([PlaceOrder(order) for order in exit_orders], now=2.0)
    actor.ctx = driver.ctx
    closed = actor.statistics()
    assert closed.realized_pnl_usdt == pytest.approx(350.125, abs=1e-9)
    assert closed.fees_usdt == pytest.approx(99.875, abs=1e-9)
    assert closed.unrealized_pnl_usdt is None
    [task] = status_of(statistics([closed]), T0).tasks
    assert (task.unrealized_pnl_usdt, task.total_pnl_usdt) == (None, closed.realized_pnl_usdt)


def test_dust_an_exit_left_is_no_open_position():
    # The futures venue takes 10 contracts (0.001 BTC) at least: 0.0005 BTC left on
    # each leg is dust, and the task is flat.
    rules = LegRules(
        VenueRules(qty_step=0.0001, min_notional=100.0),
        VenueRules(contract_size=0.0001, min_contracts=10),
    )
    ctx = new_context("t1", BTC, now=0.0, rules=rules).evolve(
        state=ArbitrageState.MONITORING,
        positions=Positions(LegPosition(0.0005, 50_000.0), LegPosition(0.0005, 49_750.0)),
    )
    actor = StrategyActor(ctx, routers={})
    quotes_at(actor, sb=50_350.0, fa=49_650.0)
    stats = actor.statistics()
    assert (stats.holding, stats.unrealized_pnl_usdt) == (False, None)
    status = status_of(statistics([stats]), T0)
    assert status.totals.open_positions == 0
    assert status.tasks[0].total_pnl_usdt == stats.realized_pnl_usdt
    # Ten times as much is a position.
    actor.ctx = ctx.evolve(positions__spot__qty=0.005, positions__futures__qty=0.005)
    held = actor.statistics()
    assert held.holding and held.unrealized_pnl_usdt is not None
    assert status_of(statistics([held]), T0).totals.open_positions == 1


def test_a_position_without_a_quote_to_value_it_leaves_the_totals_unknown():
    valued = strategy(realized_pnl_usdt=1.0, unrealized_pnl_usdt=2.0)
    unvalued = strategy("eth_1", "ETH/USDT", realized_pnl_usdt=3.0, unrealized_pnl_usdt=None)
    status = status_of(statistics([valued, unvalued]), T0)
    assert [t.total_pnl_usdt for t in status.tasks] == [3.0, None]
    totals = status.totals
    assert (totals.realized_pnl_usdt, totals.open_positions) == (4.0, 2)
    assert (totals.unrealized_pnl_usdt, totals.total_pnl_usdt) == (None, None)
    # Shown as not known in the tables, the total line included.
    lines = rendered_table(pnl_table(status)).splitlines()
    rows = {line.split()[0]: line.split()[1:4] for line in lines[3:] if line.strip()}
    assert rows["ETH/USDT"] == ["+3.0000", "-", "-"]
    assert rows["total"] == ["+4.0000", "-", "-"]


def rendered_table(table) -> str:
    console = Console(file=io.StringIO(), width=100)
    console.print(table)
    return console.file.getvalue()


def test_the_totals_add_up_every_tasks_pnl_fees_funding_and_volume():
    held = strategy(realized_pnl_usdt=-49.875, unrealized_pnl_usdt=400.0, fees_usdt=49.875,
                    funding_usdt=0.25, total_volume_usdt=99_500.0)  # fmt: skip
    flat = strategy("eth_1", "ETH/USDT", realized_pnl_usdt=3.5, unrealized_pnl_usdt=None,
                    fees_usdt=2.0, funding_usdt=-0.5, total_volume_usdt=4_000.0,
                    position_qty=0.0, futures_qty=0.0)  # fmt: skip
    totals = status_of(statistics([held, flat]), T0).totals
    assert totals.realized_pnl_usdt == -49.875 + 3.5
    assert totals.unrealized_pnl_usdt == 400.0
    assert totals.total_pnl_usdt == totals.realized_pnl_usdt + totals.unrealized_pnl_usdt
    assert (totals.fees_usdt, totals.funding_usdt) == (49.875 + 2.0, 0.25 - 0.5)
    assert (totals.volume_usdt, totals.open_positions) == (103_500.0, 1)
    nothing_open = status_of(statistics([flat]), T0).totals
    assert (nothing_open.unrealized_pnl_usdt, nothing_open.open_positions) == (None, 0)
    assert nothing_open.total_pnl_usdt == 3.5


def test_status_shows_how_long_and_by_how_much_the_legs_differed():
    stats = statistics(
        [strategy(unhedged_usdt_s=1250.0, cycle_unhedged_usdt_s=50.0, longest_unhedged_s=2.5)]
    )
    [task] = status_of(stats, T0).tasks
    assert (task.unhedged_usdt_s, task.cycle_unhedged_usdt_s, task.longest_unhedged_s) == (
        1250.0,
        50.0,
        2.5,
    )
    assert msgspec.json.decode(msgspec.json.encode(task))["unhedged_usdt_s"] == 1250.0


def test_a_private_stream_that_is_down_makes_the_system_degraded_not_ok():
    down = router("router-gateio_futures", private_stream_up=False, private_stream_down="refused")
    status = status_of(statistics(routers=[router(), down]), T0)
    assert (status.health, status.healthy) == ("degraded", False)
    assert status.health_reason == "router-gateio_futures private stream down: refused"
    [_, futures] = status.routers
    assert futures.private_stream_down == "refused"


def test_a_symbol_refusing_entries_is_degraded_and_a_failing_signal_comes_first():
    refusing = router("router-gateio_futures", entries_refused={"SOL/USDT": "leverage too high"})
    stale = feed(state="stale", detail="no data for 12 s")
    status = status_of(statistics(routers=[refusing], feeds=[stale]), T0)
    assert status.health == "failing"
    assert status.health_reason == (
        "feed-mexc stale: no data for 12 s; "
        "router-gateio_futures: SOL/USDT entries refused: leverage too high"
    )
    # Each signal keeps one key for as long as it lasts: what alerts follow.
    assert [(s.level, s.key) for s in status.health_signals] == [
        ("failing", "feed:feed-mexc"),
        ("degraded", "entries-refused:router-gateio_futures:SOL/USDT"),
    ]


def test_an_order_the_venue_no_longer_finds_shows_unresolved_and_makes_the_system_degraded():
    why = "acknowledged by the venue but not found for 300 s"
    lost = router("router-mexc", unresolved_orders={"t1-7s": why})
    status = status_of(statistics(routers=[lost]), T0)
    assert (status.health, status.healthy) == ("degraded", False)
    assert status.health_reason == f"router-mexc: order t1-7s unresolved: {why}"
    assert status.routers[0].unresolved_orders == {"t1-7s": why}


def test_a_writer_the_storage_refuses_makes_the_system_failing_with_the_cause():
    cause = "disk full: /data/basis.db: free space on its filesystem"
    writer = WriterStatistics(10, 40, 8, 30, T0 - 60.0, 0.0004, 0.002, cause, T0 - 30.0, 7)
    status = status_of(msgspec.structs.replace(statistics(), writer=writer), T0)
    assert (status.health, status.healthy) == ("failing", False)
    assert status.health_reason == f"writer failing: {cause}"
    assert [(s.level, s.key) for s in status.health_signals] == [("failing", "writer")]
    assert (status.persistence.failing, status.persistence.failing_since) == (cause, T0 - 30.0)


def test_a_venue_refusing_orders_is_degraded_and_refusing_the_account_is_failing():
    rejected = "3 orders in a row rejected, the last: mexc: Oversold (code 30005, HTTP 400)"
    refused = "the account is refused: gateio: invalid key (code INVALID_KEY, HTTP 401)"
    routers = [
        router("router-mexc", orders_refused=rejected),
        router("router-gateio_futures", orders_refused=refused, account_refused=True),
    ]
    status = status_of(statistics(routers=routers), T0)
    assert [(s.level, s.key, s.reason) for s in status.health_signals] == [
        (
            "failing",
            "refusing:router-gateio_futures",
            f"router-gateio_futures refuses orders: {refused}",
        ),
        ("degraded", "refusing:router-mexc", f"router-mexc refuses orders: {rejected}"),
    ]


def test_a_clock_off_by_half_a_venues_window_is_degraded_and_beyond_it_failing():
    routers = [
        router("router-mexc", clock_skew_s=-3.0, clock_window=ClockWindow(1.0, 5.0)),
        router("router-gateio_futures", clock_skew_s=61.0, clock_window=ClockWindow(60.0, 60.0)),
    ]
    status = status_of(statistics(routers=routers), T0)
    assert [(s.level, s.key, s.reason) for s in status.health_signals] == [
        (
            "failing",
            "clock-skew:router-gateio_futures",
            "router-gateio_futures: the local clock is 61.00 s ahead of the venue's "
            "(it allows 60 s)",
        ),
        (
            "degraded",
            "clock-skew:router-mexc",
            "router-mexc: the local clock is 3.00 s behind the venue's (it allows 5 s)",
        ),
    ]
    within = router(clock_skew_s=0.3, clock_window=ClockWindow(1.0, 5.0))
    assert status_of(statistics(routers=[within]), T0).health == "ok"


def test_a_tripped_kill_switch_is_degraded_under_its_symbol():
    tripped = strategy(
        "sol_1",
        "SOL/USDT",
        state="paused",
        paused_reason="kill switch: realized loss reached max_loss_usdt 5",
    )
    operator = strategy(paused_reason="paused by the operator", state="paused")
    status = status_of(statistics(strategies=[operator, tripped]), T0)
    assert (status.health, status.health_reason) == (
        "degraded",
        "SOL/USDT: kill switch: realized loss reached max_loss_usdt 5",
    )
    assert [s.key for s in status.health_signals] == ["kill-switch:SOL/USDT"]


def test_each_quarantined_record_is_degraded_under_its_task():
    stats = msgspec.structs.replace(
        statistics(),
        quarantined=(
            "sol_1: contradicts the venues: spot holds 2, the record 1",
            "eth_2: unreadable",
        ),
    )
    status = status_of(stats, T0)
    assert status.health == "degraded"
    assert [(s.key, s.reason) for s in status.health_signals] == [
        (
            "quarantine:sol_1",
            "quarantined: sol_1: contradicts the venues: spot holds 2, the record 1",
        ),
        ("quarantine:eth_2", "quarantined: eth_2: unreadable"),
    ]


def test_each_task_shows_the_leverage_and_liquidation_price_the_venue_holds_it_at():
    settings = PositionSettings(Symbol("BTC", "USDT"), -0.002, 2.0, 0.0, "single", 97_000.0)
    stats = msgspec.structs.replace(statistics(), futures_positions={"BTC/USDT": settings})
    [task] = status_of(stats, T0).tasks
    assert (task.futures_leverage, task.liquidation_price) == (2.0, 97_000.0)
    [unknown] = status_of(statistics(), T0).tasks
    assert (unknown.futures_leverage, unknown.liquidation_price) == (None, None)


def test_each_task_shows_why_its_last_opportunity_was_skipped():
    ctx = new_context("btc_1", Symbol("BTC", "USDT"), now=T0).evolve(
        last_skip_reason="too little depth: below one increment"
    )
    actor = StrategyActor(ctx, routers={})
    stats = msgspec.structs.replace(statistics(), strategies=(actor.statistics(),))
    [task] = status_of(stats, T0).tasks
    assert task.last_skip_reason == "too little depth: below one increment"


def test_a_symbol_quarantine_holds_is_listed_with_its_task_and_reason():
    held = ("BTC/USDT", "btc_t1", "contradicts the venues: the futures short is 1", 5.0)
    stats = msgspec.structs.replace(statistics(), held_symbols=(held,))
    [listed] = status_of(stats, T0).quarantined_symbols
    assert (listed.symbol, listed.task_id, listed.reason, listed.since) == held


def test_another_instance_on_the_account_is_shown_and_makes_the_system_degraded():
    order = ForeignOrder("mexc", "btc_a1-3s-zz99", "41", "buy", 0.001, 50_000.0)
    other = OtherInstance(
        "zz99", "BTC/USDT", (order,), 4, T0, "the position is shared with instance zz99"
    )
    stats = msgspec.structs.replace(statistics(), instance="k3x9", other_instances=(other,))
    status = status_of(stats, T0)
    assert (status.instance, status.other_instances) == ("k3x9", [other])
    assert (status.health, status.healthy) == ("degraded", False)
    [signal] = status.health_signals
    assert signal.key == "foreign-instance:zz99:BTC/USDT"
    assert signal.reason == (
        "Basis instance zz99 also trades BTC/USDT on this account (1 open order(s), 4 recent); "
        "the position is shared with instance zz99"
    )


def test_the_status_object_keeps_its_json_shape():
    # basis status --json, the chaos harness and scripts read these keys.
    shape = msgspec.json.decode(msgspec.json.encode(status_of(statistics(), T0)))
    assert list(shape) == [
        "mode",
        "uptime_s",
        "healthy",
        "health",
        "health_reason",
        "health_signals",
        "tasks",
        "totals",
        "feeds",
        "routers",
        "tree",
        "persistence",
        "quarantined_symbols",
        "instance",
        "other_instances",
        "alerts",
        "risk",
        "started_at",
        "symbols",
        "recent_fills",
        "cluster",
    ]
    assert shape["cluster"] is None  # an instance alone
    assert list(shape["tasks"][0]) == [
        "task_id",
        "type",
        "symbol",
        "state",
        "cycles",
        "total_volume_usdt",
        "realized_pnl_usdt",
        "unrealized_pnl_usdt",
        "total_pnl_usdt",
        "fees_usdt",
        "restarts",
        "last_error",
        "position_qty",
        "futures_qty",
        "entry_cost_pct",
        "funding_usdt",
        "funding_rate",
        "funding_next_ts",
        "paused_reason",
        "decisions",
        "resumed_at",
        "futures_leverage",
        "liquidation_price",
        "unhedged_usdt_s",
        "cycle_unhedged_usdt_s",
        "longest_unhedged_s",
        "last_skip_reason",
        "holding",
        "unattributed_pnl_usdt",
        "spot_avg_price",
        "futures_avg_price",
        "spot_notional_usdt",
        "futures_notional_usdt",
        "net_delta_qty",
        "net_delta_usdt",
        "spot_bid",
        "spot_ask",
        "futures_bid",
        "futures_ask",
        "pnl_pct",
        "max_entry_cost_pct",
        "min_profit_pct",
        "max_hours",
        "position_opened_at",
        "orders",
        "spot_venue",
        "futures_venue",
        "entry_terms",
    ]
    assert list(shape["totals"]) == [
        "realized_pnl_usdt",
        "unrealized_pnl_usdt",
        "total_pnl_usdt",
        "fees_usdt",
        "funding_usdt",
        "volume_usdt",
        "open_positions",
    ]
    assert list(shape["feeds"][0]) == [
        "name",
        "state",
        "detail",
        "connects",
        "messages",
        "quotes",
        "malformed",
        "gaps",
        "last_data_age_s",
        "fresh_at",
    ]
    assert list(shape["routers"][0]) == [
        "name",
        "placed",
        "accepted",
        "rejected",
        "filled",
        "unknown_resolved",
        "rate_limited",
        "open_orders",
        "private_stream_up",
        "private_stream_down",
        "entries_refused",
        "unresolved_orders",
    ]
    assert list(shape["persistence"]) == [
        "active",
        "completed",
        "quarantined",
        "quarantine_reasons",
        "batches",
        "snapshots",
        "intents",
        "events",
        "last_write_at",
        "write_latency_p50_ms",
        "write_latency_p99_ms",
        "queue_depth",
        "failing",
        "failing_since",
    ]


def test_an_actors_statistics_are_a_value_its_later_changes_do_not_touch():
    feed = Feed("feed-mexc", codec=None, url="ws://127.0.0.1:1", subscribers={})
    feed.status.quotes = 5
    before = feed.statistics()
    feed.status.quotes += 1
    assert (before.quotes, feed.statistics().quotes) == (5, 6)
    with pytest.raises(AttributeError):
        before.quotes = 7
    actor = StrategyActor(new_context("btc_1", Symbol("BTC", "USDT"), now=T0), routers={})
    first = actor.statistics()
    actor.lag.observe(0.001)
    actor.decisions += 1
    later = actor.statistics()
    assert (first.decisions, first.decision_lag.count) == (0, 0)
    assert (later.decisions, later.decision_lag.count) == (1, 1)
    assert (first.name, first.symbol, first.entry_cost_pct) == ("strategy-btc_1", "BTC/USDT", None)


@given(st.lists(st.floats(min_value=0.0, max_value=5.0), max_size=50))
def test_a_histograms_buckets_count_the_observations_at_or_below_each_bound(values):
    histogram = Histogram()
    for value in values:
        histogram.observe(value)
    stats = histogram.statistics()
    bounds = [bound for bound, _ in stats.buckets]
    assert bounds == [*LAG_BUCKETS_S, math.inf]
    for bound, count in stats.buckets:
        assert count == sum(1 for v in values if v <= bound)
    assert stats.count == len(values)
    assert stats.total == pytest.approx(sum(values))


def test_each_task_shows_its_legs_net_delta_quotes_and_the_exit_rules_pnl_pct():
    # 1 BTC bought at 50 000 and shorted at 49 750 (the worked example), then the market
    # moves to PROFIT: spot bid 50 500, futures ask 49 810.
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    actor = StrategyActor(driver.ctx, routers={})
    sb, sa, fb, fa = PROFIT
    actor.spot = Quote(BTC, sb, 1.0, sa, 1.0, 2.0, 2.0)
    actor.futures = Quote(BTC, fb, 1.0, fa, 1.0, 2.0, 2.0)
    [task] = status_of(statistics([actor.statistics()]), T0).tasks
    assert (task.spot_avg_price, task.futures_avg_price) == (50_000.0, 49_750.0)
    assert (task.spot_notional_usdt, task.futures_notional_usdt) == (50_000.0, 49_750.0)
    assert (task.net_delta_qty, task.net_delta_usdt) == (0.0, 0.0)
    assert (task.spot_bid, task.spot_ask, task.futures_bid, task.futures_ask) == PROFIT
    params = driver.ctx.params
    assert (task.max_entry_cost_pct, task.min_profit_pct, task.max_hours) == (
        params.max_entry_cost_pct,
        params.min_profit_pct,
        params.max_hours,
    )
    assert task.position_opened_at == driver.ctx.position_opened_at == 1.0
    # The cycle if closed now, against the spot leg's cost: fees 0.05 % a side.
    closed = 500.0 - 60.0 - 25.0 - 24.875 - 25.25 - 24.905
    assert task.pnl_pct == pytest.approx(closed / 50_000.0 * 100.0, abs=1e-9)
    # The exit rule takes profit at exactly that figure, and not a hair above it.
    for threshold, exits in ((task.pnl_pct, True), (math.nextafter(task.pnl_pct, 1.0), False)):
        rule = Driver(min_profit_pct=threshold)
        rule.fill_all(rule.quotes(1.0, ENTRY), now=1.0)
        assert bool(placed(rule.quotes(2.0, PROFIT))) is exits
    # Without a futures quote the exit rule cannot judge: neither can the status.
    actor.futures = None
    stats = actor.statistics()
    assert (stats.pnl_pct, stats.futures_bid, stats.futures_ask) == (None, None, None)


def test_an_unhedged_leg_is_the_net_delta_valued_at_the_spot_mid():
    ctx = new_context("btc_1", Symbol("BTC", "USDT"), now=T0).evolve(
        positions=Positions(LegPosition(0.003, 50_000.0), LegPosition(0.002, 49_750.0))
    )
    actor = StrategyActor(ctx, routers={})
    assert actor.statistics().net_delta_usdt is None  # no spot quote to value it at
    actor.spot = Quote(BTC, 50_100.0, 1.0, 50_300.0, 1.0, T0, T0)
    stats = actor.statistics()
    assert stats.net_delta_qty == pytest.approx(0.001)
    assert stats.net_delta_usdt == pytest.approx(0.001 * 50_200.0)
    assert stats.spot_notional_usdt == pytest.approx(150.0)
    assert stats.futures_notional_usdt == pytest.approx(99.5)
    assert stats.pnl_pct is None  # no futures quote to close the short at


def test_the_orders_in_flight_are_listed_oldest_first():
    def order(client_id: str, leg: Leg, created_ts: float) -> Order:
        return Order(client_id, leg, BTC, Side.BUY, 0.002, 50_000.0, created_ts=created_ts)

    late = Order(
        "t-2f", Leg.FUTURES, BTC, Side.SELL, 0.002, 49_750.0, status=OrderStatus.PARTIALLY_FILLED,
        filled_qty=0.001, avg_price=49_751.0, created_ts=T0 + 2.0,
    )  # fmt: skip
    ctx = new_context("btc_1", BTC, now=T0).evolve(
        active_orders={
            "futures": {"t-2f": late, "t-1f": order("t-1f", Leg.FUTURES, T0 + 1.0)},
            "spot": {"t-1s": order("t-1s", Leg.SPOT, T0 + 1.0)},
        }
    )
    [task] = status_of(statistics([StrategyActor(ctx, routers={}).statistics()]), T0).tasks
    assert [o.client_id for o in task.orders] == ["t-1f", "t-1s", "t-2f"]
    assert task.orders[2] == OrderOut(
        "t-2f", "futures", "sell", 0.002, 49_750.0, 0.001, 49_751.0, "partially_filled", T0 + 2.0
    )
    flat = new_context("eth_1", Symbol("ETH", "USDT"), now=T0)
    assert StrategyActor(flat, routers={}).statistics().orders == []


def fill(n: int) -> FillRecord:
    return FillRecord(
        "btc_1", 1, "BTC/USDT", "mexc", "spot", "buy", "entry", f"btc_1-{n}s", f"x{n}",
        T0 + n, 0.001, 50_000.0, 50_000.0, 0.025,
    )  # fmt: skip


async def test_the_newest_100_fills_handed_to_the_store_are_kept_oldest_first():
    handed: list = []

    async def writer_history(record) -> None:
        handed.append(record)

    fills: deque = deque(maxlen=RECENT_FILLS)
    history = keeping_fills(writer_history, fills)
    funding = FundingRecord("btc_1", "l1", T0, 1, "BTC/USDT", "gateio", 0.1)
    for n in range(101):
        await history(fill(n))
    await history(funding)
    await history(fill(100))  # handed over again by a restarted strategy
    assert handed == [*(fill(n) for n in range(101)), funding, fill(100)]
    stats = msgspec.structs.replace(
        statistics(), symbols=("BTC/USDT", "ETH/USDT"), recent_fills=tuple(fills)
    )
    status = status_of(stats, T0)
    assert [f.fill_id for f in status.recent_fills] == [f"btc_1-{n}s:x{n}" for n in range(1, 101)]
    assert status.recent_fills[0] == FillOut(
        "btc_1-1s:x1", T0 + 1, "btc_1", "BTC/USDT", "mexc", "spot", "buy", "entry", "btc_1-1s",
        0.001, 50_000.0, 0.025,
    )  # fmt: skip
    assert status.symbols == ["BTC/USDT", "ETH/USDT"]
    assert (status.started_at, status.uptime_s) == (T0 - 120.0, 120.0)
