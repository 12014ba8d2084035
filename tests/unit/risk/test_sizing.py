"""Sizing from the books: never more than a book fills within the slippage bound, and
all of it that does; an entry never more than both books fill, the configured size or
the room the caps leave."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageParams, new_context
from actors.arbitrage.machine import on_market
from actors.risk.limits import EntryLimits
from actors.risk.sizing import depth_weighted_price, fillable
from protocols.messages import PlaceOrder
from protocols.model import BookDepth, Quote, Symbol

BTC = Symbol("BTC", "USDT")

TOLERANCE = 1e-9


@st.composite
def book_sides(draw, buying: bool):
    """(best, levels): levels best first, the first at the best price."""
    best = draw(st.floats(1.0, 100_000.0))
    gaps = draw(st.lists(st.floats(1e-6, 0.01), min_size=0, max_size=9))
    sizes = draw(st.lists(st.floats(1e-6, 100.0), min_size=len(gaps) + 1, max_size=len(gaps) + 1))
    prices = [best]
    for gap in gaps:
        prices.append(prices[-1] * (1.0 + gap) if buying else prices[-1] * (1.0 - gap))
    return best, tuple(zip(prices, sizes, strict=True))


@given(st.booleans().flatmap(lambda buying: st.tuples(st.just(buying), book_sides(buying))),
       st.floats(0.001, 5.0))  # fmt: skip
def test_what_a_side_fills_stays_within_the_bound_and_takes_all_that_does(case, slippage):
    buying, (best, levels) = case
    qty, limit = fillable(best, levels[0][1], levels, buying, slippage)
    bound = best * (1.0 + slippage / 100.0) if buying else best * (1.0 - slippage / 100.0)
    total = sum(size for _, size in levels)
    assert 0.0 < qty <= total * (1.0 + TOLERANCE)
    average = depth_weighted_price(levels, qty)
    if buying:
        assert average <= bound * (1.0 + TOLERANCE)
        assert best <= limit <= max(price for price, _ in levels)
    else:
        assert average >= bound * (1.0 - TOLERANCE)
        assert min(price for price, _ in levels) <= limit <= best
    # Every level the limit price reaches holds the quantity taken.
    reached = sum(size for price, size in levels if (price <= limit if buying else price >= limit))
    assert qty <= reached * (1.0 + TOLERANCE)
    # Maximal: a little more would stray past the bound, unless the book is exhausted.
    if qty < total * (1.0 - 1e-6):
        more = depth_weighted_price(levels, qty * (1.0 + 1e-6) + 1e-9)
        assert (more > bound) if buying else (more < bound)


def test_without_depth_only_the_best_level_is_known():
    assert fillable(100.0, 2.5, None, True, 1.0) == (2.5, 100.0)
    assert fillable(100.0, 2.5, (), False, 1.0) == (2.5, 100.0)


def test_a_level_beyond_the_bound_gives_the_part_that_brings_the_average_to_it():
    # 1 at 100, then 101: within 0.5 % the average may reach 100.5, so 1 of the 101 level.
    qty, limit = fillable(100.0, 1.0, ((100.0, 1.0), (101.0, 5.0)), True, 0.5)
    assert math.isclose(qty, 2.0) and limit == 101.0
    assert math.isclose(depth_weighted_price(((100.0, 1.0), (101.0, 5.0)), qty), 100.5)
    qty, limit = fillable(100.0, 1.0, ((100.0, 1.0), (99.0, 5.0)), False, 0.5)
    assert math.isclose(qty, 2.0) and limit == 99.0


@st.composite
def entry_books(draw):
    """A spot quote with asks and a futures quote with bids, at an entry cost of 0."""
    now = 1.0
    _, asks = draw(book_sides(True).filter(lambda side: side[0] > 10.0))
    best = asks[0][0]
    _, bids = draw(book_sides(False))
    scale = best / bids[0][0]  # the futures bid at the spot ask
    bids = tuple((price * scale, size) for price, size in bids)
    spot = Quote(BTC, best * 0.999, 1.0, best, asks[0][1], now, now, BookDepth(asks=asks))
    futures = Quote(BTC, bids[0][0], bids[0][1], best * 1.001, 1.0, now, now, BookDepth(bids=bids))
    return spot, futures


@settings(deadline=None)
@given(
    entry_books(),
    st.floats(0.01, 2.0),
    st.floats(10.0, 1e6),
    st.one_of(st.just(math.inf), st.floats(1.0, 1e6)),
)
def test_an_entry_never_exceeds_what_both_books_fill_nor_the_size_nor_the_room(
    books, slippage, size, room
):
    spot, futures = books
    ctx = new_context(
        "t1",
        BTC,
        now=0.0,
        base_position_size_usdt=size,
        params=ArbitrageParams(max_slippage_pct=slippage, max_entry_cost_pct=0.5),
    )
    _, commands = on_market(ctx, 1.0, spot, futures, limits=EntryLimits(room, "a cap"))
    orders = [command.order for command in commands if isinstance(command, PlaceOrder)]
    if not orders:
        return
    buy, sell = orders
    assert buy.qty == sell.qty
    qty = buy.qty
    assert qty <= size / spot.ask * (1.0 + TOLERANCE)
    assert qty * max(buy.price, sell.price) <= room * (1.0 + TOLERANCE)
    for quote, levels, buying in (
        (spot, spot.depth.asks, True),
        (futures, futures.depth.bids, False),
    ):
        assert qty <= sum(size for _, size in levels) * (1.0 + TOLERANCE)
        best = quote.ask if buying else quote.bid
        average = depth_weighted_price(levels, qty)
        if buying:
            assert average <= best * (1.0 + slippage / 100.0) * (1.0 + TOLERANCE)
            assert buy.price >= levels[0][0]
        else:
            assert average >= best * (1.0 - slippage / 100.0) * (1.0 - TOLERANCE)
            assert sell.price <= levels[0][0]
        # The limit price reaches the levels that hold the quantity.
        limit = buy.price if buying else sell.price
        reached = sum(s for p, s in levels if (p <= limit if buying else p >= limit))
        assert qty <= reached * (1.0 + TOLERANCE)
