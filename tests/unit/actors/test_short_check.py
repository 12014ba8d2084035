"""The venue's short against the strategies' futures legs: our own fills, however they
race the venue's answer, are never taken for the venue moving alone; a shrink of at
least one contract that no order of ours made always is. And the watch that runs the
comparison, on trio's MockClock: a push makes a check at once, a missed push is caught
by the periodic check, and nothing is told while our orders are moving the position."""

from __future__ import annotations

import math

import attrs
import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st

from actors.runtime.orders.position_watch import PositionWatch
from actors.runtime.orders.short_check import Holding, Shrink, unexplained
from protocols.messages import VenuePositionChanged
from protocols.model import Symbol, VenueRules
from protocols.venue import FuturesPosition, PositionReducedByVenue
from supervision import Mailbox

CONTRACT = 0.1
BTC = Symbol("BTC", "USDT")


@attrs.frozen
class OurOrder:
    """One futures order of a strategy: placed, filled at the venue, and its end (fills
    included) applied by the strategy, at these times, in that order."""

    task: int
    placed: int
    at_venue: int
    applied: int
    contracts: int
    """Signed: more short when positive."""


@st.composite
def histories(draw):
    tasks = draw(st.integers(1, 2))
    initial = [draw(st.integers(0, 40)) for _ in range(tasks)]
    orders = []
    for task in range(tasks):
        t = draw(st.integers(0, 3))
        for _ in range(draw(st.integers(0, 4))):
            placed = t + draw(st.integers(0, 3))
            at_venue = placed + draw(st.integers(0, 3))
            applied = at_venue + draw(st.integers(0, 3))
            orders.append(OurOrder(task, placed, at_venue, applied, draw(st.integers(-5, 5))))
            t = applied + draw(st.integers(0, 2))  # a strategy has one futures order at once
    return initial, orders


def holdings_at(x: int, initial: list[int], orders: list[OurOrder]) -> list[Holding]:
    return [
        Holding(
            f"t{task}",
            CONTRACT
            * (short + sum(o.contracts for o in orders if o.task == task and o.applied <= x)),
            any(o.task == task and o.placed <= x < o.applied for o in orders),
            sum(1 for o in orders if o.task == task and o.placed <= x),
        )
        for task, short in enumerate(initial)
    ]


@given(
    histories(),
    st.integers(0, 30),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 30),
    st.integers(0, 12),
    st.booleans(),
    st.integers(0, 3),
)
@example(  # our sell filled 1 before the read; the venue's answer is 2 old: not judged
    ([10], [OurOrder(0, placed=0, at_venue=1, applied=1, contracts=5)]), 2, 0, 0, 30, 0, False, 2
)
def test_only_what_the_venue_took_by_itself_is_reported_and_all_of_it(
    history, before, asked, answered, taken_at, taken, router_busy, lag
):
    # The strategies are read at ``before``, the venue answers at ``read`` what it held
    # ``lag`` earlier (its read-after-write lag), the strategies are read again at
    # ``after``; meanwhile the venue took ``taken`` contracts by itself at ``taken_at``.
    # The router hears of each fill of ours when the venue makes it, at the earliest.
    initial, orders = history
    read = before + asked
    after = read + answered
    shown = read - lag
    held_when_shown = sum(initial) + sum(o.contracts for o in orders if o.at_venue <= shown)
    venue = CONTRACT * (held_when_shown - (taken if taken_at <= shown else 0))
    heard = [o.at_venue for o in orders if o.at_venue <= read]
    since_fill = read - max(heard) if heard else math.inf
    first, second = holdings_at(before, initial, orders), holdings_at(after, initial, orders)
    shrinks = unexplained(first, venue, second, router_busy, CONTRACT, since_fill, lag)
    judged = (
        first == second
        and not router_busy
        and not any(h.in_flight for h in first)
        and since_fill >= lag
    )
    expected = 0.0
    if judged and taken_at <= shown and taken >= 1:
        # Judged: every order of ours the venue had filled by then is applied.
        expected = min(CONTRACT * taken, sum(h.short for h in first))
    if expected > 1e-9:  # venue < 0 when it took more than was held (then all of it)
        assert sum(s.held - s.venue for s in shrinks) == pytest.approx(expected)
    else:
        assert shrinks == []
    held = {h.task_id: h.short for h in first}
    for shrink in shrinks:
        assert shrink.held == held[shrink.task_id] and 0.0 <= shrink.venue < shrink.held


@given(
    st.lists(st.integers(0, 100), min_size=1, max_size=3),
    st.floats(0.0, 0.999),
)
def test_less_than_one_contract_missing_is_no_shrink(shorts, missing):
    holdings = [Holding(f"t{n}", CONTRACT * s, False, 1) for n, s in enumerate(shorts)]
    venue = sum(h.short for h in holdings) - missing * CONTRACT
    assert unexplained(holdings, venue, holdings, False, CONTRACT) == []


def test_the_missing_part_is_taken_from_the_largest_short_first():
    holdings = [Holding("a", 0.3, False, 1), Holding("b", 1.0, False, 4)]
    b, a = unexplained(holdings, 0.2, holdings, False, CONTRACT)
    assert b == Shrink("b", 1.0, 0.0)
    assert (a.task_id, a.held, a.venue) == ("a", 0.3, pytest.approx(0.2))


# ------------------------------------------------------------------ the watch


@attrs.define
class Account:
    """The venue's position and the strategy's leg, as the watch reads them."""

    venue_short: float = 1.0
    held: float = 1.0
    in_flight: bool = False
    reads: int = 0

    async def read(self, symbol: Symbol) -> FuturesPosition:
        self.reads += 1
        await trio.sleep(0.01)
        return FuturesPosition(symbol, -self.venue_short, 100.0, mark_price=101.0, liq_price=150.0)

    def holdings(self, symbol: Symbol) -> list[Holding]:
        return [Holding("t1", self.held, self.in_flight, 2)]


def watch(account: Account, mailbox: Mailbox) -> PositionWatch:
    return PositionWatch(
        "positions",
        account.read,
        account.holdings,
        lambda symbol: False,
        {"t1": mailbox.address},
        {BTC: VenueRules(contract_size=CONTRACT)},
        [BTC],
        check_every_s=3.0,
        wall_clock=trio.current_time,
    )


async def test_a_push_showing_less_is_checked_at_once_and_told(autojump_clock):
    account, mailbox = Account(), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.5)
        account.venue_short = 0.4
        positions.on_push(FuturesPosition(BTC, -0.4, 100.0))
        told = await mailbox.receive()
        nursery.cancel_scope.cancel()
    assert told == VenuePositionChanged(
        told.now, told.leg, BTC, 1.0, pytest.approx(0.4), 101.0, told.cause
    )
    assert told.now < 0.6  # at once, not at the next periodic check
    assert "a position push" in told.cause


async def test_a_push_without_the_liquidation_price_has_the_position_read_and_handed_on(
    autojump_clock,
):
    # Binance's ACCOUNT_UPDATE leaves the liquidation price out: the liquidation watch
    # gets it from a read at once, not a periodic check later.
    account, mailbox = Account(), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    read: list[FuturesPosition] = []
    positions.on_read = read.append
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.5)
        positions.on_push(FuturesPosition(BTC, -1.0, 100.0, liq_price=150.0))
        await trio.sleep(0.1)
        assert account.reads == 0  # what is held, with its price: nothing to ask
        positions.on_push(FuturesPosition(BTC, -1.0, 100.0))  # what is held, no price
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert [(p.qty, p.liq_price) for p in read] == [(-1.0, 150.0)]
    assert mailbox.take_all_nowait() == []  # nothing taken by the venue: nothing told


async def test_the_venues_report_of_its_own_reduction_is_checked_at_once_and_named(
    autojump_clock,
):
    account, mailbox = Account(), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.5)
        account.venue_short = 0.6
        positions.on_reduction(PositionReducedByVenue(BTC, 0.4, 103.5, "auto_deleveraging", 0.5))
        told = await mailbox.receive()
        nursery.cancel_scope.cancel()
    assert (told.held_qty, told.venue_qty) == (1.0, pytest.approx(0.6))
    assert told.now < 0.6  # at once, not at the next periodic check
    assert told.price == 103.5  # the venue's price, not the mark
    assert told.cause.startswith("auto-deleveraging reported by the venue")


async def test_a_reduction_report_the_position_does_not_confirm_is_not_acted_on(autojump_clock):
    account, mailbox = Account(), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.5)
        positions.on_reduction(PositionReducedByVenue(BTC, 0.4, 103.5, "liquidation", 0.5))
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    assert account.reads == 1  # checked at once, and the venue still holds the short
    assert mailbox.take_all_nowait() == []


async def test_a_push_that_never_came_is_caught_by_the_periodic_check(autojump_clock):
    account, mailbox = Account(), Mailbox("strategy-t1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch(account, mailbox).run)
        await trio.sleep(0.5)
        account.venue_short = 0.0
        told = await mailbox.receive()
        nursery.cancel_scope.cancel()
    assert (told.held_qty, told.venue_qty) == (1.0, 0.0)
    assert 0.5 < told.now <= 3.1
    assert "periodic" in told.cause


async def test_nothing_is_asked_or_told_while_our_futures_order_is_in_flight(autojump_clock):
    account, mailbox = Account(in_flight=True, venue_short=0.0), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.1)
        positions.on_push(FuturesPosition(BTC, 0.0, 100.0))
        await trio.sleep(10.0)
        assert account.reads == 0 and len(mailbox) == 0
        # Our order ended and the strategy holds what the venue does: nothing to tell.
        account.in_flight, account.held = False, 0.0
        await trio.sleep(10.0)
        nursery.cancel_scope.cancel()
    assert len(mailbox) == 0


@attrs.define
class LaggingAccount(Account):
    """A venue whose position reads do not show our fill until ``lag_s`` after it."""

    filled_at: float = 0.0
    lag_s: float = 1.0
    before_fill: float = 0.0

    async def read(self, symbol: Symbol) -> FuturesPosition:
        self.reads += 1
        shown = self.venue_short
        if trio.current_time() < self.filled_at + self.lag_s:
            shown = self.before_fill
        await trio.sleep(0.01)
        return FuturesPosition(symbol, -shown, 100.0, mark_price=101.0)


async def test_the_venue_is_not_asked_within_its_lag_after_our_fill(autojump_clock):
    # Our entry sold 1.0 just now; the venue's reads show no short for a second more:
    # taken for a shrink, the strategy would sell its spot and leave a naked short.
    await trio.sleep(5.0)
    account, mailbox = LaggingAccount(filled_at=trio.current_time()), Mailbox("strategy-t1")
    positions = watch(account, mailbox)
    positions.last_fill = lambda symbol: account.filled_at
    positions.read_after_write_s = account.lag_s
    async with trio.open_nursery() as nursery:
        nursery.start_soon(positions.run)
        await trio.sleep(0.1)
        positions.on_push(FuturesPosition(BTC, 0.0, 100.0))  # a push from before the fill
        await trio.sleep(10.0)
        nursery.cancel_scope.cancel()
    assert account.reads >= 1 and len(mailbox) == 0
