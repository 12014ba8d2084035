"""The strategy context: evolve with nested paths, clear errors, lossless serialization."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.context import (
    SCHEMA_VERSION,
    TASK_TYPE,
    ArbitrageContext,
    ArbitrageParams,
    ArbitrageState,
    Opportunity,
    UnknownField,
    new_context,
)
from protocols.model import Leg, LegPosition, Order, OrderStatus, OrderType, Side, Symbol

BTC = Symbol("BTC", "USDT")


def fresh() -> ArbitrageContext:
    return new_context("btc1", BTC, now=1_700_000_000.0)


def test_evolve_sets_top_level_and_nested_fields_and_leaves_the_original_alone():
    ctx = fresh()
    evolved = ctx.evolve(arbitrage_cycles=3, positions__spot__qty=0.25)
    assert evolved.arbitrage_cycles == 3
    assert evolved.positions.spot == LegPosition(qty=0.25)
    assert evolved.positions.futures == ctx.positions.futures
    assert ctx.arbitrage_cycles == 0 and ctx.positions.spot.qty == 0.0


def test_evolve_reaches_several_levels_and_several_fields_at_once():
    ctx = fresh().evolve(
        params__max_hours=2.0,
        params__min_profit_pct=0.7,
        positions__futures__avg_price=100.0,
        positions__futures__qty=1.0,
        state=ArbitrageState.POSITION_OPEN,
    )
    assert (ctx.params.max_hours, ctx.params.min_profit_pct) == (2.0, 0.7)
    assert ctx.positions.futures == LegPosition(qty=1.0, avg_price=100.0)
    assert ctx.state is ArbitrageState.POSITION_OPEN


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arbitrage_cycle": 1}, "ArbitrageContext has no field 'arbitrage_cycle'"),
        (
            {"positons__spot__qty": 1},
            "ArbitrageContext has no field 'positons' (in 'positons__spot__qty')",
        ),
        ({"positions__spot__quantity": 1}, "LegPosition has no field 'quantity'"),
    ],
)  # fmt: skip
def test_evolve_names_an_unknown_field(changes, message):
    with pytest.raises(UnknownField) as raised:
        fresh().evolve(**changes)
    assert str(raised.value) == message


def test_evolve_refuses_to_reach_into_a_non_struct_or_to_do_both():
    with pytest.raises(TypeError, match=r"ArbitrageContext\.task_id is a str, not a struct"):
        fresh().evolve(task_id__upper="x")
    with pytest.raises(TypeError, match="both replaced and changed inside"):
        fresh().evolve(positions=fresh().positions, positions__spot__qty=1.0)


def test_new_context_validates_the_task_id():
    with pytest.raises(ValueError, match="must be 1 to 16 letters, digits or underscores"):
        new_context("has-a-dash", BTC, now=0.0)
    with pytest.raises(ValueError, match="must be 1 to 16"):
        new_context("x" * 17, BTC, now=0.0)


def test_a_full_context_round_trips_through_json_with_enums_and_nested_structs():
    order = Order(
        "btc1-7s", Leg.SPOT, BTC, Side.BUY, 0.5, 50_000.0, OrderType.LIMIT,
        status=OrderStatus.PARTIALLY_FILLED, filled_qty=0.2, avg_price=49_999.0,
        trade_ids=("a", "b"),
    )  # fmt: skip
    ctx = fresh().evolve(
        state=ArbitrageState.ENTERING,
        active_orders={"spot": {order.client_id: order}},
        current_opportunity=Opportunity(1.0, 0.4, 50_000.0, 49_800.0, 0.5),
        params=ArbitrageParams(max_loss_usdt=25.0, order_type=OrderType.MARKET),
        stale_legs=("futures",),
        funding_rate=0.0001,
    )
    raw = msgspec.json.encode(ctx)
    assert b'"state":"entering"' in raw and b'"order_type":"market"' in raw
    assert msgspec.json.decode(raw, type=ArbitrageContext) == ctx
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(ctx), type=ArbitrageContext) == ctx


def test_the_record_carries_its_task_type_and_schema_version():
    raw = msgspec.json.decode(msgspec.json.encode(fresh()))
    assert raw["task_type"] == TASK_TYPE == "spot_futures_arbitrage"
    assert raw["schema_version"] == SCHEMA_VERSION


def test_a_record_with_an_unknown_field_or_wrong_type_is_refused_by_name():
    raw = msgspec.json.decode(msgspec.json.encode(fresh()))
    with pytest.raises(msgspec.ValidationError, match="unknown field `surprise`"):
        msgspec.json.decode(msgspec.json.encode(raw | {"surprise": 1}), type=ArbitrageContext)
    with pytest.raises(
        msgspec.ValidationError, match=r"Expected `int`, got `str` - at `\$.arbitrage_cycles`"
    ):
        msgspec.json.decode(
            msgspec.json.encode(raw | {"arbitrage_cycles": "many"}), type=ArbitrageContext
        )  # fmt: skip
