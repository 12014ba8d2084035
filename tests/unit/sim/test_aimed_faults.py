"""Faults aimed at order placements, on trio's MockClock: what an order is (an entry's
first or second leg, an exit, a correction), which fault it meets, and deadlines."""

from __future__ import annotations

import pytest
import trio

from actors.sim.aimed_faults import (
    PAIR_WINDOW_S,
    AimedFault,
    AimedFaults,
    Arrival,
    OrderFault,
    OrderFaultKind,
    OrderTarget,
    Role,
)
from protocols.client_ids import client_order_id
from protocols.model import Leg, Side, Symbol
from protocols.venue import InsufficientBalance

BUY, SELL = Side.BUY, Side.SELL
BTC, SOL = Symbol("BTC", "USDT"), Symbol("SOL", "USDT")
REJECT = OrderFault(OrderFaultKind.REJECT, error=InsufficientBalance)


def cid(seq: int, leg: Leg, task: str = "btc_1") -> str:
    return client_order_id(task, seq, leg, "ab12")


async def meet_all(aimed: AimedFaults, *orders: tuple, land: bool = True) -> dict[str, str]:
    """Each ``(delay, venue, client id, side[, symbol])`` placed ``delay`` after the
    start, concurrently (the symbol BTC unless given); what each met (``""``: nothing),
    with the fault's target. With ``land`` each fault met had its effect, and hit."""
    met: dict[str, str] = {}

    async def place(
        delay: float, venue: str, client_id: str, side: Side, symbol: Symbol = BTC
    ) -> None:
        await trio.sleep(delay)
        meeting = await aimed.meet(venue, client_id, side, symbol)
        if meeting is not None and land:
            meeting.land()
        met[client_id] = "" if meeting is None else meeting.aimed.target.describe()

    async with trio.open_nursery() as nursery:
        for order in orders:
            nursery.start_soon(place, *order)
    return met


def entry(seq: int, spot_first: bool = True, task: str = "btc_1"):
    spot = (0.0 if spot_first else 0.01, "mexc", cid(seq, Leg.SPOT, task), BUY)
    futures = (0.01 if spot_first else 0.0, "gateio", cid(seq + 1, Leg.FUTURES, task), SELL)
    return spot, futures


async def test_an_entry_has_a_first_and_a_second_leg_and_each_meets_its_fault(autojump_clock):
    aimed = AimedFaults()
    first = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 10.0)
    second = aimed.arm(OrderTarget("gateio", Role.ENTRY, Arrival.SECOND), REJECT, 10.0)
    met = await meet_all(aimed, *entry(1))
    assert met == {
        cid(1, Leg.SPOT): "entry first leg at mexc",
        cid(2, Leg.FUTURES): "entry second leg at gateio",
    }
    assert (first.hit.role, first.hit.arrival) == (Role.ENTRY, Arrival.FIRST)
    assert first.hit.client_id == cid(1, Leg.SPOT) and first.hit.venue == "mexc"
    assert (second.hit.role, second.hit.arrival) == (Role.ENTRY, Arrival.SECOND)
    assert await first.outcome() == first.hit and not first.open


async def test_the_leg_arriving_first_is_held_for_a_fault_that_wants_it_second(autojump_clock):
    aimed = AimedFaults()
    wanted = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.SECOND), REJECT, 10.0)
    # The spot leg arrives 0.2 s before the futures leg: it waits for it, then goes second.
    start = trio.current_time()
    spot, futures = entry(1)
    met = await meet_all(aimed, spot, (0.2, *futures[1:]))
    assert met[cid(1, Leg.SPOT)] == "entry second leg at mexc"
    assert wanted.hit is not None and wanted.hit.after_s == pytest.approx(0.2)
    assert trio.current_time() - start == pytest.approx(0.2)


async def test_a_fault_at_another_pairs_venue_has_no_say_in_which_leg_goes_first(
    autojump_clock,
):
    # BTC trades at MEXC and Gate.io, SOL at Binance and Gate.io. The oldest fault wants
    # MEXC's entry leg first (spot legs not held); SOL's spot leg never reaches MEXC, so
    # the fault at Binance, which wants its leg second, says how SOL's entry arrives.
    def sol_entry(task: str) -> tuple[tuple, tuple]:
        spot = (0.0, "binance", cid(1, Leg.SPOT, task), BUY, SOL)
        return spot, (0.01, "gateio", cid(2, Leg.FUTURES, task), SELL, SOL)

    def armed(aimed: AimedFaults) -> tuple[AimedFault, AimedFault]:
        at_mexc = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 10.0)
        return at_mexc, aimed.arm(OrderTarget("binance", Role.ENTRY, Arrival.SECOND), REJECT, 10.0)

    aimed = AimedFaults({BTC: ("mexc", "gateio"), SOL: ("binance", "gateio")}.__getitem__)
    at_mexc, at_binance = armed(aimed)
    met = await meet_all(aimed, *sol_entry("sol_1"))
    assert met[cid(1, Leg.SPOT, "sol_1")] == "entry second leg at binance"
    assert at_binance.hit is not None and at_mexc.hit is None and at_mexc.open
    # Told no pairs, the oldest fault decides, and Binance's waits in vain.
    aimed = AimedFaults()
    _, at_binance = armed(aimed)
    assert set((await meet_all(aimed, *sol_entry("sol_2"))).values()) == {""}
    assert at_binance.hit is None


async def test_an_exit_is_the_closing_pair(autojump_clock):
    aimed = AimedFaults()
    entry_fault = aimed.arm(OrderTarget("gateio", Role.ENTRY, None), REJECT, 10.0)
    exit_fault = aimed.arm(OrderTarget("gateio", Role.EXIT), REJECT, 10.0)
    await meet_all(aimed, (0.0, "mexc", cid(5, Leg.SPOT), SELL))
    await meet_all(aimed, (0.0, "gateio", cid(6, Leg.FUTURES), BUY))
    assert exit_fault.hit is not None and exit_fault.hit.role is Role.EXIT
    assert exit_fault.hit.arrival is Arrival.SECOND
    assert entry_fault.open


async def test_a_lone_order_is_a_correction_and_meets_no_entry_fault(autojump_clock):
    aimed = AimedFaults()
    entry_fault = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 10.0)
    start = trio.current_time()
    # Finishing a lagging spot leg buys like an entry, but no futures leg follows it.
    assert await aimed.meet("mexc", cid(3, Leg.SPOT), BUY, BTC) is None
    assert trio.current_time() - start == pytest.approx(PAIR_WINDOW_S)  # held for a partner
    correction = aimed.arm(OrderTarget("mexc", Role.CORRECTION), REJECT, 10.0)
    meeting = await aimed.meet("mexc", cid(4, Leg.SPOT), BUY, BTC)
    assert meeting is not None and meeting.aimed is correction
    meeting.land()
    assert correction.hit is not None and correction.hit.role is Role.CORRECTION
    assert entry_fault.open


async def test_an_order_whose_partner_came_a_round_earlier_is_a_correction_at_once(
    autojump_clock,
):
    aimed = AimedFaults()
    correction = aimed.arm(OrderTarget("gateio", Role.CORRECTION), REJECT, 10.0)
    await aimed.meet("mexc", cid(1, Leg.SPOT), BUY, BTC)
    await trio.sleep(3.0)
    start = trio.current_time()
    meeting = await aimed.meet("gateio", cid(2, Leg.FUTURES), SELL, BTC)
    assert meeting is not None and meeting.aimed is correction
    assert trio.current_time() == start


async def test_orders_no_fault_could_meet_are_never_held(autojump_clock):
    aimed = AimedFaults()
    aimed.arm(OrderTarget("gateio", Role.EXIT), REJECT, 10.0)
    start = trio.current_time()
    assert await aimed.meet("mexc", cid(1, Leg.SPOT), BUY, BTC) is None
    assert await aimed.meet("mexc", "web-order", BUY, BTC) is None  # not Basis's
    assert trio.current_time() == start


async def test_a_fault_expires_unmet_at_its_deadline(autojump_clock):
    aimed = AimedFaults()
    fault = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 5.0)
    start = trio.current_time()
    assert await fault.outcome() is None
    assert trio.current_time() - start == pytest.approx(5.0)
    met = await meet_all(aimed, *entry(1))
    assert set(met.values()) == {""} and fault.hit is None and aimed.armed == []


async def test_faults_for_one_target_meet_one_order_each_oldest_first(autojump_clock):
    aimed = AimedFaults()
    target = OrderTarget("mexc", Role.ENTRY, Arrival.FIRST)
    older, newer = aimed.arm(target, REJECT, 30.0), aimed.arm(target, REJECT, 30.0)
    await meet_all(aimed, *entry(1))
    assert older.hit is not None and newer.open
    await trio.sleep(5.0)
    await meet_all(aimed, *entry(1, task="eth_1"))
    assert newer.hit is not None and newer.hit.client_id == cid(1, Leg.SPOT, "eth_1")
    assert newer.hit.after_s == pytest.approx(5.0, abs=0.1)


async def test_an_order_sent_again_keeps_what_it_was(autojump_clock):
    aimed = AimedFaults()
    await meet_all(aimed, *entry(1))
    await trio.sleep(1.0)  # the futures leg answered 429, and goes again
    second = aimed.arm(OrderTarget("gateio", Role.ENTRY, Arrival.SECOND), REJECT, 10.0)
    meeting = await aimed.meet("gateio", cid(2, Leg.FUTURES), SELL, BTC)
    assert meeting is not None and meeting.aimed is second


async def test_cleared_faults_meet_nothing(autojump_clock):
    aimed = AimedFaults()
    fault = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 10.0)
    aimed.clear()
    await meet_all(aimed, *entry(1))
    assert await fault.outcome() is None


def test_targets_and_faults_refuse_what_cannot_be():
    with pytest.raises(ValueError, match="no first or second leg"):
        OrderTarget("mexc", Role.CORRECTION, Arrival.FIRST)
    with pytest.raises(ValueError, match="needs the error"):
        OrderFault(OrderFaultKind.REJECT)
    with pytest.raises(ValueError, match="fraction"):
        OrderFault(OrderFaultKind.PARTIAL_FILL, fraction=1.0)


async def test_a_fault_met_but_not_landed_stays_armed_for_the_next_matching_order(
    autojump_clock,
):
    aimed = AimedFaults()
    fault = aimed.arm(OrderTarget("mexc", Role.ENTRY, Arrival.FIRST), REJECT, 10.0)
    met = await meet_all(aimed, *entry(1), land=False)
    assert met[cid(1, Leg.SPOT)] == "entry first leg at mexc"
    assert fault.open and fault.hit is None  # its effect did not happen: no hit
    met = await meet_all(aimed, *entry(3))
    assert met[cid(3, Leg.SPOT)] == "entry first leg at mexc"
    assert fault.hit is not None and fault.hit.client_id == cid(3, Leg.SPOT)
