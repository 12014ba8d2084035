"""The table of state transitions: every entry is one the machine takes, the machine
takes no other, and a record in the retired ``error_recovery`` state still restores."""

from __future__ import annotations

from collections import deque

import msgspec
import pytest

from actors.arbitrage.context import (
    TRANSITIONS,
    ArbitrageContext,
    ArbitrageState,
    ForbiddenTransition,
    check_transition,
)
from actors.arbitrage.machine import step
from protocols.messages import (
    FeedHealth,
    OperatorAction,
    OperatorCommand,
    OrderFinal,
    RulesUpdate,
    VenuePositionChanged,
)
from protocols.model import Fill, Leg, LegPosition, OrderStatus, VenueRules
from tests.unit.arbitrage.harness import ENTRY, PROFIT, Driver, apply, market, placed

S = ArbitrageState
CRASH = (1.0, 1.1, 1.0, 1.1)  # a position of 1 BTC is then worth less than any venue takes
TABLE = {(before, after) for before, afters in TRANSITIONS.items() for after in afters}


def test_no_state_lists_itself_and_stopped_is_final():
    assert all(before not in afters for before, afters in TRANSITIONS.items())
    assert set(TRANSITIONS) == set(ArbitrageState)
    assert TRANSITIONS[S.STOPPED] == frozenset()


def _events(ctx: ArbitrageContext) -> list:
    """What may happen next to ``ctx``: quotes, the end of each order in flight (filled,
    half filled, unfilled), the operator, a feed going stale or fresh again, the venue
    reducing the short by itself."""
    now = 1.0  # one instant: no deadline, cooldown or max_hours passes, so states repeat
    events: list = [[market(now, *prices)] for prices in (ENTRY, PROFIT, CRASH)]
    for orders in ctx.active_orders.values():
        for order in orders.values():
            for share in (1.0, 0.5, 0.0):
                qty = order.qty * share
                fills = [Fill(order.client_id, f"{order.client_id}-x", qty, order.price, 0.0, now)]
                status = OrderStatus.FILLED if share == 1.0 else OrderStatus.EXPIRED
                final = OrderFinal(now, order.client_id, status, qty, order.price)
                events.append([*fills, final] if qty else [final])
    events += [[OperatorCommand(now, action)] for action in OperatorAction]
    events += [[FeedHealth(now, Leg.SPOT, fresh)] for fresh in (False, True)]
    held = ctx.positions.futures.qty
    if held > 0.0:  # the venue halves the short by itself
        events.append([VenuePositionChanged(now, Leg.FUTURES, ctx.symbol, held, held / 2)])
    return events


def test_every_transition_in_the_table_is_taken_by_some_sequence_of_events():
    # A breadth-first search over what may happen, from a fresh strategy that gives up
    # correcting at once and whose futures venue has a minimum order value, so that a
    # crash can leave both legs worth less than either venue takes (only then does an
    # exit close the cycle without an order). It finds every entry within ~1000 distinct
    # contexts; the bound only stops a search that would not end.
    start = Driver(max_correction_attempts=1).ctx.evolve(rules__futures__min_notional=5.0)
    seen: set[tuple[S, S]] = set()
    visited = {msgspec.json.encode(start)}
    queue = deque([start])
    while queue and seen != TABLE and len(visited) < 20_000:
        ctx = queue.popleft()
        for sequence in _events(ctx):
            reached = ctx
            for event in sequence:
                before = reached
                reached, _ = apply(before, event)
                if reached.state is not before.state:
                    seen.add((before.state, reached.state))
            key = msgspec.json.encode(reached)
            if key not in visited:
                visited.add(key)
                queue.append(reached)
    assert TABLE - seen == set()
    assert seen - TABLE == set()


def test_a_transition_outside_the_table_is_refused_by_name():
    stopped = Driver().ctx.evolve(state=S.STOPPED)
    with pytest.raises(ForbiddenTransition) as raised:
        check_transition(stopped, stopped.evolve(state=S.ENTERING), "new quotes")
    assert str(raised.value) == (
        "task t1: new quotes moved the strategy from STOPPED to ENTERING; "
        "from STOPPED it may only go to nothing: it is final"
    )


def test_the_machine_refuses_a_move_the_table_does_not_allow_instead_of_making_it():
    # A record that says STOPPED while an entry is in flight (it cannot come from the
    # machine): the entry's end would open a position, which STOPPED may not do.
    driver = Driver()
    orders = placed(driver.quotes(1.0, ENTRY))
    record = driver.ctx.evolve(state=S.STOPPED)
    for order in orders:
        record, _ = step(record, Fill(order.client_id, "x", order.qty, order.price, 0.0, 1.0))
    record, _ = step(record, OrderFinal(1.0, orders[0].client_id, OrderStatus.FILLED, 1.0, 0.0))
    last = OrderFinal(1.0, orders[1].client_id, OrderStatus.FILLED, 1.0, 0.0)
    with pytest.raises(ForbiddenTransition, match="from STOPPED to POSITION_OPEN"):
        step(record, last)


# ------------------------------------------------------- the retired error_recovery


def _restored(**changes) -> ArbitrageContext:
    """A stored record in the retired ``error_recovery`` state, decoded."""
    raw = msgspec.json.decode(msgspec.json.encode(Driver().ctx.evolve(**changes)))
    raw["state"] = "error_recovery"
    return msgspec.json.decode(msgspec.json.encode(raw), type=ArbitrageContext)


def test_an_error_recovery_record_restores_as_imbalanced_and_saves_as_such():
    ctx = _restored()
    assert ctx.state is S.IMBALANCED
    assert b'"state":"imbalanced"' in msgspec.json.encode(ctx)
    raw = msgspec.json.decode(msgspec.json.encode(ctx))
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'recovering'"):
        msgspec.json.decode(
            msgspec.json.encode(raw | {"state": "recovering"}), type=ArbitrageContext
        )


def test_a_restored_error_recovery_record_with_matching_legs_settles_on_its_first_quotes():
    held = LegPosition(1.0, 50_000.0)
    driver = Driver(_restored(positions__spot=held, positions__futures=held))
    assert driver.quotes(1.0, ENTRY) == []
    assert driver.ctx.state is S.POSITION_OPEN
    flat = Driver(_restored())
    flat.quotes(1.0, ENTRY)
    assert flat.ctx.state is S.MONITORING


def test_a_restored_error_recovery_record_with_legs_that_differ_corrects_them():
    driver = Driver(
        _restored(
            positions__spot=LegPosition(1.0, 50_000.0),
            positions__futures=LegPosition(0.4, 49_750.0),
        )
    )
    orders = placed(driver.quotes(1.0, ENTRY))
    assert [(o.leg, o.qty) for o in orders] == [(Leg.FUTURES, pytest.approx(0.6))]
    assert driver.ctx.state is S.IMBALANCED


def test_an_imbalance_the_venues_no_longer_take_is_settled_rather_than_waited_on():
    driver = Driver()
    orders = placed(driver.quotes(1.0, ENTRY))
    driver.fill(orders[0], now=1.0)
    driver.fill(orders[1], qty=0.999, now=1.0)
    driver.final(orders[0], 1.0, now=1.0)
    driver.final(orders[1], 0.999, now=1.0)
    assert driver.ctx.state is S.IMBALANCED  # 0.001 BTC, 50 USDT apart
    # Both venues now take nothing under 100 USDT: the 50 USDT cannot be corrected.
    driver.send(RulesUpdate(2.0, Leg.SPOT, VenueRules(qty_step=0.0001, min_notional=100.0)))
    driver.send(RulesUpdate(2.0, Leg.FUTURES, VenueRules(contract_size=0.002, min_contracts=1)))
    assert driver.quotes(3.0, ENTRY) == []
    assert driver.ctx.state is S.POSITION_OPEN
