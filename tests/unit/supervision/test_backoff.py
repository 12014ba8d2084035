"""The backoff formula: exponential, capped, jittered within bounds."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from supervision import Backoff

policies = st.builds(
    Backoff,
    min_s=st.floats(0.0, 5.0),
    max_s=st.floats(5.0, 600.0),
    factor=st.floats(1.0, 4.0),
    jitter=st.floats(0.0, 1.0),
)


@given(policy=policies, attempt=st.integers(0, 10_000), seed=st.integers())
@example(policy=Backoff(min_s=3.5, max_s=5.0, jitter=9.224751439253768e-17), attempt=0, seed=0)
def test_delay_stays_within_its_jitter_bounds_and_never_exceeds_the_cap(policy, attempt, seed):
    delay = policy.delay(attempt, random.Random(seed))
    low, high = policy.bounds(attempt)
    assert low <= delay <= high <= policy.max_s
    assert delay >= 0.0


@given(policy=policies, attempt=st.integers(0, 200))
def test_base_delay_grows_monotonically_up_to_the_cap(policy, attempt):
    assert policy.base(attempt) <= policy.base(attempt + 1) <= policy.max_s


def test_the_formula():
    policy = Backoff(min_s=0.5, max_s=10.0, factor=3.0, jitter=0.0)
    assert [policy.base(n) for n in range(5)] == [0.5, 1.5, 4.5, 10.0, 10.0]
    assert Backoff(min_s=1, max_s=8, jitter=0.5).bounds(1) == (1.0, 3.0)
    assert Backoff(min_s=1, max_s=8, jitter=0.5).bounds(3) == (4.0, 8.0)  # capped above


def test_none_restarts_at_once():
    assert Backoff.none().delay(50, random.Random(1)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_s": 5, "max_s": 1}, r"backoff max_s \(1\) is below min_s \(5\)"),
        ({"min_s": -1}, "'min_s' must be >= 0.0"),
        ({"factor": 0.5}, "'factor' must be >= 1.0"),
        ({"jitter": 1.5}, "'jitter' must be <= 1.0"),
    ],
)
def test_impossible_policies_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)
