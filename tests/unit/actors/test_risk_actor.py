"""The risk actor: the liquidation watch (a futures position near liquidation asks its
strategy to reduce, once per crossing) and the portfolio stops (a drawdown puts every
strategy in reducing, persisted; the operator's resume lifts it from the P&L now)."""

from __future__ import annotations

import sqlite3

import attrs
import msgspec
import pytest
import trio

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import ArbitrageState, Positions, new_context
from actors.risk.caps import Balances
from actors.risk.config import RiskConfig
from actors.risk.stops import DAILY_LOSS, DAY_S, DRAWDOWN, StopsState, StoredMarks
from actors.runtime.persistence.store import RiskModeRow, Store
from actors.runtime.persistence.writer import SetRiskMode, Writer, WriterClient
from actors.runtime.risk.actor import RiskActor, risk_statistics
from actors.runtime.risk.portfolio import Portfolio
from protocols.messages import ReduceExposure, RiskModeChange
from protocols.model import Leg, LegPosition, Quote, RiskMode, Symbol
from protocols.venue import FuturesPosition
from supervision import Incarnation, Mailbox

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
CONFIG = RiskConfig(
    liquidation_reduce_distance_pct=30.0,
    liquidation_exit_distance_pct=15.0,
    liquidation_reduce_fraction=0.5,
    max_drawdown_usdt=50.0,
    daily_loss_limit_usdt=None,
)


@attrs.define
class Handle:
    symbol: Symbol
    actor: StrategyActor
    mailbox: Mailbox = attrs.field(factory=lambda: Mailbox("strategy", 16))


def handle(task_id: str, symbol: Symbol) -> Handle:
    return Handle(symbol, StrategyActor(new_context(task_id, symbol, now=1.0), {}))


async def no_balances(now: float):
    raise AssertionError("not read in these tests")


def short(symbol: Symbol, mark: float, liq: float, qty: float = -0.01) -> FuturesPosition:
    return FuturesPosition(symbol, qty, 100.0, mark_price=mark, liq_price=liq)


async def test_a_position_nearing_liquidation_is_reduced_once_per_crossing():
    btc, eth = handle("btc_1", BTC), handle("eth_1", ETH)
    risk = RiskActor(
        Portfolio(CONFIG), {"btc_1": btc, "eth_1": eth}, WriterClient(None), no_balances
    )
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))  # 50 % away: nothing
    assert btc.mailbox.take_all_nowait() == []
    await risk.watch_position(short(BTC, mark=120.0, liq=150.0))  # 25 %: reduce half
    [reduce] = btc.mailbox.take_all_nowait()
    assert type(reduce) is ReduceExposure
    assert (reduce.fraction, reduce.reason) == (0.5, "liquidation_risk")
    for mark in (121.0, 122.0, 119.0):  # every push while still within: nothing more
        await risk.watch_position(short(BTC, mark=mark, liq=150.0))
    assert btc.mailbox.take_all_nowait() == []
    await risk.watch_position(short(BTC, mark=135.0, liq=150.0))  # 11 %: close all
    [close] = btc.mailbox.take_all_nowait()
    assert close.fraction == 1.0
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))  # away again: rearmed
    await risk.watch_position(short(BTC, mark=125.0, liq=150.0))
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [0.5]
    assert eth.mailbox.take_all_nowait() == []  # another symbol's strategy is not asked
    [view] = risk_statistics(risk).liquidation
    assert (view.symbol, view.distance_pct) == ("BTC/USDT", pytest.approx(20.0))
    # Nothing held: no distance, whatever the prices say.
    await risk.watch_position(short(BTC, mark=149.0, liq=150.0, qty=0.0))
    assert btc.mailbox.take_all_nowait() == []
    assert risk.liquidation["BTC/USDT"].distance_pct is None


async def test_between_pushes_the_distance_follows_the_futures_quotes():
    """A venue pushes a position only when it changes: a price running towards the
    short's liquidation without a trade of ours is seen in the futures quotes."""
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(None), no_balances)
    await risk.recheck_liquidations()  # nothing pushed yet: nothing to judge
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))
    await risk.recheck_liquidations()  # no quote yet: the pushed mark stands
    assert btc.mailbox.take_all_nowait() == []
    btc.actor.futures = Quote(BTC, 119.9, 1.0, 120.1, 1.0, 0.0, 0.0)  # 25 % away
    await risk.recheck_liquidations()
    [reduce] = btc.mailbox.take_all_nowait()
    assert (reduce.fraction, reduce.reason) == (0.5, "liquidation_risk")
    assert risk.liquidation["BTC/USDT"].mark_price == pytest.approx(120.0)
    await risk.recheck_liquidations()  # still within: asked once per crossing
    assert btc.mailbox.take_all_nowait() == []
    btc.actor.futures = Quote(BTC, 139.9, 1.0, 140.1, 1.0, 0.0, 0.0)  # 7 %: close
    await risk.recheck_liquidations()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0, qty=0.0))  # closed
    await risk.recheck_liquidations()
    assert btc.mailbox.take_all_nowait() == []
    # A push without a mark (Gate.io's carries none) is judged at the quotes' mid, and
    # does not rearm a crossing already acted on.
    await risk.watch_position(short(BTC, mark=0.0, liq=150.0))
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    await risk.watch_position(short(BTC, mark=0.0, liq=150.0))
    await risk.recheck_liquidations()
    assert btc.mailbox.take_all_nowait() == []


def quote(symbol: Symbol, mid: float, at: float = 1.0) -> Quote:
    return Quote(symbol, mid - 0.05, 1.0, mid + 0.05, 1.0, at, at)


async def test_a_short_is_followed_at_the_market_between_pushes():
    # The venue pushes a position when it trades, not as the price moves: a price run
    # towards the liquidation price pushes nothing, and is seen on the futures quotes.
    btc, eth = handle("btc_1", BTC), handle("eth_1", ETH)
    risk = RiskActor(
        Portfolio(CONFIG), {"btc_1": btc, "eth_1": eth}, WriterClient(None), no_balances
    )
    await risk.recheck_liquidations()  # nothing pushed yet: nothing to judge
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))
    btc.actor.futures = quote(BTC, 110.0)
    eth.actor.futures = quote(ETH, 149.0)  # another symbol's price says nothing of BTC's
    await risk.recheck_liquidations()
    assert btc.mailbox.take_all_nowait() == []
    assert risk.liquidation["BTC/USDT"].mark_price == pytest.approx(110.0)
    btc.actor.futures = quote(BTC, 125.0)  # 20 % away: reduce half
    await risk.recheck_liquidations()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [0.5]
    btc.actor.futures = quote(BTC, 135.0)  # 11 %: close all
    await risk.recheck_liquidations()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    assert eth.mailbox.take_all_nowait() == []
    # Closed (pushed flat): no longer judged, whatever the quotes say.
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0, qty=0.0))
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0, qty=0.0))
    btc.actor.futures = quote(BTC, 149.0)
    await risk.recheck_liquidations()
    assert btc.mailbox.take_all_nowait() == []


async def test_a_push_without_the_liquidation_price_keeps_the_one_read_for_that_position():
    # Binance's ACCOUNT_UPDATE leaves the liquidation price (and the mark) out; the
    # position watch's REST read has it.
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(None), no_balances)
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))  # read
    await risk.watch_position(short(BTC, mark=0.0, liq=0.0))  # pushed: the same short
    btc.actor.futures = Quote(BTC, 119.9, 1.0, 120.1, 1.0, 0.0, 0.0)  # 25 % away
    await risk.recheck_liquidations()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [0.5]
    # Another size pushed: its liquidation price is unknown until read, and none is shown.
    await risk.watch_position(short(BTC, mark=0.0, liq=0.0, qty=-0.02))
    assert risk.liquidation["BTC/USDT"].distance_pct is None
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0, qty=-0.02))  # read: 7 %
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]


async def test_a_short_near_liquidation_before_its_strategy_runs_is_asked_for_once_it_does():
    # After a restart the private stream pushes positions before the strategies start.
    strategies: dict[str, Handle] = {}
    risk = RiskActor(Portfolio(CONFIG), strategies, WriterClient(None), no_balances)
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0))  # 7 %: close, no one to ask
    btc = strategies["btc_1"] = handle("btc_1", BTC)
    btc.actor.futures = quote(BTC, 140.0)
    await risk.recheck_liquidations()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    await risk.recheck_liquidations()  # asked once per crossing
    assert btc.mailbox.take_all_nowait() == []


async def test_the_router_hook_hands_pushed_positions_to_the_running_actor():
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(None), no_balances)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(risk.follow_positions)
        risk.position_pushed(short(BTC, mark=140.0, liq=150.0))
        with trio.fail_after(5):
            close = await btc.mailbox.receive()
        nursery.cancel_scope.cancel()
    assert close.fraction == 1.0


async def test_a_drawdown_puts_every_strategy_in_reducing_until_the_operator_resumes(tmp_path):
    writer = Writer(tmp_path / "basis.db")
    mailbox = Mailbox("writer", 64)
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(mailbox.address), no_balances)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run, Incarnation("writer", 0, None, mailbox))
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=20.0))  # the high-water mark
        await risk.check_stops()
        assert risk.portfolio.mode is RiskMode.ACTIVE
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-31.0))  # 51 below it
        await risk.check_stops()
        assert risk.portfolio.mode is RiskMode.REDUCING
        assert risk.portfolio.set_by == "stop"
        [change] = btc.mailbox.take_all_nowait()
        assert type(change) is RiskModeChange
        assert change.mode is RiskMode.REDUCING and "max_drawdown_usdt" in change.reason
        await risk.check_stops()  # still down: nothing new
        assert btc.mailbox.take_all_nowait() == []
        await risk.resume("operator via basis risk resume")
        assert risk.portfolio.stops.high_water_usdt == -31.0  # the loss so far is accepted
        await risk.check_stops()
        assert risk.portfolio.mode is RiskMode.ACTIVE
        assert [m.mode for m in btc.mailbox.take_all_nowait()] == [RiskMode.ACTIVE]
        mailbox.request_stop()
    with Store(tmp_path / "basis.db") as store:
        row = store.risk_mode()
    assert (row.mode, row.set_by) == ("active", "operator via basis risk resume")


async def test_a_stop_neither_softens_a_halt_nor_lifts_the_operators_mode(tmp_path):
    writer = Writer(tmp_path / "basis.db")
    mailbox = Mailbox("writer", 64)
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(mailbox.address), no_balances)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run, Incarnation("writer", 0, None, mailbox))
        await risk.set_mode(RiskMode.HALTED, "maintenance", "operator via a test")
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-100.0))
        await risk.check_stops()
        await risk.check_stops()
        assert (risk.portfolio.mode, risk.portfolio.set_by) == (
            RiskMode.HALTED,
            "operator via a test",
        )
        mailbox.request_stop()


DAY0 = 20_000 * DAY_S
DAILY = RiskConfig(daily_loss_limit_usdt=100.0, max_drawdown_usdt=None)


async def run_with_writer(path, body) -> None:
    """``body(writer_client)`` with a writer storing in ``path``."""
    writer = Writer(path)
    mailbox = Mailbox("writer", 64)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run, Incarnation("writer", 0, None, mailbox))
        await body(WriterClient(mailbox.address))
        mailbox.request_stop()


async def test_the_days_loss_and_the_drawdown_carry_over_a_restart(tmp_path):
    """Lose 90, restart, lose 90 more: the daily limit of 100 trips, though this run's
    P&L sums each strategy's lifetime realised P&L (a past loss trips nothing)."""
    path = tmp_path / "basis.db"
    clock = [DAY0 + 10.0]

    async def first_run(client: WriterClient) -> None:
        btc = handle("btc_1", BTC)
        risk = RiskActor(Portfolio(DAILY), {"btc_1": btc}, client, no_balances)
        risk.wall_clock = lambda: clock[0]
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-400.0))  # an earlier day's
        await risk.check_stops()
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-490.0))
        await risk.check_stops(cycle_closed=True)
        assert risk.portfolio.mode is RiskMode.ACTIVE

    await run_with_writer(path, first_run)
    with Store(path) as store:
        row = store.risk_mode()
    assert msgspec.json.decode(row.stops, type=StoredMarks) == StoredMarks(
        int(DAY0 // DAY_S), 90.0, 90.0, None
    )
    clock[0] += 60.0

    async def second_run(client: WriterClient) -> None:
        btc = handle("btc_1", BTC)
        risk = RiskActor(Portfolio(DAILY), {"btc_1": btc}, client, no_balances)
        risk.wall_clock = lambda: clock[0]
        risk.restore(row)
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-490.0))  # restored
        await risk.check_stops()
        assert risk.portfolio.stops.tripped is None  # 90 today: under the limit
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-580.0))
        await risk.check_stops(cycle_closed=True)
        assert risk.portfolio.stops.tripped == DAILY_LOSS
        assert risk.portfolio.mode is RiskMode.REDUCING

    await run_with_writer(path, second_run)


async def test_the_stops_are_judged_only_once_every_strategy_is_restored(tmp_path, autojump_clock):
    started = trio.Event()

    async def body(client: WriterClient) -> None:
        btc = handle("btc_1", BTC)
        risk = RiskActor(
            Portfolio(DAILY), {"btc_1": btc}, client, no_balances, system_started=started
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(risk._watch_stops)
            await trio.sleep(3.5)
            assert risk.portfolio.stops == StopsState()  # not judged at a P&L of 0
            # The strategy comes back with its lifetime loss: no loss of today.
            risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-150.0))
            started.set()
            await trio.sleep(1.5)
            assert risk.portfolio.stops.day_start_pnl_usdt == -150.0
            assert risk.portfolio.stops.tripped is None
            nursery.cancel_scope.cancel()

    await run_with_writer(tmp_path / "basis.db", body)


def test_a_restart_keeps_which_stop_holds_and_the_marks_relative_to_the_pnl():
    risk = RiskActor(Portfolio(CONFIG), {}, WriterClient(None), no_balances)
    stored = StoredMarks(day=20000, day_loss_usdt=120.0, drawdown_usdt=30.0, tripped=DAILY_LOSS)
    row = RiskModeRow("reducing", "daily loss limit", 5.0, "stop", msgspec.json.encode(stored))
    risk.restore(row)
    portfolio = risk.portfolio
    assert (portfolio.mode, portfolio.set_by, portfolio.since) == (RiskMode.REDUCING, "stop", 5.0)
    assert portfolio.stops == StopsState(day=20000, tripped=DAILY_LOSS)


async def test_a_stop_whose_mode_the_store_refused_trips_again_at_the_next_judgement():
    mailbox = Mailbox("writer", 64)
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(mailbox.address), no_balances)
    refusing = [True]

    async def store() -> None:
        """Refuses the risk mode while ``refusing``, as a failing disk would."""
        while True:
            request = await mailbox.receive()
            if type(request) is SetRiskMode and refusing[0]:
                request.reply.error = sqlite3.OperationalError("disk I/O error")
            request.reply.done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(store)
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=20.0))  # the high-water mark
        await risk.check_stops()
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-40.0))  # 60 below it
        await risk.check_stops()  # the drawdown trips; its mode is refused
        assert risk.portfolio.mode is RiskMode.ACTIVE
        assert risk.portfolio.stops.tripped is None
        refusing[0] = False
        await risk.check_stops()
        nursery.cancel_scope.cancel()
    assert risk.portfolio.mode is RiskMode.REDUCING
    assert risk.portfolio.stops.tripped == DRAWDOWN


def test_a_stored_row_that_cannot_be_read_never_loses_the_stored_mode():
    # Stops stored before their first judgement (no high-water mark yet) read back.
    assert msgspec.json.decode(msgspec.json.encode(StopsState()), type=StopsState) == StopsState()
    risk = RiskActor(Portfolio(CONFIG), {}, WriterClient(None), no_balances)
    earlier = (
        b'{"high_water_usdt":null,"day":20000,"day_start_pnl_usdt":0.0,"tripped":"max_drawdown"}'
    )
    risk.restore(RiskModeRow("reducing", "drawdown", 5.0, "stop", earlier))
    assert (risk.portfolio.mode, risk.portfolio.stops.tripped) == (RiskMode.REDUCING, DRAWDOWN)
    risk = RiskActor(Portfolio(CONFIG), {}, WriterClient(None), no_balances)
    risk.restore(RiskModeRow("halted", "look first", 6.0, "operator via a test", b"{garbled"))
    assert (risk.portfolio.mode, risk.portfolio.reason) == (RiskMode.HALTED, "look first")
    assert risk.portfolio.stops == StopsState()
    risk = RiskActor(Portfolio(CONFIG), {}, WriterClient(None), no_balances)
    risk.restore(RiskModeRow("paused", "a later version's", 7.0, "operator via a test", None))
    assert risk.portfolio.mode is RiskMode.HALTED
    assert "'paused' cannot be read" in risk.portfolio.reason


async def test_a_burst_of_pushes_is_judged_at_each_symbols_newest(nursery):
    btc = handle("btc_1", BTC)
    risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, WriterClient(None), no_balances)
    for n in range(5000):  # more than any buffer would hold, the newest last
        risk.position_pushed(short(BTC, mark=100.0 + n / 1000.0, liq=150.0))
    risk.position_pushed(short(BTC, mark=140.0, liq=150.0))
    nursery.start_soon(risk.follow_positions)
    with trio.fail_after(5):
        close = await btc.mailbox.receive()
    assert close.fraction == 1.0
    assert risk.liquidation["BTC/USDT"].mark_price == 140.0


async def test_the_balances_are_read_again_once_every_strategy_is_restored(nursery, autojump_clock):
    """A position restored after the first read is not spent since it."""
    reads = []

    async def read_balances(now: float) -> Balances:
        reads.append(trio.current_time())
        return Balances({"mexc": 1000.0}, {"gateio_futures": 1000.0})

    started = trio.Event()
    btc = handle("btc_1", BTC)
    risk = RiskActor(
        Portfolio(RiskConfig(balance_interval_s=5.0)),
        {"btc_1": btc},
        WriterClient(None),
        read_balances,
        system_started=started,
    )
    nursery.start_soon(risk._poll_balances)
    await trio.sleep(0.1)
    restored = btc.actor.ctx.evolve(
        state=ArbitrageState.POSITION_OPEN,
        positions=Positions(LegPosition(3.0, 100.0), LegPosition(3.0, 100.0)),
    )
    risk.decided(restored)
    started.set()
    await trio.sleep(0.1)
    assert len(reads) == 2
    assert risk.portfolio.balances_now().spot_free_usdt["mexc"] == 1000.0
    await trio.sleep(5.0)  # then every balance_interval_s
    assert len(reads) == 3


async def test_a_resume_before_the_first_judgement_is_not_undone_by_the_stored_marks(tmp_path):
    async def body(client: WriterClient) -> None:
        btc = handle("btc_1", BTC)
        risk = RiskActor(Portfolio(CONFIG), {"btc_1": btc}, client, no_balances)
        stored = StoredMarks(day=None, drawdown_usdt=80.0, tripped=DRAWDOWN)
        risk.restore(RiskModeRow("reducing", "drawdown", 5.0, "stop", msgspec.json.encode(stored)))
        risk.decided(btc.actor.ctx.evolve(realized_pnl_usdt=-10.0))
        await risk.resume("operator via a test")
        await risk.check_stops()
        assert risk.portfolio.mode is RiskMode.ACTIVE
        assert risk.portfolio.stops.tripped is None
        assert risk.portfolio.stops.high_water_usdt == -10.0

    await run_with_writer(tmp_path / "basis.db", body)


async def test_a_refusal_for_the_balance_spends_it_until_a_reading_read_at_once(
    nursery, autojump_clock
):
    """Without it every entry retried until the next reading placed its other leg only
    to unwind it."""
    reads = []
    begun = [trio.Event() for _ in range(3)]
    answer = [trio.Event() for _ in range(3)]

    async def read_balances(now: float) -> Balances:
        n = len(reads)
        reads.append(trio.current_time())
        if n:  # the later readings answer when the test lets them
            begun[n].set()
            await answer[n].wait()
        return Balances({"mexc": 300.0}, {}) if n == 2 else Balances({"mexc": 1000.0}, {})

    btc = handle("btc_1", BTC)
    risk = RiskActor(
        Portfolio(
            RiskConfig(
                balance_interval_s=5.0,
                max_symbol_notional_usdt=1e6,
                max_venue_notional_usdt=1e6,
                max_total_notional_usdt=1e6,
            )
        ),
        {"btc_1": btc},
        WriterClient(None),
        read_balances,
        wall_clock=lambda: 1_700_000_000.0,
    )
    ctx = btc.actor.ctx
    risk.decided(ctx)
    nursery.start_soon(risk._poll_balances)
    await trio.sleep(1.0)
    assert risk.limits(ctx).room_usdt > 900.0
    risk.balance_refused(Leg.FUTURES, "gateio_futures")
    limits = risk.limits(ctx)
    assert limits.room_usdt == 0.0
    assert limits.reason == (
        "the gateio_futures refused an order for the balance at 22:13:20 UTC; waiting for "
        "its next reading"
    )
    assert risk.portfolio.balances_now().futures_available_usdt["gateio_futures"] == 0.0
    # Read again at once, not a balance_interval_s later.
    with trio.fail_after(0.1):
        await begun[1].wait()
    # A second refusal while that reading is on its way: the reading may predate it.
    risk.balance_refused(Leg.FUTURES, "gateio_futures")
    answer[1].set()
    with trio.fail_after(0.1):
        await begun[2].wait()
    assert risk.limits(ctx).room_usdt == 0.0
    # So read once more at once; the room then follows the fresh figures.
    answer[2].set()
    await trio.sleep(0.01)
    assert reads[2] - reads[0] < 2.0
    limits = risk.limits(ctx)
    assert limits.room_usdt == pytest.approx(300.0 / (1.0 + ctx.params.spot_fee))
    assert limits.reason == "free USDT on mexc"


async def test_a_look_judges_each_short_at_its_symbols_newest_quote():
    # One pass over the strategies serves every held short of the look: each is judged
    # at the newest futures quote among its own symbol's strategies, not another's.
    old, new, eth = handle("btc_1", BTC), handle("btc_2", BTC), handle("eth_1", ETH)
    strategies = {"btc_1": old, "btc_2": new, "eth_1": eth}
    risk = RiskActor(Portfolio(CONFIG), strategies, WriterClient(None), no_balances)
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))
    await risk.watch_position(short(ETH, mark=100.0, liq=150.0))
    old.actor.futures = quote(BTC, 110.0, at=1.0)
    new.actor.futures = quote(BTC, 125.0, at=2.0)  # the newest: 20 % away, reduce half
    eth.actor.futures = quote(ETH, 101.0, at=3.0)
    await risk.recheck_liquidations()
    assert risk.liquidation["BTC/USDT"].mark_price == pytest.approx(125.0)
    assert risk.liquidation["ETH/USDT"].mark_price == pytest.approx(101.0)
    told = old.mailbox.take_all_nowait() + new.mailbox.take_all_nowait()
    assert [m.fraction for m in told] == [0.5, 0.5]  # both of the symbol's strategies
    assert eth.mailbox.take_all_nowait() == []
