"""The simulated book: how it is drawn, how it evolves as the market moves, how it is swept
and consumed, its version, and the changes a reader applies to keep it."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import DepthProfile, SimBook
from protocols.model import Side, Symbol
from protocols.venue import BookLevel, DepthSnapshot

SYMBOL = Symbol("BTC", "USDT")


def drawn_book(profile: DepthProfile | None = None, seed: int = 1) -> SimBook:
    book = SimBook(SYMBOL, 0.0001, 0.1, profile or DepthProfile())
    book.evolve(65_000.0, 65_000.0, 65_000.1, random.Random(seed), now=10.0)
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
    book.evolve(0.05, 0.05, 0.06, random.Random(1), now=0.0)
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
    book.evolve(65_000.0, 65_000.0, 65_000.1, random.Random(1), now=0.0)
    book.consume(Side.SELL, book.sweep(Side.SELL, None, 10**9), now=1.0)
    quote = book.quote()
    assert (quote.bid, quote.bid_qty) == (0.0, 0.0)
    assert quote.ask > 0.0


def apply(snapshot: DepthSnapshot, version: int, changes) -> DepthSnapshot:
    """What a client does with a diff: absolute quantities, 0 deletes."""

    def side(levels, changed, best_first_descending):
        book = {level.price: level.qty for level in levels}
        for change in changed:
            if change.qty == 0.0:
                book.pop(change.price, None)
            else:
                book[change.price] = change.qty
        ordered = sorted(book.items(), reverse=best_first_descending)
        return tuple(BookLevel(p, q) for p, q in ordered)

    bids, asks = changes
    return DepthSnapshot(
        snapshot.symbol, version, side(snapshot.bids, bids, True), side(snapshot.asks, asks, False)
    )


def touch_of(mid: float) -> tuple[float, float]:
    bid = round(int(mid / 0.1) * 0.1, 1)
    return bid, round(bid + 0.1, 1)


def assert_well_formed(book: SimBook) -> None:
    snapshot = book.snapshot()
    bids = [level.price for level in snapshot.bids]
    asks = [level.price for level in snapshot.asks]
    assert bids == sorted(set(bids), reverse=True) and asks == sorted(set(asks))
    assert bids[0] < asks[0]
    assert all(level.qty > 0.0 for level in snapshot.bids + snapshot.asks)


@given(
    moves=st.lists(
        st.one_of(
            st.tuples(st.just("move"), st.floats(-0.002, 0.002)),
            st.tuples(st.just("jump"), st.floats(-0.05, 0.05)),
            st.tuples(
                st.just("take"), st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 20_000)
            ),
            st.tuples(st.just("restate")),
        ),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 2**32),
)
def test_a_reader_that_applies_the_changes_keeps_the_book(moves, seed):
    rng = random.Random(seed)
    book = drawn_book()
    mid = 65_000.0
    assert book.take_changes(None) is None  # the reader starts here
    kept, read = book.snapshot(), book.version
    for i, move in enumerate(moves):
        if move[0] in ("move", "jump"):
            mid *= 1.0 + move[1]
            book.evolve(mid, *touch_of(mid), rng, now=20.0 + i)
            assert_well_formed(book)
        elif move[0] == "take":
            _, side, lots = move
            book.consume(side, book.sweep(side, None, lots), now=20.0 + i)
        else:
            book.restate(now=20.0 + i)
        if rng.random() < 0.5:  # a stream that reads only now and then covers many versions
            changes = book.take_changes(read)
            assert changes is not None
            kept, read = apply(kept, book.version, changes), book.version
            assert kept == book.snapshot()
    changes = book.take_changes(read)
    assert changes is not None and apply(kept, book.version, changes) == book.snapshot()


def test_a_reader_out_of_step_is_told_so_and_starts_again():
    book = drawn_book()
    assert book.take_changes(None) is None
    read = book.version
    book.evolve(65_000.0, 65_000.0, 65_000.1, random.Random(2), now=11.0)
    assert book.take_changes(read - 1) is None
    book.evolve(65_000.0, 65_000.0, 65_000.1, random.Random(3), now=12.0)
    assert book.take_changes(read + 1) is not None  # where the refusal left the book


def test_a_small_move_changes_a_handful_of_levels_and_deep_ones_keep_their_price():
    book = drawn_book()
    rng = random.Random(4)
    book.take_changes(None)
    mid = 65_000.0
    for i in range(200):
        before = book.snapshot()
        read = book.version
        mid *= 1.0 + rng.gauss(0.0, 0.00002)  # under a tenth of the 6.5 USDT spacing
        book.evolve(mid, *touch_of(mid), rng, now=20.0 + i)
        bids, asks = book.take_changes(read)
        # At most: the old touch gone, the new one drawn, a level it came too near gone
        # and one more drawn at the far end to keep the depth, and two other sizes.
        assert len(bids) <= 6 and len(asks) <= 6
        after = book.snapshot()
        assert len(after.bids) == len(after.asks) == 10
        for was, now in ((before.bids, after.bids), (before.asks, after.asks)):
            assert {level.price for level in now[2:-1]} <= {level.price for level in was}


def test_a_book_that_moved_keeps_its_depth_spacing_and_touch_sizes():
    profile = DepthProfile()
    book = drawn_book(profile)
    rng = random.Random(5)
    mid = 65_000.0
    narrowest, widest = 6.5, 6.5
    for i in range(2_000):
        mid *= 1.0 + rng.gauss(0.0, 0.0003)
        book.evolve(mid, *touch_of(mid), rng, now=20.0 + i)
        assert_well_formed(book)
        snapshot = book.snapshot()
        assert len(snapshot.bids) == len(snapshot.asks) == profile.levels
        spacing = int(mid * profile.level_spacing_bps / 10_000.0 / 0.1) * 0.1
        narrowest, widest = min(narrowest, spacing), max(widest, spacing)
        for side in (snapshot.bids, snapshot.asks):
            # The touch is drawn for the touch on every move: 40% to 160% of 2,000 USDT.
            touch = side[0]
            assert 800.0 - 0.00005 * touch.price <= touch.qty * touch.price
            assert touch.qty * touch.price <= 3_200.0 + 0.00005 * touch.price
            # Levels stay at least half a spacing apart (the spacing of the mid they were
            # drawn at), and the side spans about its levels' worth of spacings (gaps the
            # touch left behind it included).
            gaps = [abs(a.price - b.price) for a, b in itertools.pairwise(side)]
            assert min(gaps) >= narrowest / 2.0 - 1e-6
            assert abs(side[-1].price - touch.price) <= 2.0 * (profile.levels - 1) * widest


def test_taken_liquidity_at_the_touch_comes_back_on_the_next_move():
    book = drawn_book()
    touch = book.snapshot().asks[0]
    book.consume(Side.BUY, book.sweep(Side.BUY, None, round(touch.qty / 0.0001)), now=11.0)
    assert book.snapshot().asks[0].price != touch.price
    book.evolve(65_000.0, 65_000.0, 65_000.1, random.Random(6), now=12.0)
    assert book.snapshot().asks[0].price == touch.price


@pytest.mark.parametrize(
    "bad",
    [{"levels": 0}, {"top_notional_usdt": 0.0}, {"jitter": 1.0}, {"level_spacing_bps": -1.0}],
)
def test_nonsense_profiles_are_refused(bad):
    with pytest.raises(ValueError, match="depth profile"):
        DepthProfile(**bad)
