"""The pair price process: the touch grid, exact reversion of the gap, dislocations,
the volatility scale, and determinism for a seed."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import PairPriceProcess, PriceProcessParams, touch
from protocols.rules import float_noise, step_decimals

TICKS = st.sampled_from([0.0001, 0.001, 0.01, 0.1, 0.5, 1.0])


@given(mid=st.floats(0.01, 1e6), tick=TICKS)
def test_the_touch_is_one_tick_wide_on_the_grid_around_the_mid(mid, tick):
    bid, ask = touch(mid, tick)
    decimals = step_decimals(tick)
    assert bid == round(bid, decimals) and ask == round(ask, decimals)
    assert round(ask / tick) - round(bid / tick) == 1  # one grid step apart
    # round_down treats a value within 1e-9 of a step below a grid line, or within its
    # float noise, as on it.
    assert bid <= mid + max(tick * 1e-9, float_noise(mid))
    assert mid < ask


def test_without_noise_the_gap_halves_every_half_life_and_spot_stays():
    params = PriceProcessParams(
        volatility_annual=0.0,
        gap_mean=0.001,
        gap_stdev=0.0,
        gap_half_life_s=600.0,
        dislocations_per_hour=0.0,
    )
    process = PairPriceProcess(params, 100.0, 0.011)
    process.step(600.0, random.Random(1))
    assert process.gap == pytest.approx(0.001 + 0.010 / 2, rel=1e-12)
    process.step(1_200.0, random.Random(1))
    assert process.gap == pytest.approx(0.001 + 0.010 / 8, rel=1e-12)
    assert process.spot_mid == 100.0
    assert process.perp_mid == pytest.approx(100.0 * (1.0 + process.gap), rel=1e-15)


def test_a_step_of_no_time_changes_nothing():
    process = PairPriceProcess.start(50.0, PriceProcessParams())
    before = (process.spot_mid, process.gap)
    process.step(0.0, random.Random(1))
    process.step(-5.0, random.Random(1))
    assert (process.spot_mid, process.gap) == before


def test_dislocate_puts_the_perpetual_at_a_premium_over_its_mean():
    params = PriceProcessParams(gap_mean=0.0002, dislocation_size=0.012)
    process = PairPriceProcess.start(100.0, params)
    process.dislocate()
    assert process.gap == pytest.approx(0.0122)
    process.dislocate(0.03)
    assert process.perp_mid == pytest.approx(100.0 * 1.0302)


def test_random_dislocations_jump_the_gap_about_the_configured_size():
    # With a jump rate this high every one-second step jumps; what is left after the
    # jump's reversion within that second is within a hair of the full size.
    params = PriceProcessParams(
        gap_stdev=0.0,
        gap_mean=0.0,
        dislocations_per_hour=3_600_000.0,
        dislocation_size=0.01,
        gap_half_life_s=900.0,
    )
    process = PairPriceProcess.start(100.0, params)
    rng = random.Random(3)
    signs = set()
    for _ in range(50):
        process.step(1.0, rng)
        assert 0.01 * 2 ** (-1 / 900) <= abs(process.gap) <= 0.01
        signs.add(math.copysign(1.0, process.gap))
    assert signs == {1.0, -1.0}


def test_spot_log_returns_have_the_configured_volatility():
    params = PriceProcessParams(volatility_annual=0.8, dislocations_per_hour=0.0)
    process = PairPriceProcess.start(100.0, params)
    rng = random.Random(11)
    dt = 60.0
    returns = []
    for _ in range(20_000):
        before = process.spot_mid
        process.step(dt, rng)
        returns.append(math.log(process.spot_mid / before))
    expected_variance = 0.8**2 * dt / (365 * 24 * 3600)
    # The sample variance of n normal draws has a relative standard error of sqrt(2/n),
    # 1% here; 5% is five standard errors.
    assert statistics.pvariance(returns) == pytest.approx(expected_variance, rel=0.05)


def test_the_same_seed_gives_the_same_path():
    paths = []
    for _ in range(2):
        process = PairPriceProcess.start(100.0, PriceProcessParams(dislocations_per_hour=30.0))
        rng = random.Random(42)
        path = []
        for _ in range(500):
            process.step(2.0, rng)
            path.append((process.spot_mid, process.gap))
        paths.append(path)
    assert paths[0] == paths[1]


@pytest.mark.parametrize(
    "bad",
    [
        {"volatility_annual": -0.1},
        {"gap_half_life_s": 0.0},
        {"dislocations_per_hour": -1.0},
        {"dislocation_size": 0.6},
    ],
)
def test_nonsense_parameters_are_refused(bad):
    with pytest.raises(ValueError, match="price process"):
        PriceProcessParams(**bad)
