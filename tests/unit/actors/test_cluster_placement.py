"""The placement's arithmetic: shares even, within capacity, covering every symbol when
the capacities do, the same whoever computes them, and reached by handing back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.cluster.placement import fair_shares, hand_back

capacities = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=4), st.integers(0, 60), min_size=1, max_size=8
)
counts = st.integers(0, 200)


@given(counts, capacities)
def test_no_share_is_above_its_capacity_or_negative(symbols, caps):
    shares = fair_shares(symbols, caps)
    assert shares.keys() == caps.keys()
    assert all(0 <= shares[name] <= caps[name] for name in caps)


@given(counts, capacities)
def test_the_shares_cover_every_symbol_the_capacities_can(symbols, caps):
    assert sum(fair_shares(symbols, caps).values()) == min(symbols, sum(caps.values()))


@given(counts, capacities)
def test_shares_differ_by_more_than_one_only_where_a_capacity_holds_one_down(symbols, caps):
    shares = fair_shares(symbols, caps)
    for low in caps:
        for high in caps:
            if shares[high] > shares[low] + 1:
                assert shares[low] == caps[low]


@given(counts, capacities, st.randoms())
def test_the_shares_are_the_same_whoever_lists_the_instances(symbols, caps, rng):
    names = list(caps)
    rng.shuffle(names)
    assert fair_shares(symbols, {name: caps[name] for name in names}) == fair_shares(symbols, caps)


@given(counts, capacities, st.randoms())
def test_handing_back_then_taking_what_is_free_reaches_the_shares(symbols, caps, rng):
    # Any holdings (within capacity, no symbol twice): each instance above its share
    # hands back what it is over, then each below takes free symbols up to its share.
    held = dict.fromkeys(caps, 0)
    free = symbols
    for name in caps:
        took = rng.randint(0, min(caps[name], free))
        held[name] = took
        free -= took
    shares = fair_shares(symbols, caps)
    for name in caps:
        over = hand_back(held[name], shares[name])
        held[name] -= over
        free += over
    order = list(caps)
    rng.shuffle(order)
    for name in order:
        took = min(free, max(0, shares[name] - held[name]))
        held[name] += took
        free -= took
    assert held == shares


def test_the_one_more_goes_to_the_first_by_name():
    assert fair_shares(5, {"b": 10, "a": 10}) == {"a": 3, "b": 2}
    assert fair_shares(4, {"c": 10, "b": 10, "a": 10}) == {"a": 2, "b": 1, "c": 1}


def test_a_small_capacity_leaves_the_rest_to_the_others():
    assert fair_shares(10, {"a": 1, "b": 10, "c": 10}) == {"a": 1, "b": 5, "c": 4}
    assert fair_shares(10, {"a": 2, "b": 3}) == {"a": 2, "b": 3}


def test_a_newcomer_takes_its_share_from_those_above_theirs():
    before = fair_shares(6, {"a": 10})
    after = fair_shares(6, {"a": 10, "b": 10})
    assert hand_back(before["a"], after["a"]) == 3
    assert hand_back(2, after["a"]) == 0


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        fair_shares(-1, {"a": 1})
    with pytest.raises(ValueError, match="negative"):
        fair_shares(1, {"a": -1})
