"""The Gate.io futures account as Basis trades on it, against the simulated venue: each
contract's leverage set to the configured one, dual position mode refused, the user id
read from the venue (and a configured one that is not the account's refused), and what
goes wrong with these shown in ``/status`` and ``/health``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState
from actors.runtime.ops.status import TaskStatus, build_status
from actors.runtime.ops.status_server import serve_status
from actors.runtime.system import AccountRefused, TradingSystem, running
from actors.sim.ledger import OrderAccepted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from actors.venues.gateio import DUAL_MODE_FIX, GateioRouterCodec, held_otherwise
from actors.venues.rest import RestClient
from protocols import gateio_rest
from protocols.model import Symbol
from protocols.rules import round_to_tick
from protocols.venue import PositionSettings
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")


def config(leverage: float = 3.0, user_id: str = "", **futures: object) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "futures_leverage": leverage},
            "venues": {"futures": {"kind": "gateio_futures", "user_id": user_id}},
            "sim": {"futures": futures},
        },
        SystemConfig,
    )


@asynccontextmanager
async def simulated(config: SystemConfig) -> AsyncIterator[SimServers]:
    async with trio.open_nursery() as nursery:
        sim = SimServers(config.simulated())
        await nursery.start(sim.run)
        yield sim
        nursery.cancel_scope.cancel()


def system_at(config: SystemConfig, sim: SimServers, data_dir) -> TradingSystem:
    """The system of ``config`` on ``sim``, its futures user id as ``config`` names it."""
    venues = config.venues_at(sim.urls)
    futures = msgspec.structs.replace(venues.futures, user_id=config.venues.futures.user_id)
    return TradingSystem(
        msgspec.structs.replace(config, venues=msgspec.structs.replace(venues, futures=futures)),
        data_dir,
        credentials=config.simulated_credentials(),
        venues_are_new=True,
    )


async def positions_listed(sim: SimServers, config: SystemConfig) -> dict[str, dict]:
    """``GET /futures/usdt/positions`` of the simulated account, by contract."""
    keys = config.simulated_credentials()["gateio_futures"]
    request = gateio_rest.signed_request(
        "GET", "/futures/usdt/positions", "", b"", keys, int(time.time())
    )
    rest = RestClient(sim.urls.gateio_rest)
    try:
        response = await rest.send(request)
    finally:
        await rest.aclose()
    assert response.status == 200, response.body
    return {p["contract"]: p for p in msgspec.json.decode(response.body)}


def task_of(system: TradingSystem, symbol: Symbol) -> TaskStatus:
    return next(t for t in build_status(system).tasks if t.symbol == str(symbol))


async def test_each_contract_is_held_at_the_configured_leverage_and_its_liquidation_price_shows(
    tmp_path,
):
    cfg = config(leverage=3.0)
    async with simulated(cfg) as sim, running(system_at(cfg, sim, tmp_path)) as system:
        listed = await positions_listed(sim, cfg)
        assert {c: p["leverage"] for c, p in listed.items()} == {"BTC_USDT": "3", "ETH_USDT": "3"}
        assert {p["mode"] for p in listed.values()} == {"single"}
        assert task_of(system, BTC).futures_leverage == 3.0
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        await wait_until(lambda: btc.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        held = sim.gateio.futures.position(BTC)
        assert held.leverage == 3.0 and held.contracts < 0
        # The short's liquidation price, pushed by the venue as the position changed (on
        # the contract's price grid, as the venue writes its prices).
        shown = round_to_tick(held.liq_price, sim.gateio.futures.rules(BTC).price_tick)
        await wait_until(lambda: task_of(system, BTC).liquidation_price == shown, 10)
        assert held.liq_price > held.entry_price


async def refused_at_start(cfg: SystemConfig, sim: SimServers, data_dir) -> str:
    """What starting the system of ``cfg`` on ``sim`` is refused with."""
    system = system_at(cfg, sim, data_dir)
    try:
        with pytest.raises(AccountRefused) as refused:
            await system.run()
    finally:
        await system.aclose()
    return str(refused.value)


async def test_an_account_in_dual_position_mode_is_refused_at_start_with_the_fix(tmp_path):
    cfg = config(dual_mode=True)
    async with simulated(cfg) as sim:
        said = await refused_at_start(cfg, sim, tmp_path)
    assert "dual (hedge) position mode" in said
    assert "switch the account to single position mode" in said


async def test_a_configured_user_id_that_is_not_the_accounts_is_refused_at_start(tmp_path):
    cfg = config(user_id="424242")
    async with simulated(cfg) as sim:
        said = await refused_at_start(cfg, sim, tmp_path)
    assert "user_id = '424242'" in said and "Gate.io user 10001" in said


async def test_the_user_id_comes_from_the_venue_and_opens_the_private_stream(tmp_path):
    # Nothing configured: the venue says whose key it is, and its private channels take it.
    cfg = config(user_id="")
    async with simulated(cfg) as sim, running(system_at(cfg, sim, tmp_path)) as system:
        router = system.venues["gateio_futures"].router
        await wait_until(lambda: router.statistics().private_stream_up, 10)
        assert system.venues["gateio_futures"].router.private.user_id == "10001"
        assert build_status(system).routers[1].private_stream_down is None


async def test_a_contract_whose_leverage_cannot_be_set_is_not_entered_and_health_says_so(
    tmp_path,
):
    # ETH's contract takes at most 2x; the strategy wants 3x: ETH is not entered, BTC is.
    cfg = config(leverage=3.0, contract_max_leverage={"ETH/USDT": 2.0})
    async with (
        simulated(cfg) as sim,
        running(system_at(cfg, sim, tmp_path)) as system,
        trio.open_nursery() as nursery,
    ):
        port = await nursery.start(serve_status, system, 0)
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        eth = next(h for h in system.strategies.values() if h.symbol == ETH)
        await wait_until(lambda: btc.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        await wait_until(lambda: eth.actor.ctx.last_skip_reason is not None, 10)
        assert "LEVERAGE_TOO_HIGH" in eth.actor.ctx.last_skip_reason
        assert eth.actor.ctx.state is ArbitrageState.MONITORING
        accepted = [e.order.symbol for e in sim.ledgers().gateio if isinstance(e, OrderAccepted)]
        assert BTC in accepted and ETH not in accepted
        refused = build_status(system).routers[1].entries_refused
        assert list(refused) == ["ETH/USDT"]
        assert "leverage 3 could not be set" in refused["ETH/USDT"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["state"] == "degraded"
        assert "ETH/USDT entries refused: leverage 3 could not be set" in health.json()["reason"]
        nursery.cancel_scope.cancel()


async def test_a_refused_private_stream_makes_health_degraded(tmp_path):
    cfg = config()
    async with simulated(cfg) as sim, running(system_at(cfg, sim, tmp_path)) as system:
        router = system.venues["gateio_futures"].router
        await wait_until(lambda: router.statistics().private_stream_up, 10)
        # The venue stops knowing the user (as after the key moved to another account):
        # every subscription is refused from the next connection on.
        sim.gateio.user_id = "999"
        sim.gateio.send_upgrade_notice()
        await wait_until(lambda: not router.statistics().private_stream_up, 10)
        await wait_until(lambda: "refused" in (router.statistics().private_stream_down or ""), 10)
        status = build_status(system)
        assert status.health in ("degraded", "failing") and not status.healthy
        assert "router-gateio_futures private stream down: private subscription refused" in (
            status.health_reason
        )


async def test_a_rules_load_on_an_account_in_dual_mode_refuses_every_entry(tmp_path):
    # The account may be switched while Basis runs: each rules load checks it again.
    cfg = config(dual_mode=True)
    async with simulated(cfg) as sim:
        keys = cfg.simulated_credentials()["gateio_futures"]
        codec = GateioRouterCodec(keys, {BTC: 3.0, ETH: 3.0})
        rest = RestClient(sim.urls.gateio_rest)
        try:
            rules = await codec.load_rules(rest, [BTC, ETH])
        finally:
            await rest.aclose()
    assert {symbol: r.entries_refused for symbol, r in rules.items()} == {
        BTC: DUAL_MODE_FIX,
        ETH: DUAL_MODE_FIX,
    }
    assert sim.gateio.futures.position(BTC).leverage == 1.0  # nothing was changed


def test_a_leverage_read_back_as_the_configured_one_in_another_rounding_is_held_so():
    """A leverage a float computation reaches (3 as thirty 0.1s added) is the venue's "3"."""
    read_back = PositionSettings(BTC, 0.0, 3.0, 0.0, "single", 0.0)
    assert held_otherwise(read_back, sum([0.1] * 30)) is None
    held_at_two = PositionSettings(BTC, 0.0, 2.0, 0.0, "single", 0.0)
    assert "not isolated at 3" in held_otherwise(held_at_two, 3.0)
