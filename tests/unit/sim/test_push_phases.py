"""The servers' tick spread over its phases: which symbols move when, on trio's MockClock,
and a depth skip asked for every symbol served once each symbol has had its pass."""

from __future__ import annotations

import msgspec
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import PriceProcessParams, ServerConfig, SimServers
from actors.sim.servers import push_phases
from actors.sim.wire_faults import WireFaults
from protocols.model import Leg, Symbol

from .helpers import coin, config


def _symbols(count: int) -> tuple[Symbol, ...]:
    return tuple(Symbol(f"C{i}", "USDT") for i in range(count))


@given(st.integers(1, 400), st.sampled_from([0.001, 0.0105, 0.02, 0.05, 0.1, 1.0]))
def test_every_symbol_has_one_phase_and_the_phases_are_even(count, tick_s):
    symbols = _symbols(count)
    phases = push_phases(symbols, tick_s)
    assert sorted(str(s) for phase in phases for s in phase) == sorted(map(str, symbols))
    assert len(phases) <= count
    assert tick_s / len(phases) >= 0.001 - 1e-12
    assert max(map(len, phases)) - min(map(len, phases)) <= 1


def test_two_hundred_symbols_at_50_ms_take_four_a_millisecond():
    phases = push_phases(_symbols(200), 0.05)
    assert (len(phases), {len(phase) for phase in phases}) == (50, {4})


def _servers(count: int, tick_s: float) -> SimServers:
    symbols = tuple(
        msgspec.structs.replace(coin(PriceProcessParams()), symbol=symbol)
        for symbol in _symbols(count)
    )
    return SimServers(config(symbols=symbols, servers=ServerConfig(tick_s=tick_s)))


async def test_each_symbol_moves_at_its_own_phase_once_a_tick(autojump_clock):
    servers = _servers(3, 0.1)
    servers.clock.start()
    start = servers.clock.now()
    market = servers.venues.market

    def moved_at() -> list[float]:
        return [market.quote(s, Leg.FUTURES).venue_ts - start for s in market.symbols]

    built = moved_at()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(servers._move_market)
        await trio.sleep(0.05)
        assert moved_at() == [pytest.approx(0.1 / 3), built[1], built[2]]
        await trio.sleep(0.2)
        assert moved_at() == [
            pytest.approx(0.1 / 3 + 0.2),
            pytest.approx(0.2 / 3 + 0.1),
            pytest.approx(0.2),
        ]
        nursery.cancel_scope.cancel()


async def test_a_held_market_restates_each_symbol_at_its_phase(autojump_clock):
    servers = _servers(2, 0.1)
    servers.clock.start()
    market = servers.venues.market
    servers.hold(10.0)
    first, second = market.symbols
    levels = {s: market.book(s, Leg.SPOT).snapshot() for s in market.symbols}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(servers._move_market)
        await trio.sleep(0.075)
        assert market.book(first, Leg.SPOT).version == levels[first].version + 1
        assert market.book(second, Leg.SPOT).version == levels[second].version
        await trio.sleep(0.05)
        for s in market.symbols:
            again = market.book(s, Leg.SPOT).snapshot()
            assert (again.version, again.bids, again.asks) == (
                levels[s].version + 1,
                levels[s].bids,
                levels[s].asks,
            )
        nursery.cancel_scope.cancel()


async def test_a_depth_skip_for_every_symbol_lasts_until_each_symbol_has_had_its_pass():
    first, second = _symbols(2)
    faults = WireFaults()
    faults.skip_depth_update(None)
    assert faults.take_depth_skip(first)
    faults.depth_pass_done([first], 2)
    # The first symbol's pass came again before the second had its own: no second skip.
    assert not faults.take_depth_skip(first)
    assert faults.view().depth_skips_pending == ["*"]
    assert faults.take_depth_skip(second)
    faults.depth_pass_done([second], 2)
    assert faults.view().depth_skips_pending == []
    assert faults.injected["depth_skip"] == 2
