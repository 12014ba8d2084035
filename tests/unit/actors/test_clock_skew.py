"""The local clock against a venue's: the skew from one round trip, and its verdict
against the venue's window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.orders.clock_skew import ClockWindow, judged, skew_s

MEXC = ClockWindow(ahead_s=1.0, behind_s=5.0)


@given(
    st.floats(min_value=1e9, max_value=2e9),
    st.floats(min_value=-120.0, max_value=120.0),
    st.floats(min_value=0.0, max_value=2.0),
)
def test_the_skew_is_the_local_clock_at_the_middle_of_the_round_trip(server, skew, trip):
    # The venue read its clock halfway: the local clock then said server + skew.
    sent_at = server + skew - trip / 2.0
    assert skew_s(server, sent_at, sent_at + trip) == pytest.approx(skew, abs=1e-6)


@pytest.mark.parametrize(
    ("skew", "verdict"),
    [
        (0.0, None),
        (0.5, None),
        (0.6, ("degraded", "the local clock is 0.60 s ahead of the venue's (it allows 1 s)")),
        (1.2, ("failing", "the local clock is 1.20 s ahead of the venue's (it allows 1 s)")),
        (-2.5, None),
        (-3.0, ("degraded", "the local clock is 3.00 s behind the venue's (it allows 5 s)")),
        (-5.5, ("failing", "the local clock is 5.50 s behind the venue's (it allows 5 s)")),
    ],
)
def test_half_the_window_is_degraded_and_beyond_it_failing(skew, verdict):
    assert judged(skew, MEXC) == verdict
