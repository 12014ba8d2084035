"""The simulated book: how it is drawn, swept and consumed, its version, and diffs that
rebuild one snapshot from another."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import DepthProfile, SimBook, depth_diff
from protocols.model import Side, Symbol
from protocols.venue import BookLevel, DepthDiff, DepthSnapshot

SYMBOL = Symbol("BTC", "USDT")


def drawn_book(profile: DepthProfile | None = None, seed: int = 1) -> SimBook:
    book = SimBook(SYMBOL, 0.0001, 0.1, profile or DepthProfile())
    book.redraw(65_000.0, 65_000.0, 65_000.1, random.Random(seed), now=10.0)
    return book


def test_levels_follow_the_profile():
    profile = DepthProfile(
        levels=8, level_spacing_bps=1.0, top_notional_usdt=2_000.0, growth=1.5, jitter=0.6
    )
    book = drawn_book(profile)
    snapshot = book.snapshot()
    assert len(snapshot.bids) == len(snapshot.asks) == 8
    assert snapshot.bids[0].price == 65_000.0 and snapshot.asks[0].price == 65_000.1
    spacing = 6.5  # 1 bp of 65,000, a multiple of the 0.1 tick
    for i, (bid, ask) in enumerate(zip(snapshot.bids, snapshot.asks, strict=True)):
        assert bid.price == pytest.approx(65_000.0 - i * spacing)
        assert ask.price == pytest.approx(65_000.1 + i * spacing)
        for level in (bid, ask):
            wanted = 2_000.0 * 1.5**i
            # The jitter scales the notional within ±60%; rounding adds at most half a lot.
            half_lot = 0.00005 * level.price
            assert 0.4 * wanted - half_lot <= level.qty * level.price <= 1.6 * wanted + half_lot


def test_a_few_hundred_usdt_fill_on_the_touch_and_large_orders_walk():
    # The default profile's touch holds at least 40% of 2,000 USDT.
    for seed in range(20):
        quote = drawn_book(seed=seed).quote()
        assert quote.ask_qty * quote.ask >= 800.0 - 0.00005 * quote.ask
    book = drawn_book()
    wanted_lots = round(20_000.0 / 65_000.1 / 0.0001)
    executions = book.sweep(Side.BUY, None, wanted_lots)
    assert len(executions) > 1
    assert sum(lots for _, lots in executions) == wanted_lots


def test_a_tiny_price_still_gets_whole_lots_and_positive_prices():
    book = SimBook(SYMBOL, 1.0, 0.01, DepthProfile(levels=20, level_spacing_bps=100.0))
    book.redraw(0.05, 0.05, 0.06, random.Random(1), now=0.0)
    snapshot = book.snapshot()
    assert all(level.price > 0.0 and level.qty >= 1.0 for level in snapshot.bids)
    assert len(snapshot.bids) < 20  # the side stops before a price would reach zero


def test_sweep_walks_best_first_up_to_the_limit_without_taking():
    book = drawn_book()
    asks = book.snapshot().asks
    limit = asks[2].price
    executions = book.sweep(Side.BUY, limit, 10**9)
    assert [price for price, _ in executions] == [a.price for a in asks[:3]]
    assert book.snapshot().asks == asks
    bids = book.snapshot().bids
    executions = book.sweep(Side.SELL, None, 3)
    assert executions == [(bids[0].price, 3)]
    assert book.sweep(Side.BUY, asks[0].price - 0.1, 10) == []


def test_consume_takes_liquidity_and_bumps_the_version():
    book = drawn_book()
    version = book.version
    first, second = book.snapshot().asks[:2]
    first_lots = round(first.qty / 0.0001)
    executions = book.sweep(Side.BUY, None, first_lots + 2)
    book.consume(Side.BUY, executions, now=11.0)
    asks = book.snapshot().asks
    assert asks[0] == BookLevel(second.price, round(second.qty - 0.0002, 4))
    assert book.version == version + 1
    assert book.quote().venue_ts == 11.0


def test_consume_refuses_executions_of_another_book_state():
    book = drawn_book()
    executions = book.sweep(Side.BUY, None, 5)
    book.consume(Side.BUY, executions, now=11.0)
    stale = [(book.snapshot().asks[0].price + 0.1, 1)]
    with pytest.raises(ValueError, match="do not match"):
        book.consume(Side.BUY, stale, now=12.0)


def test_an_emptied_side_quotes_zero():
    book = SimBook(SYMBOL, 0.0001, 0.1, DepthProfile(levels=1))
    book.redraw(65_000.0, 65_000.0, 65_000.1, random.Random(1), now=0.0)
    book.consume(Side.SELL, book.sweep(Side.SELL, None, 10**9), now=1.0)
    quote = book.quote()
    assert (quote.bid, quote.bid_qty) == (0.0, 0.0)
    assert quote.ask > 0.0


def apply(snapshot: DepthSnapshot, diff: DepthDiff) -> DepthSnapshot:
    """What a client does with a diff: absolute quantities, 0 deletes."""

    def side(levels, changes, best_first_descending):
        book = {level.price: level.qty for level in levels}
        for change in changes:
            if change.qty == 0.0:
                book.pop(change.price, None)
            else:
                book[change.price] = change.qty
        ordered = sorted(book.items(), reverse=best_first_descending)
        return tuple(BookLevel(p, q) for p, q in ordered)

    assert diff.first_version == snapshot.version + 1
    return DepthSnapshot(
        snapshot.symbol,
        diff.last_version,
        side(snapshot.bids, diff.bids, True),
        side(snapshot.asks, diff.asks, False),
    )


@given(
    moves=st.lists(
        st.one_of(
            st.tuples(st.just("redraw"), st.floats(-0.002, 0.002)),
            st.tuples(
                st.just("take"), st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 20_000)
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32),
)
def test_a_diff_turns_the_old_snapshot_into_the_new_one(moves, seed):
    rng = random.Random(seed)
    book = drawn_book()
    mid = 65_000.0
    old = book.snapshot()
    for i, move in enumerate(moves):
        if move[0] == "redraw":
            mid *= 1.0 + move[1]
            bid = round(int(mid / 0.1) * 0.1, 1)
            book.redraw(mid, bid, round(bid + 0.1, 1), rng, now=20.0 + i)
        else:
            _, side, lots = move
            book.consume(side, book.sweep(side, None, lots), now=20.0 + i)
        if rng.random() < 0.5:  # a stream that sends only now and then skips versions
            new = book.snapshot()
            diff = depth_diff(old, new, venue_ts=20.0 + i)
            if new.version == old.version:  # taking from an emptied side changes nothing
                assert diff is None
                continue
            assert diff is not None and diff.last_version == book.version
            assert apply(old, diff) == new
            for was, changed in ((old.bids, diff.bids), (old.asks, diff.asks)):
                before = {level.price: level.qty for level in was}
                assert all(before.get(level.price) != level.qty for level in changed)
            old = new


@pytest.mark.parametrize(
    "bad",
    [{"levels": 0}, {"top_notional_usdt": 0.0}, {"jitter": 1.0}, {"level_spacing_bps": -1.0}],
)
def test_nonsense_profiles_are_refused(bad):
    with pytest.raises(ValueError, match="depth profile"):
        DepthProfile(**bad)
