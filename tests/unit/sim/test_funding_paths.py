"""The simulated funding rate paths: the slow premium's exact steps, and the statistics of
long seeded runs: persistence, reversion to the configured mean, negative stretches at
the chance the configuration implies, each contract on its own interval.

The runs are seeded, so each test sees one fixed path and cannot be flaky; the bounds
are those the path's theory gives with room for a few standard errors of the run's
length (worked out beside each), so another seed would pass them too.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import PriceProcessParams, SimConfig, SimMarket
from actors.sim.config import DEFAULT_SYMBOLS
from actors.sim.funding import INTEREST_BAND, PremiumBias
from protocols.model import Symbol

from .helpers import COIN, T0, coin, config

HOUR = 3600.0
DAY = 24 * HOUR
QUIET = PriceProcessParams(
    volatility_annual=0.0, gap_mean=0.0, gap_stdev=0.0, dislocations_per_hour=0.0
)
"""Prices without a fast gap: the rate is the slow premium's alone."""


def rates(
    settlements: int,
    interval_s: float = 8 * HOUR,
    process: PriceProcessParams = QUIET,
    step_s: float | None = None,
    seed: int = 7,
    **funding: float,
) -> list[float]:
    """The rates of the first ``settlements`` of a coin, advanced ``step_s`` at a time
    (one interval by default: exact, as every step is)."""
    cfg = config(coin(process, funding_interval_s=interval_s, **funding), seed=seed)
    m = SimMarket(cfg, random.Random(seed), T0)
    step = step_s or interval_s
    t = T0
    while len(m.funding_history(COIN)) < settlements:
        t += step
        m.advance(t)
    return [s.rate for s in m.funding_history(COIN)[:settlements]]


def lag1(xs: list[float]) -> float:
    mean = statistics.fmean(xs)
    d = [x - mean for x in xs]
    return sum(a * b for a, b in itertools.pairwise(d)) / sum(a * a for a in d)


def negative_runs(xs: list[float]) -> list[int]:
    """The lengths of the runs of negative rates."""
    runs, length = [], 0
    for x in xs:
        if x < 0.0:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    return runs + ([length] if length else [])


@given(
    away=st.floats(-0.01, 0.01),
    mean=st.floats(-0.001, 0.001),
    half_life=st.floats(60.0, 10 * DAY),
    span=st.floats(1.0, 30 * DAY),
    steps=st.integers(1, 50),
)
def test_without_spread_the_bias_reverts_exactly_and_its_area_adds_up(
    away, mean, half_life, span, steps
):
    bias = PremiumBias(mean, 0.0, half_life, random.Random(1))
    bias.value = mean + away
    area = math.fsum(bias.step(span / steps) for _ in range(steps))
    theta = math.log(2.0) / half_life
    assert bias.value == pytest.approx(mean + away * 2.0 ** (-span / half_life), abs=1e-15)
    expected = mean * span + away * -math.expm1(-theta * span) / theta
    assert area == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_the_bias_reverts_to_its_mean_and_spreads_as_configured():
    # 4,000 independent paths, each from 0.3% above the mean: after one half-life they
    # are 0.15% above it on average, with the spread the stationary one times
    # sqrt(1 - 1/4); the standard error of that average is 0.04% * 0.87 / sqrt(4000) =
    # 0.00055%, so 0.003% is five of them.
    mean, stdev, half_life = 0.0001, 0.0004, 2 * DAY
    ends = []
    for seed in range(4_000):
        bias = PremiumBias(mean, stdev, half_life, random.Random(seed))
        bias.value = mean + 0.003
        bias.step(half_life)
        ends.append(bias.value)
    assert statistics.fmean(ends) == pytest.approx(mean + 0.0015, abs=0.00003)
    assert statistics.pstdev(ends) == pytest.approx(stdev * math.sqrt(0.75), rel=0.05)


def test_rates_persist_for_days_and_a_short_half_life_does_not():
    # A premium halving its distance to the mean every 2 days keeps 2 ** (-1/6) = 0.89 of
    # it from one 8-hour settlement to the next; the interest band, where rates sit at
    # the interest rate, takes some of that correlation off the rates. With a 1-hour
    # half-life only the hours either side of a settlement link two intervals' averages:
    # (1 - 2 ** -8) ** 2 / (2 (8 ln 2 - 1 + 2 ** -8)) = 0.11 between neighbours. 2,000
    # settlements: the standard error of a lag-1 autocorrelation is under 0.03.
    slow = rates(2_000, funding_mean=0.0001, funding_stdev=0.0005, funding_half_life_s=2 * DAY)
    fast = rates(2_000, funding_mean=0.0001, funding_stdev=0.0005, funding_half_life_s=HOUR)
    assert lag1(slow) > 0.6
    assert abs(lag1(fast)) < 0.2


def test_rates_revert_to_the_configured_mean_over_a_long_run():
    # A premium always above the band (0.3% +- 0.03%) pays premium - 0.05% at each
    # settlement, so the rates' mean is the configured mean less the band. 3,000
    # settlements of an AR(1) with 0.89 between neighbours: a standard error of
    # 0.03% * sqrt(1.89 / 0.11 / 3000) = 0.0023%; 0.01% is over four of them.
    mean = 0.003
    path = rates(3_000, funding_mean=mean, funding_stdev=0.0003, funding_half_life_s=2 * DAY)
    assert statistics.fmean(path) == pytest.approx(mean - INTEREST_BAND, abs=0.0001)
    # The first rates are near the mean too: the premium starts there.
    assert statistics.fmean(path[:10]) == pytest.approx(mean - INTEREST_BAND, abs=0.0002)


def test_negative_rates_come_in_stretches_at_the_chance_the_configuration_implies():
    # A rate is negative when the premium averaged over its interval is below -0.05%.
    # Averaged over 8 hours, a premium of spread s with a 1-day half-life spreads
    # s * 0.987; at mean 0 and s = 0.05% that is Φ(-0.05 / 0.0494) = 15.6% of the
    # settlements. 4,000 settlements with 0.79 between neighbours count as about 470
    # independent ones: a standard error of 1.7%; 5% is three of them.
    stdev, half_life = 0.0005, DAY
    path = rates(4_000, funding_mean=0.0, funding_stdev=stdev, funding_half_life_s=half_life)
    theta_t = math.log(2.0) * 8 * HOUR / half_life
    averaged = stdev * math.sqrt(2.0 * (theta_t - 1.0 + math.exp(-theta_t))) / theta_t
    chance = statistics.NormalDist().cdf(-INTEREST_BAND / averaged)
    share = sum(r < 0.0 for r in path) / len(path)
    assert share == pytest.approx(chance, abs=0.05)
    # Stretches, not isolated settlements: a run of negatives lasts several in a row.
    assert statistics.fmean(negative_runs(path)) > 2.0
    # A premium well above the band never turns the rate negative.
    assert min(rates(1_000, funding_mean=0.002, funding_stdev=0.0003)) > 0.0


def test_each_contract_settles_on_its_own_interval():
    hours = {"BTC": 8, "ETH": 4, "SOL": 1}
    symbols = tuple(
        msgspec.structs.replace(coin(), symbol=Symbol(base, "USDT"), funding_interval_s=h * HOUR)
        for base, h in hours.items()
    )
    m = SimMarket(config(symbols=symbols), random.Random(1), T0)
    m.advance(T0 + 2 * DAY)
    for base, h in hours.items():
        symbol = Symbol(base, "USDT")
        times = [s.ts for s in m.funding_history(symbol)]
        assert len(times) == 2 * 24 // h
        assert all(ts % (h * HOUR) == 0.0 for ts in times)
        assert all(b - a == h * HOUR for a, b in itertools.pairwise(times))
        published = m.funding_rate(symbol)
        assert (published.interval_s, published.next_ts) == (h * HOUR, times[-1] + h * HOUR)


def test_the_default_symbols_settle_every_8_4_and_1_hours_at_realistic_rates():
    # A year of each default contract, with its fast gap: rates sit at the interest rate
    # (0.01% per 8 hours, scaled to the interval) most of the time, average near it,
    # persist, and turn negative for some of the settlements, BTC the least often.
    cfg = SimConfig(seed=1, symbols=DEFAULT_SYMBOLS, depth=config().depth)
    m = SimMarket(cfg, random.Random(1), T0)
    for i in range(1, 365 * 24 + 1):
        m.advance(T0 + i * HOUR)
    negative = {}
    for sc in cfg.symbols:
        path = [s.rate * 8 * HOUR / sc.funding_interval_s for s in m.funding_history(sc.symbol)]
        assert len(path) == pytest.approx(365 * DAY / sc.funding_interval_s, abs=1)
        assert statistics.fmean(path) == pytest.approx(0.0001, abs=0.00005)
        assert sum(abs(r - 0.0001) < 1e-12 for r in path) / len(path) > 0.4
        assert lag1(path) > 0.5
        negative[sc.symbol.base] = sum(r < 0.0 for r in path) / len(path)
    assert 0.01 < negative["BTC"] < min(negative["ETH"], negative["SOL"]) < 0.3


def test_the_same_seed_gives_the_same_funding_path_and_another_seed_another():
    noisy = PriceProcessParams(gap_stdev=0.0004, dislocations_per_hour=2.0)

    def run(seed: int, step_s: float) -> list[float]:
        return rates(60, process=noisy, step_s=step_s, seed=seed, funding_stdev=0.0005)

    assert run(3, 600.0) == run(3, 600.0)
    assert run(3, 600.0) != run(4, 600.0)
