"""A cycle's P&L decomposed (docs/strategy.md, "P&L of a cycle, decomposed"): basis at
the decision prices, each leg's fees and slippage, and funding, summing to what it
realized; and the fill and funding records the machine emits for the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from actors.arbitrage.config import StrategyConfig
from actors.arbitrage.context import ArbitrageState, LegRules, new_context
from actors.arbitrage.machine import (
    holds_position,
    leg_after_fill,
    split_realized,
    unattributed_pnl_usdt,
)
from actors.backtest.engine import BacktestConfig, run_backtest
from actors.runtime.persistence.store import Store
from protocols.history import FillRecord, FundingRecord
from protocols.messages import (
    FundingPayment,
    OperatorAction,
    OperatorCommand,
    OrderFinal,
    TradeAmended,
    TradeClosed,
    VenuePositionChanged,
)
from protocols.model import (
    BookDepth,
    Fill,
    Leg,
    LegPosition,
    OrderStatus,
    Quote,
    Side,
    VenueRules,
)
from tests.unit.arbitrage.harness import (
    BTC,
    ENTRY,
    FLAT,
    Driver,
    Market,
    as_before_decomposition,
    placed,
)

S = ArbitrageState
# The worked example's exit quotes: sb' = 50 350, fa' = 49 650.
EXIT = (50_350.0, 50_360.0, 49_640.0, 49_650.0)


def of(kind: type, commands: list) -> list:
    return [c for c in commands if isinstance(c, kind)]


def test_the_worked_example_decomposes_into_basis_and_fees():
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    entry = of(FillRecord, driver.commands)
    # Entering costs 299.875 USDT: the basis paid at the decision prices and both fees.
    spot, futures = entry
    assert (spot.decision_price, futures.decision_price) == (50_000.0, 49_750.0)
    paid = (spot.decision_price - futures.decision_price) * spot.qty
    assert paid == 250.0
    assert (spot.fee_usdt, futures.fee_usdt) == pytest.approx((25.0, 24.875), abs=1e-12)
    assert paid + spot.fee_usdt + futures.fee_usdt == pytest.approx(299.875, abs=1e-9)
    assert driver.ctx.cycle.realized_usdt == pytest.approx(-49.875, abs=1e-9)

    driver.fill_all(driver.quotes(2.0, EXIT), now=2.0)
    [closed] = of(TradeClosed, driver.commands)
    trade = closed.trade
    assert trade.pnl_usdt == pytest.approx(350.125, abs=1e-9)
    assert trade.basis_usdt == pytest.approx(450.0, abs=1e-9)  # -250 at entry, +700 at exit
    assert trade.spot_fees_usdt == pytest.approx(50.175, abs=1e-9)
    assert trade.futures_fees_usdt == pytest.approx(49.7, abs=1e-9)
    assert (trade.funding_usdt, trade.spot_slippage_usdt, trade.futures_slippage_usdt) == (0, 0, 0)
    assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=1e-9)
    assert (trade.entry_spot_decision, trade.entry_futures_decision) == (50_000.0, 49_750.0)
    assert (trade.exit_spot_decision, trade.exit_futures_decision) == (50_350.0, 49_650.0)
    assert (trade.task_id, trade.cycle) == ("t1", 1)
    assert (trade.spot_venue, trade.futures_venue) == ("mexc", "gateio_futures")
    assert trade.decided_at == 1.0 and trade.entry_cost_pct == pytest.approx(0.5)
    assert trade.volume_usdt == 50_000.0 + 49_750.0 + 50_350.0 + 49_650.0
    assert driver.ctx.arbitrage_cycles == 1


def depth_quote(now: float, bid: float, ask: float, levels: BookDepth) -> Quote:
    return Quote(BTC, bid, levels.bids[0][1], ask, levels.asks[0][1], now, now, levels)


def test_an_entry_that_walks_the_book_pays_slippage_against_the_best_prices():
    # The spot asks hold 0.5 BTC at 50 000 and more at 50 010; the futures bids 0.5 at
    # 49 750 and more at 49 745: 1 BTC is limited at the deeper levels, decided on the
    # best ones.
    driver = Driver()
    spot = depth_quote(
        1.0, 49_990.0, 50_000.0, BookDepth(((49_990.0, 10.0),), ((50_000.0, 0.5), (50_010.0, 10.0)))
    )
    futures = depth_quote(1.0, 49_750.0, 49_760.0, BookDepth(
        ((49_750.0, 0.5), (49_745.0, 10.0)), ((49_760.0, 10.0),)))  # fmt: skip
    buy, sell = placed(driver.send(Market(1.0, spot, futures)))
    assert (buy.price, buy.decision_price) == (50_010.0, 50_000.0)
    assert (sell.price, sell.decision_price) == (49_745.0, 49_750.0)
    assert buy.qty == 1.0
    for order, best, deeper in ((buy, 50_000.0, 50_010.0), (sell, 49_750.0, 49_745.0)):
        driver.fill(order, 0.5, now=1.0, price=best)
        driver.fill(order, 0.5, now=1.0, price=deeper)
        driver.final(order, 1.0, now=1.0)
    assert driver.ctx.positions.spot.decision_price == 50_000.0
    assert driver.ctx.positions.spot.avg_price == 50_005.0
    assert driver.ctx.positions.futures.decision_price == 49_750.0
    driver.fill_all(driver.quotes(2.0, EXIT), now=2.0)
    [closed] = of(TradeClosed, driver.commands)
    trade = closed.trade
    assert trade.basis_usdt == pytest.approx(450.0, abs=1e-9)
    assert trade.spot_slippage_usdt == pytest.approx(-5.0, abs=1e-9)
    assert trade.futures_slippage_usdt == pytest.approx(-2.5, abs=1e-9)
    assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=1e-9)
    assert (trade.entry_spot_price, trade.entry_spot_decision) == (50_005.0, 50_000.0)
    assert trade.entry_futures_decision == 49_750.0


def test_fills_are_recorded_with_their_cycle_role_decision_price_and_commission():
    driver = Driver()
    buy, short = placed(driver.quotes(1.0, ENTRY))
    commission = 0.0005  # BTC
    driver.send(Fill(buy.client_id, "T1", 1.0, 50_000.0, commission * 50_000.0, 1.0,
                     commission, "BTC"))  # fmt: skip
    driver.final(buy, 1.0, now=1.0)
    driver.fill(short, 0.4, now=1.0)
    driver.final(short, 0.4, now=1.0)
    assert driver.ctx.state is S.IMBALANCED
    [correction] = placed(driver.quotes(2.0, ENTRY))  # finish the short at the bid
    assert (correction.leg, correction.side) == (Leg.FUTURES, Side.SELL)
    assert correction.decision_price == 49_750.0 and correction.price < 49_750.0
    driver.fill(correction, now=2.0)
    driver.final(correction, correction.qty, now=2.0)
    records = of(FillRecord, driver.commands)
    assert [(r.leg, r.side, r.role, r.cycle) for r in records] == [
        ("spot", "buy", "entry", 1),
        ("futures", "sell", "entry", 1),
        ("futures", "sell", "correction", 1),
    ]
    spot = records[0]
    assert (spot.task_id, spot.symbol, spot.venue) == ("t1", "BTC/USDT", "mexc")
    assert (spot.client_id, spot.trade_id, spot.ts) == (buy.client_id, "T1", 1.0)
    assert (spot.commission, spot.commission_asset) == (commission, "BTC")
    assert records[1].venue == "gateio_futures"
    assert records[2].decision_price == 49_750.0
    assert records[2].price == correction.price
    assert sum(r.fee_usdt for r in records) == pytest.approx(driver.ctx.cycle.fees_usdt)


def test_a_fill_the_venue_reported_only_in_the_final_state_is_recorded_too():
    driver = Driver()
    buy, _ = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.5, now=1.0)
    # 1 BTC at 50 010 on average, of which 0.5 was reported at 50 000: 0.5 more at 50 020.
    driver.send(OrderFinal(1.0, buy.client_id, OrderStatus.FILLED, 1.0, 50_010.0))
    adopted = of(FillRecord, driver.commands)[-1]
    assert adopted.trade_id == f"final-{buy.client_id}"
    assert (adopted.qty, adopted.price, adopted.decision_price) == (0.5, 50_020.0, 50_000.0)
    assert (adopted.role, adopted.cycle) == ("entry", 1)
    assert adopted.fee_usdt == pytest.approx(0.5 * 50_020.0 * 0.0005)
    assert driver.ctx.positions.spot.decision_price == 50_000.0


def test_a_reduction_by_the_venue_is_recorded_at_its_price_and_its_cycle_still_sums():
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    mark = 49_900.0
    driver.send(VenuePositionChanged(2.0, Leg.FUTURES, BTC, 1.0, 0.6, mark, "adl"))
    [record] = of(FillRecord, driver.commands)[2:]
    assert (record.role, record.client_id, record.trade_id) == ("venue", "", "t1-venue-1")
    assert (record.leg, record.side, record.qty) == ("futures", "buy", pytest.approx(0.4))
    assert (record.price, record.decision_price, record.fee_usdt) == (mark, mark, 0.0)
    # The part closed realizes its basis from the short's decision price to the mark.
    assert driver.ctx.cycle.basis_usdt == pytest.approx(0.4 * (49_750.0 - mark))
    [match] = placed(driver.quotes(3.0, FLAT))  # the spot leg sold down to the short
    assert (match.leg, match.side, match.decision_price) == (Leg.SPOT, Side.SELL, FLAT[0])
    driver.fill_all([*driver.commands[-1:]], now=3.0)
    assert driver.ctx.state is S.POSITION_OPEN
    driver.send(OperatorCommand(3.5, OperatorAction.CLOSE_POSITION))
    driver.fill_all(driver.quotes(4.0, EXIT), now=4.0)
    [closed] = of(TradeClosed, driver.commands)
    assert closed.trade.decomposed_usdt == pytest.approx(closed.trade.pnl_usdt, abs=1e-9)


def test_funding_is_recorded_in_its_cycle_and_an_amended_record_still_sums():
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    driver.send(FundingPayment(1.5, 3.0, "L1"))
    driver.fill_all(driver.quotes(2.0, EXIT), now=2.0)
    driver.send(FundingPayment(2.0, -1.25, "L2"))  # settled at the exit, reported after
    fundings = of(FundingRecord, driver.commands)
    assert [(f.cycle, f.ledger_id, f.ts, f.amount_usdt) for f in fundings] == [
        (1, "L1", 1.5, 3.0),
        (1, "L2", 2.0, -1.25),
    ]
    assert fundings[0].venue == "gateio_futures" and fundings[0].task_id == "t1"
    [closed] = of(TradeClosed, driver.commands)
    [amended] = of(TradeAmended, driver.commands)
    assert closed.trade.funding_usdt == 3.0
    assert closed.trade.decomposed_usdt == pytest.approx(closed.trade.pnl_usdt, abs=1e-9)
    assert amended.trade.funding_usdt == 1.75
    assert amended.trade.pnl_usdt == pytest.approx(closed.trade.pnl_usdt - 1.25)
    assert amended.trade.decomposed_usdt == pytest.approx(amended.trade.pnl_usdt, abs=1e-9)
    assert amended.trade.cycle == 1


def test_a_restored_snapshot_without_decision_prices_counts_its_fills_as_decided():
    # Entered, and the exit's orders in flight, before decision prices were kept: the
    # fills stand for their own decisions, so nothing is slippage.
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    sell, cover = placed(driver.quotes(2.0, EXIT))
    restored = Driver(as_before_decomposition(driver.ctx))
    assert restored.ctx.active_orders["spot"][sell.client_id].decision_price == 0.0
    assert restored.ctx.positions.spot.decision_price == 0.0
    restored.fill(sell, now=2.0, price=50_340.0)
    restored.final(sell, sell.qty, now=2.0)
    restored.fill(cover, now=2.0, price=49_655.0)
    restored.final(cover, cover.qty, now=2.0)
    [closed] = of(TradeClosed, restored.commands)
    trade = closed.trade
    assert (trade.spot_slippage_usdt, trade.futures_slippage_usdt) == (0.0, 0.0)
    assert (trade.exit_spot_decision, trade.exit_futures_decision) == (50_340.0, 49_655.0)
    assert trade.entry_spot_decision == trade.entry_spot_price == 50_000.0
    assert trade.basis_usdt == pytest.approx(340.0 + 95.0, abs=1e-9)
    # The entry's fees, kept only as their sum, split at the legs' fee rates.
    assert trade.spot_fees_usdt == pytest.approx(25.0 + 50_340.0 * 0.0005, abs=1e-9)
    assert trade.futures_fees_usdt == pytest.approx(24.875 + 49_655.0 * 0.0005, abs=1e-9)
    assert trade.volume_usdt == pytest.approx(50_000.0 + 49_750.0 + 50_340.0 + 49_655.0)
    assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=1e-9)
    records = of(FillRecord, restored.commands)
    assert [r.decision_price for r in records] == [50_340.0, 49_655.0]


# ----------------------------------------------------------- one leg, any fills

LEG_FILL = st.tuples(
    st.sampled_from(["grow", "close", "flip"]),
    st.floats(0.01, 3.0),  # quantity
    st.floats(90.0, 110.0),  # price
    st.floats(-0.01, 0.01),  # decision price off the fill price, as a share
    st.sampled_from([0.0, 0.0, 0.001, 0.01]),  # base-coin fee, as a share of the quantity
    st.booleans(),  # the decision price is known
)


@settings(max_examples=200, deadline=None)
@given(long=st.booleans(), fills=st.lists(LEG_FILL, min_size=1, max_size=12))
def test_what_each_fill_realizes_is_its_basis_and_slippage_less_its_fee(long, fills):
    position = LegPosition()
    for kind, qty, price, off, base_share, known in fills:
        grows = kind == "grow"
        if grows and position.qty < 0.0:
            continue  # a leg is never grown past flipping it (the machine closes first)
        if kind == "flip":
            qty += max(position.qty, 0.0)  # past what is held
        decision = price * (1.0 + off) if known else 0.0
        base_fee = qty * base_share if long else 0.0
        fee = (qty * 0.0005 + base_fee) * price
        after, realized = leg_after_fill(position, grows, qty, price, fee, long, base_fee, decision)
        basis, slippage = split_realized(
            position, after, grows, qty, price, decision, long, base_fee
        )
        assert basis + slippage - fee == pytest.approx(realized, abs=1e-9)
        # Decision prices change nothing of what is held or realized.
        plain, same = leg_after_fill(position, grows, qty, price, fee, long, base_fee)
        assert (plain.qty, plain.avg_price, same) == (after.qty, after.avg_price, realized)
        position = after


def test_an_entry_that_filled_only_dust_leaves_its_fills_to_the_next_cycle():
    # The spot venue takes 10 USDT at least, the futures venue 10 contracts: 0.0001 BTC
    # bought and the short refused is dust, and no position was taken.
    rules = LegRules(
        VenueRules(qty_step=0.0001, min_notional=10.0),
        VenueRules(contract_size=0.0001, min_contracts=10),
    )
    driver = Driver(new_context("t1", BTC, now=0.0, base_position_size_usdt=50_000.0, rules=rules))
    buy, short = placed(driver.quotes(1.0, ENTRY))
    driver.fill(buy, 0.0001, now=1.0)
    driver.final(buy, 0.0001, now=1.0)
    driver.reject(short, now=1.0)
    assert driver.ctx.state is S.MONITORING and driver.ctx.arbitrage_cycles == 0
    driver.fill_all(driver.quotes(2.0, ENTRY), now=2.0)
    driver.fill_all(driver.quotes(3.0, EXIT), now=3.0)
    [closed] = of(TradeClosed, driver.commands)
    trade = closed.trade
    records = of(FillRecord, driver.commands)
    assert [r.cycle for r in records] == [1] * 5
    spot_fees = sum(r.fee_usdt for r in records if r.leg == "spot")
    assert trade.spot_fees_usdt == pytest.approx(spot_fees, abs=1e-12)
    assert records[0].fee_usdt == pytest.approx(0.0025) and trade.qty == pytest.approx(1.0001)
    assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=1e-9)


def test_every_cycle_of_a_backtest_decomposes():
    sample = Path(__file__).parents[2] / "data" / "sample_quotes.csv"
    loose = StrategyConfig(max_entry_cost_pct=0.05, min_profit_pct=0.01)
    result = run_backtest(str(sample), BacktestConfig(strategy=loose))
    assert result.cycles >= 5
    assert any(t.spot_slippage_usdt < 0.0 for t in result.trades)  # entries walked the books
    for trade in result.trades:
        assert trade.decomposed_usdt == pytest.approx(trade.pnl_usdt, abs=1e-9)
        assert trade.cycle >= 1 and trade.volume_usdt > 0.0


def test_two_tasks_venue_reductions_are_each_stored(tmp_path: Path):
    # Both tasks' first reductions: client id "" and the first reduction's number each.
    records = []
    for task in ("t1", "t2"):
        driver = Driver(new_context(task, BTC, now=0.0, base_position_size_usdt=50_000.0))
        driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
        driver.send(VenuePositionChanged(2.0, Leg.FUTURES, BTC, 1.0, 0.6, 49_900.0, "adl"))
        [venue] = [r for r in of(FillRecord, driver.commands) if r.role == "venue"]
        records.append(venue)
    with Store(tmp_path / "basis.db") as store:
        store.write_batch((), (), (), records)
        stored = store._db.execute("SELECT task_id, trade_id FROM fills ORDER BY task_id")
        assert stored.fetchall() == [("t1", "t1-venue-1"), ("t2", "t2-venue-1")]


def test_late_funding_on_a_record_from_before_names_its_task_and_cycle():
    driver = Driver()
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    driver.fill_all(driver.quotes(2.0, EXIT), now=2.0)
    old = as_before_decomposition(driver.ctx)
    assert old.last_trade is not None
    # A record closed before records named their task and cycle.
    restored = Driver(old.evolve(last_trade=replace(old.last_trade, task_id="", cycle=0)))
    restored.send(FundingPayment(2.0, -1.25, "L2"))  # settled at the exit, reported after
    [amended] = of(TradeAmended, restored.commands)
    [funding] = of(FundingRecord, restored.commands)
    assert (amended.trade.task_id, amended.trade.cycle) == ("t1", 1)
    assert (funding.task_id, funding.cycle) == ("t1", 1)
    assert restored.ctx.last_trade == amended.trade


def dust_short_at_rest() -> Driver:
    """A task at rest after a cycle, holding a futures short of dust (less than the
    futures venue's 10 contracts)."""
    rules = LegRules(
        VenueRules(qty_step=0.0001, min_notional=10.0),
        VenueRules(contract_size=0.0001, min_contracts=10),
    )
    driver = Driver(new_context("t1", BTC, now=0.0, base_position_size_usdt=50_000.0, rules=rules))
    driver.fill_all(driver.quotes(1.0, ENTRY), now=1.0)
    driver.fill_all(driver.quotes(2.0, EXIT), now=2.0)
    ctx = driver.ctx.evolve(positions__futures__qty=0.0005, positions__futures__avg_price=49_750.0)
    assert ctx.state is S.MONITORING and not holds_position(ctx)
    driver.ctx = ctx
    return driver


def test_a_venue_reduction_at_rest_is_carried_into_the_next_cycles_record():
    driver = dust_short_at_rest()
    before = driver.ctx.realized_pnl_usdt
    driver.send(VenuePositionChanged(3.0, Leg.FUTURES, BTC, 0.0005, 0.0, 49_900.0, "adl"))
    reduction = driver.ctx.realized_pnl_usdt - before
    assert reduction == pytest.approx(0.0005 * (49_750.0 - 49_900.0))
    [venue] = [r for r in of(FillRecord, driver.commands) if r.role == "venue"]
    assert (venue.role, venue.cycle, venue.trade_id) == ("venue", 2, "t1-venue-1")
    # At rest, no cycle record holds it yet: /status shows it.
    assert unattributed_pnl_usdt(driver.ctx) == pytest.approx(reduction)
    driver.fill_all(driver.quotes(400.0, ENTRY), now=400.0)
    assert unattributed_pnl_usdt(driver.ctx) == 0.0  # the cycle under way holds it
    driver.fill_all(driver.quotes(401.0, EXIT), now=401.0)
    [first, second] = [c.trade for c in of(TradeClosed, driver.commands)]
    assert second.cycle == 2 and second.exit_futures_price == 49_650.0
    assert second.decomposed_usdt == pytest.approx(second.pnl_usdt, abs=1e-9)
    assert driver.ctx.realized_pnl_usdt == pytest.approx(first.pnl_usdt + second.pnl_usdt, abs=1e-9)
    assert unattributed_pnl_usdt(driver.ctx) == 0.0


def test_what_a_task_stopped_at_rest_carries_stays_unattributed():
    driver = dust_short_at_rest()
    driver.send(VenuePositionChanged(3.0, Leg.FUTURES, BTC, 0.0005, 0.0, 49_900.0, "adl"))
    driver.send(OperatorCommand(4.0, OperatorAction.STOP))
    assert driver.ctx.state is S.STOPPED
    [first] = [c.trade for c in of(TradeClosed, driver.commands)]
    assert driver.ctx.realized_pnl_usdt == pytest.approx(
        first.pnl_usdt + unattributed_pnl_usdt(driver.ctx), abs=1e-9
    )
    assert unattributed_pnl_usdt(driver.ctx) == pytest.approx(0.0005 * (49_750.0 - 49_900.0))
