"""The market: advancing time, funding settlements and rates, dislocations, determinism."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import PriceProcessParams, SimConfig, SimMarket
from actors.sim.funding import funding_rate
from protocols.model import Leg, Symbol

from .helpers import COIN, T0, coin, config

EIGHT_HOURS = 8 * 3600.0


def market(cfg: SimConfig | None = None, seed: int = 1, now: float = T0) -> SimMarket:
    return SimMarket(cfg or config(), random.Random(seed), now)


def test_the_books_start_drawn_around_the_start_price():
    m = market()
    for leg in Leg:
        quote = m.quote(COIN, leg)
        assert (quote.bid, quote.ask) == (100.0, 100.01)
        assert quote.venue_ts == T0
    assert m.spot_mid(COIN) == m.mark_price(COIN) == 100.0


def test_advance_moves_time_and_redraws_every_book():
    m = market(config(coin(PriceProcessParams())))
    versions = {leg: m.book(COIN, leg).version for leg in Leg}
    m.advance(T0 + 1.0)
    assert m.now == T0 + 1.0
    for leg in Leg:
        assert m.book(COIN, leg).version == versions[leg] + 1
        assert m.quote(COIN, leg).venue_ts == T0 + 1.0


def test_time_going_backwards_changes_nothing():
    m = market(config(coin(PriceProcessParams())))
    m.advance(T0 + 10.0)
    before = m.book(COIN, Leg.SPOT).snapshot()
    assert m.advance(T0 + 5.0) == []
    assert m.advance(T0 + 10.0) == []
    assert m.now == T0 + 10.0
    assert m.book(COIN, Leg.SPOT).snapshot() == before


def test_funding_settles_on_each_multiple_of_the_interval_passed():
    m = market()
    next_ts = 1_700_006_400.0  # the first multiple of 8 hours after T0
    assert m.funding_rate(COIN).next_ts == next_ts
    assert m.advance(next_ts - 0.001) == []
    settlements = m.advance(next_ts + 2 * EIGHT_HOURS + 1.0)
    assert [s.ts for s in settlements] == [next_ts + k * EIGHT_HOURS for k in range(3)]
    assert m.funding_history(COIN) == tuple(settlements)
    assert m.funding_rate(COIN).next_ts == next_ts + 3 * EIGHT_HOURS
    # A still market with no premium pays the interest rate (0.01% per interval).
    assert all(s.rate == pytest.approx(0.0001) for s in settlements)
    assert all(s.mark_price == 100.0 for s in settlements)


def test_a_symbol_with_another_interval_settles_on_its_own_times():
    hourly = coin(funding_interval_s=3600.0)
    m = market(config(hourly))
    settlements = m.advance(T0 + 4 * 3600.0)
    assert len(settlements) == 4
    assert all(s.ts % 3600.0 == 0.0 for s in settlements)


def test_a_lasting_premium_is_charged_to_longs_up_to_the_cap():
    # A premium whose slow part sits at 0.2% and never moves (no spread).
    m = market(config(coin(funding_mean=0.002)))
    assert m.mark_price(COIN) == pytest.approx(100.2)
    (settlement,) = m.advance(1_700_006_400.0)
    # The interest rate pulls it down by at most 0.05%: 0.2% - 0.05%.
    assert settlement.rate == pytest.approx(0.0015, rel=1e-9)
    m = market(config(coin(funding_mean=0.01)))
    (settlement,) = m.advance(1_700_006_400.0)
    assert settlement.rate == 0.003  # the default cap


def test_a_shorter_interval_pays_its_share_of_the_8_hour_rate():
    # At the same premium an hourly contract pays an eighth of an 8-hour one, a 4-hour
    # one half: the same funding per hour whatever the interval.
    for hours, share in ((8, 1.0), (4, 0.5), (1, 0.125)):
        m = market(config(coin(funding_mean=0.002, funding_interval_s=hours * 3600.0)))
        settlements = m.advance(T0 + 8 * 3600.0)
        assert len(settlements) == 8 // hours
        assert all(s.rate == pytest.approx(0.0015 * share, rel=1e-9) for s in settlements)
        assert m.funding_rate(COIN).interval_s == hours * 3600.0


def test_a_dislocation_moves_the_price_but_not_the_funding():
    # Dislocations stand in for the brief gaps an arbitrage lives on, far more often than
    # real markets show them: funding follows the premium without them. One long step or
    # many short ones: the same rate.
    for steps in (1, 64):
        m = market()
        m.dislocate(COIN, 0.002)
        assert m.mark_price(COIN) == pytest.approx(100.2)
        settlements = []
        for i in range(1, steps + 1):
            settlements += m.advance(T0 + 6_400.0 * i / steps)
        assert [s.rate for s in settlements] == [pytest.approx(0.0001, rel=1e-9)]
        assert m.funding_rate(COIN).rate == pytest.approx(0.0001, rel=1e-9)


@given(premium=st.floats(-0.1, 0.1), interest=st.floats(-0.001, 0.001), cap=st.floats(0.0, 0.01))
def test_the_funding_rate_formula(premium, interest, cap):
    rate = funding_rate(premium, interest, cap)
    assert -cap <= rate <= cap
    uncapped = premium + min(max(interest - premium, -0.0005), 0.0005)
    assert rate == min(max(uncapped, -cap), cap)
    if abs(interest - premium) <= 0.0005 and abs(interest) <= cap:
        assert rate == pytest.approx(interest, abs=1e-15)


def test_dislocate_shows_in_the_futures_book_at_once():
    m = market()
    version = m.book(COIN, Leg.FUTURES).version
    m.dislocate(COIN, 0.01)
    quote = m.quote(COIN, Leg.FUTURES)
    assert (quote.bid, quote.ask) == (101.0, 101.01)
    assert m.book(COIN, Leg.FUTURES).version == version + 1
    assert m.quote(COIN, Leg.SPOT).ask == 100.01


def test_the_same_seed_gives_the_same_market_and_another_seed_another():
    cfg = config(coin(PriceProcessParams(dislocations_per_hour=20.0)))

    def run(seed):
        m = market(cfg, seed=seed)
        out = []
        for i in range(1, 200):
            m.advance(T0 + 7.0 * i)
            out.append((m.book(COIN, Leg.SPOT).snapshot(), m.book(COIN, Leg.FUTURES).snapshot()))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_many_symbols_advance_together():
    symbols = tuple(
        msgspec.structs.replace(coin(PriceProcessParams()), symbol=Symbol(f"C{i}", "USDT"))
        for i in range(60)
    )
    m = market(config(symbols=symbols))
    m.advance(T0 + 0.1)
    assert len(m.symbols) == 60
    assert all(m.quote(s, Leg.FUTURES).venue_ts == T0 + 0.1 for s in m.symbols)


def test_a_market_held_still_restates_its_books_and_resumes_as_if_no_time_had_passed():
    moving = config(coin(PriceProcessParams()))
    held, twin = market(moving), market(moving)
    for m in (held, twin):
        m.advance(T0 + 1.0)
    books = {leg: held.book(COIN, leg).snapshot() for leg in Leg}
    settlements = held.stand_still(T0 + 1.0 + EIGHT_HOURS)
    # Nothing moved, every book was pushed again as a new version of the same levels, and
    # the settlement that fell due on the way was paid.
    assert [s.ts for s in settlements] == [held.funding_history(COIN)[-1].ts]
    for leg in Leg:
        again = held.book(COIN, leg).snapshot()
        assert (again.bids, again.asks) == (books[leg].bids, books[leg].asks)
        assert again.version == books[leg].version + 1
        assert held.quote(COIN, leg).venue_ts == T0 + 1.0 + EIGHT_HOURS
    # Then one second on: the same step as a market that was never held.
    held.advance(T0 + 2.0 + EIGHT_HOURS)
    twin.advance(T0 + 2.0)
    assert (held.spot_mid(COIN), held.mark_price(COIN)) == (
        twin.spot_mid(COIN),
        twin.mark_price(COIN),
    )


def test_symbols_advanced_apart_keep_their_own_times():
    symbols = tuple(
        msgspec.structs.replace(coin(PriceProcessParams()), symbol=Symbol(f"C{i}", "USDT"))
        for i in range(3)
    )
    m = market(config(symbols=symbols))
    first, second, third = m.symbols
    m.advance(T0 + 0.05, [first])
    m.advance(T0 + 0.08, [second])
    assert m.now == T0 + 0.08
    assert [m.quote(s, Leg.FUTURES).venue_ts for s in m.symbols] == [T0 + 0.05, T0 + 0.08, T0]
    # A symbol already there does not move again, whatever the market's latest time.
    versions = [m.book(s, Leg.SPOT).version for s in m.symbols]
    m.advance(T0 + 0.05, [first, second, third])
    assert [m.book(s, Leg.SPOT).version for s in m.symbols] == [
        versions[0],
        versions[1],
        versions[2] + 1,
    ]
    assert m.now == T0 + 0.08


def test_a_symbol_advanced_on_its_own_settles_its_funding_at_the_due_time():
    symbols = tuple(
        msgspec.structs.replace(coin(PriceProcessParams()), symbol=Symbol(f"C{i}", "USDT"))
        for i in range(2)
    )
    m = market(config(symbols=symbols))
    first, second = m.symbols
    due = m.funding_rate(first).next_ts
    (settlement,) = m.advance(due + 0.03, [first])
    assert (settlement.symbol, settlement.ts) == (first, due)
    (settlement,) = m.advance(due + 0.06, [second])
    assert (settlement.symbol, settlement.ts) == (second, due)
