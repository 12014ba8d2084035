"""The risk actor: the liquidation watch (a futures position near liquidation asks its
strategy to reduce, once per crossing) and the portfolio stops (a drawdown puts every
strategy in reducing, persisted; the operator's resume lifts it from the P&L now)."""

from __future__ import annotations

import attrs
import msgspec
import pytest
import trio

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import new_context
from actors.risk.config import RiskConfig
from actors.risk.stops import DAILY_LOSS, StopsState
from actors.runtime.persistence.store import RiskModeRow, Store
from actors.runtime.persistence.writer import Writer, WriterClient
from actors.runtime.risk.actor import RiskActor, risk_statistics
from actors.runtime.risk.portfolio import Portfolio
from protocols.messages import ReduceExposure, RiskModeChange
from protocols.model import Quote, RiskMode, Symbol
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


def quote(symbol: Symbol, mid: float, at: float = 1.0) -> Quote:
    return Quote(symbol, mid - 0.05, 1.0, mid + 0.05, 1.0, at, at)


async def test_a_short_is_followed_at_the_market_between_pushes():
    # The venue pushes a position when it trades, not as the price moves: a price run
    # towards the liquidation price pushes nothing, and is seen on the futures quotes.
    btc, eth = handle("btc_1", BTC), handle("eth_1", ETH)
    risk = RiskActor(
        Portfolio(CONFIG), {"btc_1": btc, "eth_1": eth}, WriterClient(None), no_balances
    )
    await risk.watch_marks()  # nothing pushed yet: nothing to judge
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0))
    btc.actor.futures = quote(BTC, 110.0)
    eth.actor.futures = quote(ETH, 149.0)  # another symbol's price says nothing of BTC's
    await risk.watch_marks()
    assert btc.mailbox.take_all_nowait() == []
    assert risk.liquidation["BTC/USDT"].mark_price == pytest.approx(110.0)
    btc.actor.futures = quote(BTC, 125.0)  # 20 % away: reduce half
    await risk.watch_marks()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [0.5]
    btc.actor.futures = quote(BTC, 135.0)  # 11 %: close all
    await risk.watch_marks()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    assert eth.mailbox.take_all_nowait() == []
    # Closed (pushed flat): no longer judged, whatever the quotes say.
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0, qty=0.0))
    await risk.watch_position(short(BTC, mark=100.0, liq=150.0, qty=0.0))
    btc.actor.futures = quote(BTC, 149.0)
    await risk.watch_marks()
    assert btc.mailbox.take_all_nowait() == []


async def test_a_short_near_liquidation_before_its_strategy_runs_is_asked_for_once_it_does():
    # After a restart the private stream pushes positions before the strategies start.
    strategies: dict[str, Handle] = {}
    risk = RiskActor(Portfolio(CONFIG), strategies, WriterClient(None), no_balances)
    await risk.watch_position(short(BTC, mark=140.0, liq=150.0))  # 7 %: close, no one to ask
    btc = strategies["btc_1"] = handle("btc_1", BTC)
    btc.actor.futures = quote(BTC, 140.0)
    await risk.watch_marks()
    assert [m.fraction for m in btc.mailbox.take_all_nowait()] == [1.0]
    await risk.watch_marks()  # asked once per crossing
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


def test_a_restart_keeps_which_stop_holds_but_not_the_last_runs_marks():
    risk = RiskActor(Portfolio(CONFIG), {}, WriterClient(None), no_balances)
    stored = StopsState(
        high_water_usdt=400.0, day=20000, day_start_pnl_usdt=380.0, tripped=DAILY_LOSS
    )
    row = RiskModeRow("reducing", "daily loss limit", 5.0, "stop", msgspec.json.encode(stored))
    risk.restore(row)
    portfolio = risk.portfolio
    assert (portfolio.mode, portfolio.set_by, portfolio.since) == (RiskMode.REDUCING, "stop", 5.0)
    assert portfolio.stops == StopsState(day=20000, tripped=DAILY_LOSS)
    untripped = msgspec.json.encode(StopsState(high_water_usdt=400.0, day=20000))
    risk.restore(RiskModeRow("halted", "look first", 6.0, "operator via a test", untripped))
    # This run's P&L starts at 0: the last run's mark of 400 is no drawdown of this one.
    assert portfolio.stops == StopsState()
