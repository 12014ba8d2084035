"""Venue-rule arithmetic: rounding to steps and ticks, minimum orders, one tolerance."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from protocols.model import VenueRules
from protocols.rules import (
    FLOAT_TOLERANCE,
    at_least,
    common_step,
    float_noise,
    min_order_usdt,
    more_than_noise,
    round_down,
    round_to_tick,
    round_up,
    step_decimals,
    whole_steps,
)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (0.7, 0.1, 0.7),  # 0.7 / 0.1 is 6.999999999999999 in floating point
        (0.3, 0.1, 0.3),
        (0.123456, 0.001, 0.123),
        (12.0, 5.0, 10.0),
        (0.00099, 0.001, 0.0),
        (1.5, 0.0, 1.5),  # no rule: unchanged
        (-1.0, 0.1, 0.0),
    ],
)
def test_round_down_examples(value, step, expected):
    assert round_down(value, step) == expected


steps = st.sampled_from([1e-8, 1e-6, 1e-4, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 0.0025])


@given(value=st.floats(0.0, 1e7, allow_nan=False), step=steps)
def test_rounding_is_never_up_and_never_a_whole_step_down(value, step):
    assume(value / step <= 1e12)  # beyond that a float cannot hold the step's decimals
    rounded = round_down(value, step)
    # "Never up", allowing only float noise: a billionth of a step, or the value's own.
    noise = max(step * 1e-9, float_noise(value))
    assert rounded <= value + noise
    assert rounded > value - step - noise
    multiple = rounded / step
    assert math.isclose(multiple, round(multiple), abs_tol=1e-6)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (0.6, 1.0, 1.0),
        (0.7, 0.1, 0.7),  # 0.7 / 0.1 is 6.999999999999999: already a whole step
        (0.30000000000000004, 0.1, 0.3),  # float noise above a multiple is that multiple
        (0.1231, 0.001, 0.124),
        (1.5, 0.0, 1.5),  # no rule: unchanged
        (-1.0, 0.1, 0.0),
    ],
)
def test_round_up_examples(value, step, expected):
    assert round_up(value, step) == expected


@given(value=st.floats(0.0, 1e7, allow_nan=False), step=steps)
def test_rounding_up_is_never_down_and_never_a_whole_step_up(value, step):
    assume(value / step <= 1e12)
    rounded = round_up(value, step)
    assert rounded >= value - step * 1e-9
    assert rounded < value + step + step * 1e-9
    multiple = rounded / step
    assert math.isclose(multiple, round(multiple), abs_tol=1e-6)


def test_step_decimals_and_ticks():
    assert [step_decimals(s) for s in (1.0, 0.1, 0.001, 0.5, 1e-8, 25.0)] == [0, 1, 3, 1, 8, 0]
    assert round_to_tick(50_000.123, 0.1) == 50_000.1
    assert round_to_tick(0.30000000000000004, 0.01) == 0.3
    assert round_to_tick(7.0, 0.0) == 7.0


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0.001, 0.0001, 0.001), (0.01, 0.003, 0.03), (0.0, 0.1, 0.1), (0.25, 0.0, 0.25), (0, 0, 0)],
)
def test_common_step(a, b, expected):
    assert common_step(a, b) == pytest.approx(expected)


def test_min_order_value_takes_the_largest_rule():
    assert min_order_usdt(VenueRules(min_qty=0.001, min_notional=5.0), 100.0) == 5.0
    assert min_order_usdt(VenueRules(min_qty=0.1, min_notional=5.0), 100.0) == 10.0
    contracts = VenueRules(contract_size=0.0001, min_contracts=2)
    assert min_order_usdt(contracts, 50_000.0) == pytest.approx(10.0)
    assert min_order_usdt(VenueRules(), 100.0) == 0.0


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (0.7, 0.1, 7),  # 6.999999999999999 in floating point
        (0.3, 0.1, 3),
        (0.123, 0.001, 123),
        (0.1234, 0.001, None),  # a digit the venue does not allow
        (10.0, 5.0, 2),
        (12.0, 5.0, None),
        (1_000_000.000001, 0.000001, 1_000_000_000_001),
    ],
)
def test_whole_steps_forgives_float_noise_and_nothing_more(value, step, expected):
    assert whole_steps(value, step) == expected


@given(units=st.integers(0, 10**9), step=steps)
def test_a_whole_number_of_steps_is_always_recognised(units, step):
    assert whole_steps(units * step, step) == units


def test_at_least_and_more_than_noise_use_the_one_tolerance():
    assert at_least(0.9999999999, 1.0)
    assert not at_least(1.0 - 10 * FLOAT_TOLERANCE, 1.0)
    assert not more_than_noise(1e-13, of=0.001)
    assert more_than_noise(1e-6, of=0.001)
    assert not more_than_noise(-1.0, of=0.001)


def test_many_steps_read_through_their_float_noise():
    # 4.6 / 1e-8 is 459999999.99999994 in floats: still 460 million steps, not one fewer.
    assert round_down(4.6, 1e-8) == 4.6
    assert round_up(4.6, 1e-8) == 4.6
