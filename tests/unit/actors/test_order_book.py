"""The local order book keeps the sync rules of docs/venues.md: buffer, snapshot, replay, gaps."""

from __future__ import annotations

import heapq

from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.market.order_book import OrderBook, Outcome
from protocols.model import Symbol
from protocols.venue import BookLevel, DepthDiff, DepthSnapshot

BTC = Symbol("BTC", "USDT")


def diff(first, last, bids=(), asks=()):
    return DepthDiff(
        BTC,
        first,
        last,
        tuple(BookLevel(p, q) for p, q in bids),
        tuple(BookLevel(p, q) for p, q in asks),
        0.0,
    )


def snapshot(version, bids, asks):
    return DepthSnapshot(
        BTC,
        version,
        tuple(BookLevel(p, q) for p, q in bids),
        tuple(BookLevel(p, q) for p, q in asks),
    )


def test_diffs_before_the_snapshot_are_buffered_then_replayed_from_the_next_version():
    book = OrderBook()
    assert book.on_diff(diff(8, 9, bids=[(99.0, 9.0)])) is Outcome.BUFFERED
    assert book.on_diff(diff(10, 12, bids=[(100.0, 1.0)], asks=[(101.0, 0.0)])) is Outcome.BUFFERED
    assert book.on_diff(diff(13, 13, asks=[(101.5, 2.0)])) is Outcome.BUFFERED
    assert book.on_snapshot(snapshot(11, [(99.5, 3.0)], [(101.0, 4.0)])) is Outcome.APPLIED
    # 8..9 ended before the snapshot and was dropped; 10..12 covers 12 and applies.
    assert book.bids == {99.5: 3.0, 100.0: 1.0}
    assert book.asks == {101.5: 2.0}
    assert book.version == 13
    assert book.best() == (100.0, 1.0, 101.5, 2.0)


def test_a_skipped_version_is_a_gap_and_unsyncs_the_book():
    book = OrderBook()
    book.on_snapshot(snapshot(5, [(99.0, 1.0)], [(100.0, 1.0)]))
    assert book.on_diff(diff(6, 6, bids=[(99.0, 2.0)])) is Outcome.APPLIED
    assert book.on_diff(diff(8, 9)) is Outcome.GAP
    assert not book.synced
    assert book.gaps == 1
    assert book.best() == (0.0, 0.0, 0.0, 0.0)
    # The diff that revealed the gap is kept for the next snapshot.
    assert book.on_snapshot(snapshot(8, [(98.0, 1.0)], [(100.0, 1.0)])) is Outcome.APPLIED
    assert book.version == 9


def test_a_snapshot_older_than_the_buffer_asks_for_another():
    book = OrderBook()
    book.on_diff(diff(20, 21))
    assert book.on_snapshot(snapshot(10, [], [])) is Outcome.GAP
    assert book.on_snapshot(snapshot(20, [], [])) is Outcome.APPLIED
    assert book.version == 21


def test_repeats_and_overlaps_are_harmless():
    book = OrderBook()
    book.on_snapshot(snapshot(5, [(99.0, 1.0)], []))
    assert book.on_diff(diff(3, 5, bids=[(99.0, 7.0)])) is Outcome.REPEAT
    assert book.on_diff(diff(4, 6, bids=[(99.0, 2.0)])) is Outcome.APPLIED  # Gate.io overlap
    assert book.bids == {99.0: 2.0}


levels = st.lists(st.tuples(st.integers(1, 20).map(float), st.sampled_from([0.0, 1.0, 2.5])))


@given(st.lists(st.tuples(levels, levels), min_size=1, max_size=30), st.data())
def test_any_snapshot_point_reaches_the_same_book_as_applying_everything(changes, data):
    diffs = [diff(v, v, bids=b, asks=a) for v, (b, a) in enumerate(changes, start=1)]
    reference = OrderBook()
    reference.on_snapshot(snapshot(0, [], []))
    for d in diffs:
        assert reference.on_diff(d) is Outcome.APPLIED
    # A snapshot taken at any version, with the stream buffered from any earlier point.
    at = data.draw(st.integers(0, len(diffs)))
    buffered_from = data.draw(st.integers(0, at))
    state = OrderBook()
    state.on_snapshot(snapshot(0, [], []))
    for d in diffs[:at]:
        state.on_diff(d)
    book = OrderBook()
    for d in diffs[buffered_from:]:
        book.on_diff(d)
    taken = snapshot(at, list(state.bids.items()), list(state.asks.items()))
    assert book.on_snapshot(taken) is Outcome.APPLIED
    assert (book.bids, book.asks, book.version) == (reference.bids, reference.asks, len(diffs))


def test_a_snapshot_from_the_stream_replaces_the_whole_book():
    book = OrderBook()
    book.on_snapshot(snapshot(5, [(99.0, 1.0), (98.0, 2.0)], [(100.0, 1.0), (101.0, 3.0)]))
    assert book.on_diff(diff(6, 7, bids=[(99.5, 1.0)])) is Outcome.APPLIED
    # A whole book at version 9: levels it does not list are gone, whatever came before.
    assert book.on_snapshot(snapshot(9, [(97.0, 4.0)], [(100.5, 5.0)])) is Outcome.APPLIED
    assert (book.bids, book.asks, book.version) == ({97.0: 4.0}, {100.5: 5.0}, 9)
    assert book.on_diff(diff(10, 10, asks=[(100.5, 0.0), (102.0, 1.0)])) is Outcome.APPLIED
    assert book.best() == (97.0, 4.0, 102.0, 1.0)


def test_a_snapshot_no_newer_than_the_synced_book_is_a_repeat():
    book = OrderBook()
    book.on_snapshot(snapshot(9, [(97.0, 4.0)], [(100.5, 5.0)]))
    assert book.on_snapshot(snapshot(7, [(99.0, 1.0)], [(100.0, 1.0)])) is Outcome.REPEAT
    assert book.on_snapshot(snapshot(9, [(99.0, 1.0)], [(100.0, 1.0)])) is Outcome.REPEAT
    assert (book.bids, book.asks, book.version) == ({97.0: 4.0}, {100.5: 5.0}, 9)


def test_the_top_levels_of_each_side_come_best_first():
    book = OrderBook()
    book.on_snapshot(
        snapshot(1, [(99.0, 1.0), (100.0, 2.0), (98.0, 3.0)], [(102.0, 1.0), (101.0, 4.0)])
    )
    book.on_diff(diff(2, 2, bids=[(100.0, 0.0), (97.0, 5.0)], asks=[(103.0, 6.0)]))
    depth = book.top(2)
    assert depth.bids == ((99.0, 1.0), (98.0, 3.0))
    assert depth.asks == ((101.0, 4.0), (102.0, 1.0))
    assert book.top(10).bids == ((99.0, 1.0), (98.0, 3.0), (97.0, 5.0))


def _top_by_selection(book: OrderBook, levels: int) -> tuple[tuple, tuple]:
    """The top levels chosen afresh from the whole book, as a partial sort does."""
    return (
        tuple(heapq.nlargest(levels, book.bids.items())),
        tuple(heapq.nsmallest(levels, book.asks.items())),
    )


changes = st.lists(
    st.tuples(st.integers(1, 30).map(float), st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0])),
    max_size=8,
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["diff", "diff", "diff", "snapshot"]),
            changes,
            changes,
            st.sampled_from([3, 3, 3, 3, 0, 1, 6]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_top_levels_kept_between_diffs_are_those_of_the_whole_book(steps):
    """However diffs and snapshots reach (or miss) the levels kept, and whatever number of
    levels is asked, ``top`` gives what choosing them afresh from the book gives."""
    book = OrderBook()
    book.on_snapshot(snapshot(0, [], []))
    for version, (kind, bids, asks, levels) in enumerate(steps, start=1):
        if kind == "diff":
            assert book.on_diff(diff(version, version, bids=bids, asks=asks)) is Outcome.APPLIED
        else:
            assert book.on_snapshot(snapshot(version, bids, asks)) is Outcome.APPLIED
        depth = book.top(levels)
        assert (depth.bids, depth.asks) == _top_by_selection(book, levels)
        assert book.top(levels) == depth
