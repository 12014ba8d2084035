"""The funding forecast's arithmetic: the settlement schedule, the decayed mean of the
settled rates (per hour, each counted once) and the funding expected over a hold."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.arbitrage.context import FundingHistory
from actors.arbitrage.funding_forecast import (
    HOUR_S,
    fold,
    forecast,
    next_settlement,
    settlements_within,
)

INTERVALS = st.sampled_from([3600.0, 4 * 3600.0, 8 * 3600.0])
RATES = st.floats(-0.003, 0.003, allow_nan=False)
TIMES = st.floats(1.7e9, 1.8e9, allow_nan=False)
HOLDS = st.floats(0.0, 200 * HOUR_S, allow_nan=False)
HALF_LIVES = st.floats(1.0, 500.0)


@given(TIMES, st.one_of(st.none(), TIMES), INTERVALS)
def test_the_next_settlement_is_the_first_of_the_schedule_after_now(now, next_ts, interval):
    first = next_settlement(now, next_ts, interval)
    assert now < first
    if next_ts is not None and next_ts > now:
        assert first == next_ts  # the venue's word
        return
    assert first <= now + interval + 1e-6
    # On the contract's schedule: a whole number of intervals from its anchor.
    steps = (first - (0.0 if next_ts is None else next_ts)) / interval
    assert abs(steps - round(steps)) < 1e-6


@given(TIMES, INTERVALS, HOLDS)
def test_the_settlements_counted_are_those_within_the_hold(now, interval, hold):
    first = next_settlement(now, None, interval)
    count = settlements_within(first, interval, now + hold)
    brute = 0
    t = first
    while t <= now + hold:
        brute += 1
        t += interval
    assert count == brute


@given(st.lists(st.tuples(RATES, INTERVALS), min_size=1, max_size=30), HALF_LIVES)
def test_the_decayed_mean_lies_within_the_hourly_rates_folded(settled, half_life):
    history = FundingHistory()
    t = 1.75e9
    hourly = []
    for rate, interval in settled:
        t += interval
        history = fold(history, rate, interval, t, half_life)
        hourly.append(rate / (interval / HOUR_S))
    assert min(hourly) - 1e-15 <= history.mean_per_h <= max(hourly) + 1e-15
    assert history.settled_until == t


@given(RATES, INTERVALS, st.integers(1, 40), HALF_LIVES)
def test_a_constant_rate_is_its_own_mean_per_hour(rate, interval, count, half_life):
    history = FundingHistory()
    for n in range(count):
        history = fold(history, rate, interval, 1.75e9 + n * interval, half_life)
    assert history.mean_per_h == pytest.approx(rate / (interval / HOUR_S), abs=1e-15)


@given(RATES, RATES, HALF_LIVES)
def test_newer_rates_weigh_more_the_shorter_the_half_life(old, new, half_life):
    interval = 8 * HOUR_S

    def mean(half_life: float) -> float:
        history = FundingHistory()
        history = fold(history, old, interval, 1.75e9, half_life)
        return fold(history, new, interval, 1.75e9 + interval, half_life).mean_per_h

    hours = interval / HOUR_S
    # Two settlements: the older's weight is decayed by one interval's half-lives.
    kept = 0.5 ** (8.0 / half_life)
    expected = (old / hours * hours * kept + new) / (hours * kept + hours)
    assert mean(half_life) == pytest.approx(expected, abs=1e-15)
    assert abs(mean(half_life / 2) - new / hours) <= abs(mean(half_life) - new / hours) + 1e-15


@given(RATES, INTERVALS, HALF_LIVES, st.integers(0, 3))
def test_a_rate_reported_again_is_not_folded_twice(rate, interval, half_life, earlier):
    history = fold(FundingHistory(), 0.0001, interval, 1.75e9, half_life)
    history = fold(history, rate, interval, 1.75e9 + interval, half_life)
    again = fold(history, rate, interval, 1.75e9 + interval - earlier * interval, half_life)
    assert again == history


@given(RATES, TIMES, HOLDS)
def test_a_one_hour_contract_earns_eight_times_an_eight_hour_one_at_the_same_rate(rate, now, hold):
    # Settlements every hour and every 8 h, aligned on the epoch; the hold covers whole
    # 8 h periods so both count the same time.
    start = math.floor(now / (8 * HOUR_S)) * 8 * HOUR_S
    hold = math.ceil(hold / (8 * HOUR_S)) * 8 * HOUR_S
    hourly = fold(FundingHistory(), rate, HOUR_S, start - HOUR_S, 24.0)
    eightly = fold(FundingHistory(), rate, 8 * HOUR_S, start - 8 * HOUR_S, 24.0)
    one = forecast(start, hold, None, None, HOUR_S, hourly)
    eight = forecast(start, hold, None, None, 8 * HOUR_S, eightly)
    assert one.settlements == 8 * eight.settlements
    assert one.expected == pytest.approx(8 * eight.expected, rel=1e-9, abs=1e-15)


@given(RATES, RATES, TIMES, HOLDS, INTERVALS)
def test_the_forecast_is_the_indicative_rate_then_the_mean_per_settlement(
    indicative, mean_rate, now, hold, interval
):
    history = fold(FundingHistory(), mean_rate, interval, now - interval, 24.0)
    next_ts = now + interval / 2
    result = forecast(now, hold, indicative, next_ts, interval, history)
    count = settlements_within(next_ts, interval, now + hold)
    assert result.settlements == count
    expected = 0.0 if count == 0 else indicative + (count - 1) * mean_rate
    assert result.expected == pytest.approx(expected, abs=1e-12)


@given(st.floats(0.0, 0.003), st.floats(0.0, 0.003), TIMES, HOLDS, INTERVALS)
def test_positive_rates_are_received_and_negative_ones_paid(a, b, now, hold, interval):
    history = fold(FundingHistory(), b, interval, now - interval, 24.0)
    received = forecast(now, hold, a, now + 1.0, interval, history).expected
    negative = fold(FundingHistory(), -b, interval, now - interval, 24.0)
    paid = forecast(now, hold, -a, now + 1.0, interval, negative).expected
    assert received >= 0.0
    assert paid == pytest.approx(-received, abs=1e-15)


@given(RATES, TIMES, INTERVALS)
def test_a_rate_past_its_settlement_counts_only_as_the_mean(rate, now, interval):
    # No settled rate yet: the last rate known stands in for the mean.
    result = forecast(now, interval * 3, rate, now - 1.0, interval, FundingHistory())
    assert result.settlements == 3
    assert result.expected == pytest.approx(3 * rate, abs=1e-15)
    nothing = forecast(now, interval * 3, None, None, interval, FundingHistory())
    assert nothing.expected == 0.0
    assert nothing.next_rate is None
