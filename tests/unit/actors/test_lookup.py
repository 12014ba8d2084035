"""When a venue's "no such order" may be believed (``actors.runtime.orders.lookup``)."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.orders.lookup import NotFound, OrderKnowledge, Visibility, judge_not_found

MEXC = Visibility(read_after_write_s=5.0, forgets_unfilled=False)
GATEIO = Visibility(read_after_write_s=1.0, forgets_unfilled=True)

SENT_NOT_SEEN = OrderKnowledge(
    since_sent_s=0.5, accepted=False, asked_by_venue_id=False, ending=False, filled=False
)
CANCELLED_UNSEEN = OrderKnowledge(
    since_sent_s=30.0, accepted=True, asked_by_venue_id=True, ending=True, filled=False
)

knowledge = st.builds(
    OrderKnowledge,
    since_sent_s=st.floats(min_value=0.0, max_value=1e6),
    accepted=st.booleans(),
    asked_by_venue_id=st.booleans(),
    ending=st.booleans(),
    filled=st.booleans(),
)
venues = st.builds(
    Visibility,
    read_after_write_s=st.floats(min_value=0.0, max_value=60.0),
    forgets_unfilled=st.booleans(),
)


def test_within_the_lag_not_found_means_nothing():
    assert judge_not_found(SENT_NOT_SEEN, MEXC) is NotFound.ASK_AGAIN
    late = attrs.evolve(SENT_NOT_SEEN, since_sent_s=5.0)
    assert judge_not_found(late, MEXC) is NotFound.NEVER_ARRIVED


def test_an_order_never_sent_never_arrived_at_once():
    never_sent = attrs.evolve(SENT_NOT_SEEN, since_sent_s=float("inf"))
    assert judge_not_found(never_sent, MEXC) is NotFound.NEVER_ARRIVED


def test_a_forgotten_gateio_order_ended_unfilled_only_when_it_was_meant_to_end():
    assert judge_not_found(CANCELLED_UNSEEN, GATEIO) is NotFound.ENDED_UNFILLED
    for change in (
        {"ending": False},  # still open as far as anyone knows: a lag, not an end
        {"filled": True},  # Gate.io keeps filled orders: not found is not an end
        {"asked_by_venue_id": False},  # a client id is forgotten after any end
        {"since_sent_s": 0.5},  # too new to be missing
    ):
        assert judge_not_found(attrs.evolve(CANCELLED_UNSEEN, **change), GATEIO) is (
            NotFound.ASK_AGAIN
        ), change


def test_mexc_forgets_nothing_a_query_should_find():
    assert judge_not_found(CANCELLED_UNSEEN, MEXC) is NotFound.ASK_AGAIN


@given(knowledge, venues)
def test_an_order_the_venue_reported_is_never_concluded_never_arrived(known, venue):
    if known.accepted:
        assert judge_not_found(known, venue) is not NotFound.NEVER_ARRIVED


@given(knowledge, venues)
def test_nothing_is_concluded_within_the_lag(known, venue):
    if known.since_sent_s < venue.read_after_write_s:
        assert judge_not_found(known, venue) is NotFound.ASK_AGAIN


@given(knowledge, venues)
def test_ended_unfilled_only_where_the_venue_forgets_and_nothing_filled(known, venue):
    if judge_not_found(known, venue) is NotFound.ENDED_UNFILLED:
        assert venue.forgets_unfilled and not known.filled and known.ending
