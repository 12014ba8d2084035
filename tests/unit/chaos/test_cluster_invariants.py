"""The cluster's invariants on made-up grants, placements and journals: each passes what
it should and names what broke when it fails."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.chaos import cluster_invariants as ci
from actors.chaos.cluster_invariants import (
    FaultAt,
    LeaseGrant,
    NodeExit,
    Placement,
    SettleCheck,
    TaskRow,
    TradingSighting,
    WrittenOrder,
)
from actors.sim.ledger import OrderAccepted, OrderRefused
from actors.sim.records import VenueOrder
from protocols.client_ids import client_order_id, epoch_tag
from protocols.model import Leg, OrderStatus, OrderType, Side, Symbol, TimeInForce

BTC = "BTC/USDT"
ETH = "ETH/USDT"


def cid(epoch: int, seq: int = 1, leg: Leg = Leg.SPOT, task: str = "btc_1") -> str:
    return client_order_id(task, seq, leg, epoch_tag(epoch))


def placed(epoch: int, at: float, symbol: str = BTC, seq: int = 1) -> Placement:
    return Placement("mexc", cid(epoch, seq), symbol, at)


GRANTS = [
    LeaseGrant(1, BTC, "node-1", 10.0, 20.0),
    LeaseGrant(2, ETH, "node-2", 10.0, None),
    LeaseGrant(3, BTC, "node-3", 24.0, None),
]


# ------------------------------------------------------------ placements


def test_placements_are_read_from_both_ledgers_with_gateios_prefix_taken_off():
    def order(venue: str, client_id: str, ts: float) -> VenueOrder:
        return VenueOrder(
            venue, "v1", client_id, Symbol("BTC", "USDT"), Side.BUY, OrderType.LIMIT,
            TimeInForce.IOC, 0.01, 50_000.0, OrderStatus.NEW, 0.0, 0.0, 0.0, ts, ts,
        )  # fmt: skip

    refused = OrderRefused(
        3, 5.0, Symbol("BTC", "USDT"), Side.SELL, 1.0, None, f"t-{cid(3, 2, Leg.FUTURES)}",
        "InsufficientBalance", "no",
    )  # fmt: skip
    ledgers = {
        "mexc": [OrderAccepted(1, order("mexc", cid(1), 2.0))],
        "gateio": [OrderAccepted(2, order("gateio", f"t-{cid(3, 2, Leg.FUTURES)}", 1.0)), refused],
    }
    found = ci.placements(ledgers)
    assert [(p.venue, p.client_id, p.at) for p in found] == [
        ("gateio", cid(3, 2, Leg.FUTURES), 1.0),
        ("mexc", cid(1), 2.0),
        ("gateio", cid(3, 2, Leg.FUTURES), 5.0),
    ]
    assert ci.epoch_of(cid(1295)) == 1295 and ci.epoch_of("btc_1-1s") is None


def test_placements_are_counted_by_the_instance_whose_grant_they_carry():
    found = [placed(1, 11.0), placed(1, 12.0), placed(3, 25.0), placed(9, 30.0)]
    assert ci.placements_by_holder(found, GRANTS) == {"?": 1, "node-1": 2, "node-3": 1}


# ------------------------------------------------------- one holder at a time


def test_placements_inside_their_grants_pass():
    found = [placed(1, 10.5), placed(1, 19.9), placed(2, 15.0, ETH), placed(3, 30.0)]
    result = ci.one_holder_at_a_time(found, GRANTS, 0.0)
    assert result.passed, result.detail
    assert "4 placements" in result.detail and "3 grants of 2 symbols" in result.detail


def test_a_placement_after_its_grant_ended_fails_even_with_nobody_else_trading():
    # node-1's lease ended at 20; nobody held BTC until 24; node-1 placed at 21.
    result = ci.one_holder_at_a_time([placed(1, 21.0)], GRANTS, 0.0)
    assert not result.passed
    assert "1.000 s after its grant ended (epoch 1, node-1)" in result.detail


def test_the_clocks_slack_covers_a_placement_on_the_edge_only():
    assert ci.one_holder_at_a_time([placed(1, 20.004)], GRANTS, 0.005).passed
    assert not ci.one_holder_at_a_time([placed(1, 20.006)], GRANTS, 0.005).passed


def test_a_placement_before_its_grant_under_another_symbols_or_no_epoch_fails():
    found = [
        placed(3, 23.0),
        placed(2, 15.0, BTC),
        Placement("mexc", "btc_1-1s", BTC, 15.0),
        placed(7, 15.0),
    ]
    result = ci.one_holder_at_a_time(found, GRANTS, 0.0)
    assert not result.passed and result.detail.startswith("4 of 4 placements outside")
    assert "1.000 s before its grant" in result.detail
    assert "epoch 2 is a grant of ETH/USDT" in result.detail
    assert "btc_1-1s (BTC/USDT at mexc) carries no epoch" in result.detail


def test_overlapping_grants_of_one_symbol_fail():
    grants = [*GRANTS, LeaseGrant(4, ETH, "node-3", 12.0, None)]
    result = ci.one_holder_at_a_time([], grants, 0.0)
    assert not result.passed
    assert "epoch 2 (node-2) never ended when epoch 4 (node-3) was granted" in result.detail
    ran_on = [LeaseGrant(1, BTC, "a", 0.0, 5.0), LeaseGrant(2, BTC, "b", 4.0, None)]
    assert "epoch 1 (a) ran on when epoch 2 (b)" in ci.one_holder_at_a_time([], ran_on, 0).detail


@st.composite
def a_symbols_life(draw):
    """Grants of one symbol, back to back or with gaps, and placements inside each."""
    grants, found = [], []
    at = 0.0
    count = draw(st.integers(1, 6))
    for epoch in range(1, count + 1):
        at += draw(st.floats(0.0, 5.0))
        length = draw(st.floats(0.01, 20.0))
        last = epoch == count and draw(st.booleans())
        grants.append(
            LeaseGrant(epoch, BTC, f"node-{epoch % 3}", at, None if last else at + length)
        )
        for share in draw(st.lists(st.floats(0.0, 1.0), max_size=4)):
            found.append(placed(epoch, at + share * length, seq=len(found)))
        at += length
    return grants, found


@given(a_symbols_life(), st.floats(0.001, 10.0))
def test_placements_inside_back_to_back_grants_pass_and_one_moved_past_its_end_fails(life, late):
    grants, found = life
    assert ci.one_holder_at_a_time(found, grants, 0.0).passed
    ended = [g for g in grants if g.ended_at is not None]
    if ended:
        grant = ended[0]
        assert grant.ended_at is not None
        stale = placed(grant.epoch, grant.ended_at + late, seq=999)
        assert not ci.one_holder_at_a_time([*found, stale], grants, 0.0).passed


# ---------------------------------------------------------------- failover


def test_a_killed_instances_symbols_are_followed_to_their_next_grant_and_first_decision():
    grants = [
        LeaseGrant(1, BTC, "node-1", 0.0, 14.0),
        LeaseGrant(2, ETH, "node-1", 0.0, 13.5),
        LeaseGrant(3, ETH, "node-2", 13.5, None),
        LeaseGrant(4, BTC, "node-3", 14.0, None),
    ]
    sightings = [
        TradingSighting(BTC, 1, "node-1", 1.0),  # the old grant's: not a takeover
        TradingSighting(ETH, 3, "node-2", 15.0),
        TradingSighting(BTC, 4, "node-3", 16.5),
        TradingSighting(BTC, 4, "node-3", 18.0),
    ]
    found = ci.failovers([FaultAt("kill", "node-1", 10.0)], grants, sightings, 0.0)
    taken = [
        (f.symbol, f.new_epoch, f.new_holder, f.granted_after_s, f.trading_after_s) for f in found
    ]
    assert taken == [(BTC, 4, "node-3", 4.0, 6.5), (ETH, 3, "node-2", 3.5, 5.0)]
    result = ci.failover_bounded([FaultAt("kill", "node-1", 10.0)], found, 9.0)
    assert result.passed and "trading again p50 5.00 s, max 6.50 s" in result.detail


def test_a_symbol_never_granted_again_or_late_or_never_traded_fails():
    fault = FaultAt("freeze", "node-1", 10.0)
    grants = [
        LeaseGrant(1, BTC, "node-1", 0.0, None),
        LeaseGrant(2, ETH, "node-1", 0.0, 21.0),
        LeaseGrant(3, ETH, "node-2", 21.0, None),
    ]
    found = ci.failovers([fault], grants, [TradingSighting(ETH, 3, "node-2", 22.0)], 0.0)
    result = ci.failover_bounded([fault], found, 9.0)
    assert not result.passed
    assert "BTC/USDT of node-1 (freeze, epoch 1) never granted again" in result.detail
    assert "ETH/USDT of node-1 (freeze, epoch 2) granted again after 11.00 s" in result.detail
    found = ci.failovers([fault], grants[1:], [], 0.0)
    assert "granted again, never traded after" in ci.failover_bounded([fault], found, 20).detail


def test_a_decision_seen_before_the_new_grant_is_not_its_trading():
    # node-2 held ETH before (epoch 1), lost it, got it back under epoch 3: the time it
    # last resumed deciding, shown from before the grant, is not the takeover's.
    grants = [
        LeaseGrant(2, ETH, "node-1", 5.0, 14.0),
        LeaseGrant(3, ETH, "node-2", 14.0, None),
    ]
    stale = TradingSighting(ETH, 3, "node-2", 4.0)
    found = ci.failovers([FaultAt("cut", "node-1", 10.0)], grants, [stale], 0.0)
    assert found[0].trading_after_s is None


def test_faults_that_met_no_held_symbol_test_nothing():
    fault = FaultAt("cut", "node-3", 10.0)
    found = ci.failovers([fault], GRANTS, [], 0.0)
    assert found == []
    assert not ci.failover_bounded([fault], found, 9.0).passed
    assert ci.failover_bounded([], [], 9.0).passed


# ------------------------------------------------------------- stale writes


def test_orders_written_inside_their_grants_and_tasks_under_one_pass():
    orders = [WrittenOrder(cid(1), BTC, 1, 19.0), WrittenOrder(cid(3, 2), BTC, 3, 30.0)]
    tasks = [TaskRow("btc_1", BTC, 3), TaskRow("eth_1", ETH, 2)]
    result = ci.no_stale_writes(orders, tasks, GRANTS)
    assert result.passed, result.detail
    assert result.detail.startswith("2 journaled orders")


def test_a_write_from_a_stale_epoch_or_without_one_fails():
    orders = [
        WrittenOrder(cid(1), BTC, 1, 20.5),
        WrittenOrder(cid(1, 2), BTC, None, 12.0),
        WrittenOrder(cid(2, 3), BTC, 2, 12.0),
    ]
    tasks = [TaskRow("btc_1", BTC, None), TaskRow("eth_1", ETH, 3)]
    result = ci.no_stale_writes(orders, tasks, GRANTS)
    assert not result.passed and result.detail.startswith("5 stale write(s)")
    assert "written 0.500 s after its grant ended (epoch 1, node-1)" in result.detail
    detail = ci.no_stale_writes([], tasks, GRANTS).detail
    assert "task btc_1 (BTC/USDT) written without an epoch" in detail
    assert "task eth_1 (ETH/USDT): epoch 3 is no grant of ETH/USDT" in detail


# ----------------------------------------------------- settling and processes


def test_each_fault_must_be_followed_by_a_settled_cluster():
    settled = [SettleCheck("kill node-1", 1.0, 3.5, ""), SettleCheck("cut node-2", 2.0, 1.5, "")]
    assert ci.cluster_settled(settled, 30.0).passed
    unsettled = [*settled, SettleCheck("freeze node-3", 3.0, None, "BTC/USDT held by none")]
    result = ci.cluster_settled(unsettled, 30.0)
    assert not result.passed and "after freeze node-3: BTC/USDT held by none" in result.detail
    assert not ci.cluster_settled([], 30.0).passed


def test_an_instance_that_ended_by_itself_gave_up_or_stopped_uncleanly_fails():
    exits = [NodeExit("node-1", 1, -9, "kill"), NodeExit("node-2", 2, 0, "stop")]
    assert ci.instances_held(exits, []).passed
    result = ci.instances_held(
        [*exits, NodeExit("node-3", 3, 1, None), NodeExit("node-1", 4, 2, "stop")],
        ["node-3: root/strategies"],
    )
    assert not result.passed
    for said in ("gave up: node-3: root/strategies", "node-3 run 3: exit 1", "node-1 run 4"):
        assert said in result.detail
