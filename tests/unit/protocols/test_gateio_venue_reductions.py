"""Gate.io's pushes of a position the venue reduced by itself (``futures.liquidates``,
``futures.auto_deleverages``) read as one venue-neutral event, on the documentation's
sample messages and on what the simulated venue sends."""

from __future__ import annotations

import msgspec
import pytest

from protocols import gateio, gateio_encode, gateio_rest
from protocols.model import Symbol
from protocols.venue import FuturesPosition, MalformedMessage, PositionReducedByVenue

BTC_USD = Symbol("BTC", "USD")
SIZES = {BTC_USD: 0.001}

LIQUIDATES_SAMPLE = b"""{
  "channel": "futures.liquidates",
  "event": "update",
  "time": 1541505434,
  "time_ms": 1541505434123,
  "result": [
    {
      "entry_price": 209,
      "fill_price": 215.1,
      "left": 0,
      "leverage": 0.0,
      "liq_price": 213,
      "margin": 0.007816722941,
      "mark_price": 213,
      "order_id": 4093362,
      "order_price": 215.1,
      "size": -124,
      "time": 1541486601,
      "time_ms": 1541486601123,
      "contract": "BTC_USD",
      "user": "1040xxxx"
    }
  ]
}"""

AUTO_DELEVERAGES_SAMPLE = b"""{
  "channel": "futures.auto_deleverages",
  "event": "update",
  "time": 1541505434,
  "time_ms": 1541505434123,
  "result": [
    {
      "entry_price": 209,
      "fill_price": 215.1,
      "position_size": 10,
      "trade_size": 10,
      "time": 1541486601,
      "time_ms": 1541486601123,
      "contract": "BTC_USD",
      "user": "1040"
    }
  ]
}"""


def test_the_documented_liquidation_reads_as_the_short_closed_at_the_fill_price():
    [event] = gateio.decode_frame(LIQUIDATES_SAMPLE, 1541505435.0, SIZES)
    assert event == PositionReducedByVenue(
        BTC_USD, pytest.approx(0.124), 215.1, "liquidation", 1541486601.123
    )


def test_the_documented_auto_deleveraging_reads_as_the_long_it_left_reduced():
    [event] = gateio.decode_frame(AUTO_DELEVERAGES_SAMPLE, 1541505435.0, SIZES)
    # 10 contracts are left long: it was a long the venue sold 10 contracts of.
    assert event == PositionReducedByVenue(
        BTC_USD, pytest.approx(-0.01), 215.1, "auto_deleveraging", 1541486601.123
    )


@pytest.mark.parametrize(
    ("trade_size", "position_size", "closed"),
    [(4, -6, 0.004), (-4, 6, -0.004), (4, 0, 0.004), (-4, 0, -0.004), (-4, -6, 0.004)],
)
def test_which_side_was_deleveraged_comes_from_what_is_left_else_from_the_trade(
    trade_size, position_size, closed
):
    item = gateio_encode.AutoDeleverageFigures(
        1_700_000_000.5, "BTC_USD", "10001", 7, 3.0, 60_000.0, 61_000.0, trade_size, position_size
    )
    frame = gateio_encode.auto_deleverages_push([item], 1_700_000_001.0)
    [event] = gateio.decode_frame(frame, 1_700_000_001.0, SIZES)
    assert (event.qty, event.price, event.ts) == (pytest.approx(closed), 61_000.0, 1_700_000_000.5)


def test_what_a_liquidation_order_left_was_not_closed():
    item = gateio_encode.LiquidateFigures(
        1_700_000_000.0, "BTC_USD", "10001", 20.0, 50, 150.0, 60_000.0, 57_300.0, 57_290.0,
        8, 57_000.0, 57_000.0, left=20,
    )  # fmt: skip
    frame = gateio_encode.liquidates_push([item], 1_700_000_000.0)
    [event] = gateio.decode_frame(frame, 1_700_000_000.0, SIZES)
    assert (event.qty, event.cause) == (pytest.approx(-0.03), "liquidation")
    assert msgspec.json.decode(frame)["result"][0]["user"] == "10001"


def test_a_liquidation_push_missing_its_fill_price_is_named():
    broken = LIQUIDATES_SAMPLE.replace(b'"fill_price": 215.1,', b"")
    [event] = gateio.decode_frame(broken, 1541505435.0, SIZES)
    assert isinstance(event, MalformedMessage)
    assert "fill_price" in event.reason


def test_a_position_carries_its_tiers_maintenance_rate_and_risk_limit_both_ways():
    documented = (
        b'{"user":10000,"contract":"BTC_USDT","size":-9440,"leverage":"5","risk_limit":"100",'
        b'"leverage_max":"100","maintenance_rate":"0.005","value":"3568.62","margin":"4.43",'
        b'"entry_price":"3779.55","liq_price":"99999999","mark_price":"3780.32",'
        b'"unrealised_pnl":"-0.000507486844","realised_pnl":"0.045543982432","pnl_fund":"0",'
        b'"adl_ranking":5,"mode":"single","cross_leverage_limit":"10"}'
    )
    btc = Symbol("BTC", "USDT")
    read = gateio_rest.parse_position(documented, 0.0001)
    assert (read.maintenance_rate, read.risk_limit, read.mark_price) == (0.005, 100.0, 3780.32)
    held = FuturesPosition(
        btc, -0.5, 60_000.0, 60_100.0, 3.0, liq_price=79_600.0, maintenance_rate=0.01,
        risk_limit=2_000_000.0,
    )  # fmt: skip
    assert gateio_rest.parse_position(gateio_encode.position_body(held, 0.0001), 0.0001) == held
    push = gateio_encode.positions_push([held], 0.0001, 1_700_000_000.0)
    assert gateio.decode_frame(push, 1_700_000_000.0, {btc: 0.0001}) == (held,)
