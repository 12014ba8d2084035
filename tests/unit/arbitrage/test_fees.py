"""Fees as the venue charged them: a commission in the base coin leaves less held, the
exit sells what is held, and what is left below the step is dust, not an imbalance."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageState
from actors.arbitrage.machine import leg_after_fill
from protocols.messages import OperatorAction, OperatorCommand, TradeClosed
from protocols.model import Fill, Leg, LegPosition, Side
from protocols.rules import round_down
from tests.unit.arbitrage.harness import ENTRY, PROFIT, Driver, placed

S = ArbitrageState
STEP = 0.0001


def fill(driver: Driver, order, price: float, fee_usdt: float, commission=0.0, asset=""):
    driver.send(
        Fill(order.client_id, f"T-{order.client_id}", order.qty, price, fee_usdt, 1.0,
             commission, asset)
    )  # fmt: skip
    return driver.final(order, order.qty)


def test_a_buy_whose_fee_came_out_of_the_coin_holds_less_and_the_exit_sells_that():
    driver = Driver()
    buy, short = placed(driver.quotes(1.0, ENTRY))
    commission = buy.qty * 0.0005  # in BTC
    fill(driver, buy, buy.price, commission * buy.price, commission, "BTC")
    fill(driver, short, short.price, short.qty * short.price * 0.0005, 0.0005, "USDT")
    ctx = driver.ctx
    # Short 1 BTC against 0.9995 held: 25 USDT apart, less than either venue takes.
    assert ctx.state is S.POSITION_OPEN
    assert ctx.positions.spot.qty == pytest.approx(buy.qty - commission)
    assert ctx.positions.spot.avg_price == buy.price
    sell, cover = placed(driver.quotes(2.0, PROFIT))
    assert (sell.leg, sell.side) == (Leg.SPOT, Side.SELL)
    assert sell.qty == pytest.approx(round_down(buy.qty - commission, STEP))
    assert cover.qty == short.qty
    fill(driver, sell, sell.price, sell.qty * sell.price * 0.0005)
    out = fill(driver, cover, cover.price, cover.qty * cover.price * 0.0005)
    [trade] = [c.trade for c in out if isinstance(c, TradeClosed)]
    dust = buy.qty - commission - sell.qty
    assert driver.ctx.state is S.MONITORING
    assert trade.spot_dust_qty == pytest.approx(dust)
    assert driver.ctx.positions.spot.qty == pytest.approx(dust)


def test_a_fill_of_no_quantity_corrects_the_fee_and_takes_the_base_commission():
    driver = Driver()
    buy, _ = placed(driver.quotes(1.0, ENTRY))
    driver.send(Fill(buy.client_id, "est", buy.qty, buy.price, 25.0, 1.0))
    driver.send(Fill(buy.client_id, "T1-fee", 0.0, buy.price, -5.0, 1.1, 0.0004, "BTC"))
    ctx = driver.ctx
    assert ctx.positions.spot.qty == pytest.approx(buy.qty - 0.0004)
    assert ctx.positions.spot.avg_price == buy.price
    assert ctx.cycle.fees_usdt == pytest.approx(20.0)
    assert ctx.realized_pnl_usdt == pytest.approx(-20.0)


@given(
    qty_steps=st.integers(1, 100_000),
    entry=st.floats(100.0, 100_000.0),
    exit_move=st.floats(-0.2, 0.2),
    rate=st.floats(0.0, 0.01),
)
def test_pnl_is_the_cash_the_fills_moved_plus_the_dust_held_at_its_cost(
    qty_steps, entry, exit_move, rate
):
    # A spot buy charged in the base coin, then the sale of what is held (down to the
    # step) charged in USDT: the P&L booked is what the account's USDT moved plus the
    # dust it still holds at what that cost.
    qty = qty_steps * STEP
    commission = qty * rate
    exit_price = entry * (1.0 + exit_move)
    bought, paid = leg_after_fill(
        LegPosition(), True, qty, entry, commission * entry, True, commission
    )
    assert bought.qty == pytest.approx(qty - commission, rel=1e-12, abs=1e-15)
    sold = round_down(bought.qty, STEP)
    sell_fee = sold * exit_price * rate
    after, gained = leg_after_fill(bought, False, sold, exit_price, sell_fee, True)
    cash = -qty * entry + sold * exit_price - sell_fee
    assert -1e-12 < after.qty < STEP
    assert paid + gained == pytest.approx(cash + after.qty * after.avg_price, rel=1e-9, abs=1e-6)
    assert after.fees == pytest.approx(commission * entry + sell_fee)


@given(
    rate=st.floats(0.0002, 0.002),
    sold_share=st.floats(0.1, 0.9),
    trim=st.booleans(),
)
def test_a_correcting_spot_sell_never_sells_more_than_the_leg_holds(rate, sold_share, trim):
    # The legs' delta counts the base coin the fees took; a sell sized from it would
    # exceed the balance and the venue would refuse it on every attempt.
    driver = Driver()
    buy, short = placed(driver.quotes(1.0, ENTRY))
    commission = buy.qty * rate
    fill(driver, buy, buy.price, commission * buy.price, commission, "BTC")
    if trim:  # an entry whose short was refused: the spot leg is trimmed, alternately
        driver.reject(short)
        driver.reject(placed(driver.quotes(2.0, ENTRY))[0])
    else:  # an exit whose spot sell half-filled: the rest of the spot leg is sold
        fill(driver, short, short.price, 0.0)
        driver.send(OperatorCommand(1.5, OperatorAction.CLOSE_POSITION))
        sell, cover = placed(driver.quotes(2.0, PROFIT))
        sold = round_down(sell.qty * sold_share, STEP)
        driver.fill(sell, sold)
        driver.final(sell, sold)
        fill(driver, cover, cover.price, 0.0)
    assert driver.ctx.state is S.IMBALANCED
    held = driver.ctx.positions.spot.qty
    (correction,) = placed(driver.quotes(3.0, PROFIT if not trim else ENTRY))
    assert (correction.leg, correction.side) == (Leg.SPOT, Side.SELL)
    assert correction.qty <= held + 1e-12  # what rounding to the step leaves of float error
    assert correction.qty == pytest.approx(round_down(held, STEP))
