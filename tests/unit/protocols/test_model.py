"""The domain model: parsing, final states, and lossless serialization."""

from __future__ import annotations

import msgspec
import pytest

from protocols.model import (
    Fill,
    Leg,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    TimeInForce,
    VenueRules,
)

BTC = Symbol("BTC", "USDT")


def test_symbol_parses_and_prints_as_base_slash_quote():
    assert Symbol.parse(" btc/usdt ") == BTC
    assert str(BTC) == "BTC/USDT"


@pytest.mark.parametrize("text", ["BTCUSDT", "BTC_USDT", "BTC/", "/USDT", "BTC/USD/T", ""])
def test_symbol_parse_names_the_expected_form(text):
    with pytest.raises(ValueError, match="is not of the form BASE/QUOTE, for example BTC/USDT"):
        Symbol.parse(text)


def test_final_statuses():
    final = {s for s in OrderStatus if s.is_final}
    assert final == {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REJECTED,
    }


@pytest.mark.parametrize(
    "value",
    [
        Order(
            "abc-1s",
            Leg.SPOT,
            BTC,
            Side.BUY,
            0.5,
            50_000.0,
            OrderType.LIMIT,
            TimeInForce.IOC,
            status=OrderStatus.PARTIALLY_FILLED,
            filled_qty=0.25,
            avg_price=49_999.5,
            fees=6.25,
            venue_order_id="V1",
            trade_ids=("t1",),
        ),
        Fill("abc-1s", "t1", 0.25, 49_999.5, 6.25, 1_700_000_000.5),
        VenueRules(qty_step=0.0001, min_qty=0.0001, min_notional=5.0, price_tick=0.01),
        Quote(BTC, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
    ],
)
def test_round_trips_through_json_and_msgpack(value):
    kind = type(value)
    assert msgspec.json.decode(msgspec.json.encode(value), type=kind) == value
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(value), type=kind) == value
