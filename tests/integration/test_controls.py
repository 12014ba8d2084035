"""The operator's controls on a running system, over its status port: who may use them,
pause and resume, and a quarantine that holds across restarts until resolved, each
resolution checked against the venues' ledgers."""

from __future__ import annotations

import math
from functools import partial

import httpx
import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState
from actors.cli.paper import open_paper_system
from actors.http_server import HttpRequest
from actors.runtime.controls import ControlRefused, Controls
from actors.runtime.ops.control_endpoints import ControlEndpoints
from actors.runtime.ops.status import build_status
from actors.runtime.ops.status_server import serve_status
from actors.runtime.persistence.store import Store
from actors.sim.ledger import FillExecuted, OrderAccepted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.model import OrderType, RiskMode, Side, Symbol
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
TOKEN = "a-test-token-of-some-length"


def config(*symbols: str) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": list(symbols or ["BTC/USDT"]),
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
        },
        SystemConfig,
    )


CONTRACT = next(
    c.futures_rules.contract_size for c in config().simulated().symbols if c.symbol == BTC
)


def venue_net(entries, symbol) -> float:
    return sum(
        (e.fill.qty if e.fill.side is Side.BUY else -e.fill.qty)
        for e in entries
        if isinstance(e, FillExecuted) and e.fill.symbol == symbol
    )


def actions(path) -> list[tuple[str, str | None, str]]:
    with Store(path / "basis.db") as store:
        return [(a.action, a.symbol, a.result) for a in store.operator_actions()]


def whos(path) -> list[str | None]:
    with Store(path / "basis.db") as store:
        return [a.who for a in store.operator_actions()]


async def post(port: int, path: str, body: dict, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=90.0) as client:
        return await client.post(f"http://127.0.0.1:{port}{path}", json=body, headers=headers)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------ who may ask


REFUSALS = [
    (None, bearer(), 403, "control is off"),
    (TOKEN, {}, 401, "Authorization: Bearer"),
    (TOKEN, bearer("wrong"), 401, "Authorization: Bearer"),
    (TOKEN, {**bearer(), "Origin": "http://evil.example"}, 403, "Origin"),
    (TOKEN, {**bearer(), "Host": "rebound.example"}, 403, "Host must be"),
]


async def test_each_control_endpoint_refuses_who_may_not_use_it_and_does_nothing(tmp_path):
    requests = [
        ("/control/pause", {"symbol": "BTC/USDT"}),
        ("/control/resume", {}),
        ("/control/add", {"symbol": "BTC/USDT"}),
        ("/control/stop", {"flatten": True}),
        ("/control/quarantine/resolve", {"symbol": "BTC/USDT", "how": "forget"}),
        ("/control/risk/halt", {"reason": "a test"}),
    ]
    async with open_paper_system(config(), tmp_path) as system, trio.open_nursery() as nursery:
        # One instance started without a token, one with: each refusal asked of its own.
        ports = {
            token: await nursery.start(partial(serve_status, control_token=token), system, 0)
            for token in (None, TOKEN)
        }
        [handle] = system.strategies.values()
        for token, headers, status, says in REFUSALS:
            for path, body in requests:
                reply = await post(ports[token], path, body, **headers)
                assert reply.status_code == status, (path, headers, reply.text)
                assert says in reply.json()["error"]
            # The quarantine list asks the venues, signed: it takes the token too.
            async with httpx.AsyncClient(timeout=30.0) as client:
                url = f"http://127.0.0.1:{ports[token]}/quarantine"
                listed = await client.get(url, headers=headers)
            assert listed.status_code == status, listed.text
        assert handle.actor.ctx.paused_reason is None
        assert handle.actor.ctx.state is not ArbitrageState.STOPPED
        assert handle.actor.ctx.risk_mode is RiskMode.ACTIVE
        assert not system.stopped.is_set()
        nursery.cancel_scope.cancel()
    assert actions(tmp_path) == []


async def test_the_quarantine_list_is_refused_to_a_rebound_host_or_a_foreign_origin(tmp_path):
    async with open_paper_system(config(), tmp_path) as system, trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_status, control_token=TOKEN), system, 0)
        async with httpx.AsyncClient(timeout=30.0, headers=bearer()) as client:
            url = f"http://127.0.0.1:{port}/quarantine"
            served = await client.get(url)
            rebound = await client.get(url, headers={"Host": f"rebound.example:{port}"})
            foreign = await client.get(url, headers={"Origin": "http://evil.example"})
        assert (served.status_code, served.json()) == (200, {"quarantined": []})
        assert (rebound.status_code, foreign.status_code) == (403, 403)
        nursery.cancel_scope.cancel()


async def test_a_request_from_another_machine_is_refused(tmp_path):
    async with open_paper_system(config(), tmp_path) as system:
        endpoints = ControlEndpoints(system, 8080, TOKEN)
        request = HttpRequest(
            "POST",
            "/control/pause",
            "",
            {"host": "127.0.0.1:8080", "authorization": f"Bearer {TOKEN}"},
            b"{}",
            peer="192.0.2.7",
        )
        reply = await endpoints.handle(request)
        assert reply.status == 403
        assert b"this machine only" in reply.body
        [handle] = system.strategies.values()
        assert handle.actor.ctx.paused_reason is None
        # The same request from this machine is served.
        served = await endpoints.handle(
            HttpRequest(
                request.method, request.path, "", request.headers, request.body, "127.0.0.1"
            )
        )
        assert served.status == 200
    assert [a[0] for a in actions(tmp_path)] == ["pause"]


# --------------------------------------------------------------- pause and resume


async def test_pause_stops_entries_of_one_symbol_and_resume_lets_it_trade_again(tmp_path):
    two = config("BTC/USDT", "ETH/USDT")
    async with open_paper_system(two, tmp_path) as system, trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_status, control_token=TOKEN), system, 0)
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        eth = next(h for h in system.strategies.values() if h.symbol == ETH)
        named = {**bearer(), "X-Basis-Operator": "ann@desk"}
        unprintable = {**bearer(), "X-Basis-Operator": "ann\x7f@desk"}
        for bad in (unprintable, {**bearer(), "X-Basis-Operator": "a" * 81}):
            reply = await post(port, "/control/pause", {"symbol": "BTC/USDT"}, **bad)
            assert reply.status_code == 400, reply.text
            assert "X-Basis-Operator must be printable" in reply.json()["error"]
        assert btc.actor.ctx.paused_reason is None
        reply = await post(port, "/control/pause", {"symbol": "BTC/USDT"}, **named)
        assert reply.status_code == 200, reply.text
        assert reply.json()["result"].startswith("paused BTC/USDT")
        await wait_until(lambda: btc.actor.ctx.paused_reason == "paused by the operator")
        assert eth.actor.ctx.paused_reason is None
        reply = await post(port, "/control/pause", {"symbol": "DOGE/USDT"}, **named)
        assert reply.status_code == 404
        assert "does not trade DOGE/USDT" in reply.json()["error"]
        reply = await post(port, "/control/resume", {}, **bearer())
        assert reply.status_code == 200, reply.text
        await wait_until(lambda: btc.actor.ctx.paused_reason is None)
        nursery.cancel_scope.cancel()
    logged = actions(tmp_path)
    assert [(a, s) for a, s, _ in logged] == [
        ("pause", "BTC/USDT"),
        ("pause", "DOGE/USDT"),
        ("resume", None),
    ]
    assert logged[1][2].startswith("refused: this instance does not trade DOGE/USDT")
    assert whos(tmp_path) == [
        "ann@desk via the status port",
        "ann@desk via the status port",
        "the status port from 127.0.0.1",
    ]


# ------------------------------------------------------------------------- add


async def test_add_starts_a_symbol_at_rest_paused_if_paused_and_refuses_a_traded_one(tmp_path):
    two = config("BTC/USDT", "ETH/USDT")
    async with open_paper_system(two, tmp_path) as system, trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_status, control_token=TOKEN), system, 0)
        eth = next(h for h in system.strategies.values() if h.symbol == ETH)
        await system.controls.pause("ETH/USDT", who="ann")
        await system.remove_strategy(eth.task_id)
        assert build_status(system).symbols == ["BTC/USDT", "ETH/USDT"]
        reply = await post(port, "/control/add", {"symbol": "ETH/USDT"}, **bearer())
        assert reply.status_code == 200, reply.text
        [added] = [h for h in system.strategies.values() if h.symbol == ETH]
        assert added.task_id == eth.task_id  # its record was left active: it resumes
        assert reply.json()["result"] == f"ETH/USDT: task {added.task_id} started, paused"
        await wait_until(lambda: added.actor.ctx.paused_reason == "paused by the operator")
        for symbol, status, says in [
            ("ETH/USDT", 409, f"already traded by task {added.task_id}"),
            ("DOGE/USDT", 404, "does not trade DOGE/USDT"),
        ]:
            reply = await post(port, "/control/add", {"symbol": symbol}, **bearer())
            assert reply.status_code == status, reply.text
            assert says in reply.json()["error"]
        system.request_stop()
        with pytest.raises(ControlRefused, match="the instance is stopping") as refused:
            await system.controls.add("BTC/USDT", who="ann")
        assert refused.value.status == 409
        nursery.cancel_scope.cancel()
    assert [(a, s) for a, s, _ in actions(tmp_path)] == [
        ("pause", "ETH/USDT"),
        ("add", "ETH/USDT"),
        ("add", "ETH/USDT"),
        ("add", "DOGE/USDT"),
        ("add", "BTC/USDT"),
    ]


# ------------------------------------------------------------------- quarantine


async def quarantined_run(nursery, tmp_path, hand_trade):
    """Venues that outlive the runs, a first run that opens a BTC position, the account
    traded by hand (``hand_trade(sim)``) while Basis is down; returns the venues and the
    first run's task id. The next run quarantines BTC."""
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(config(), tmp_path, venues=urls) as first:
        [handle] = first.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
    hand_trade(sim)
    return sim, urls, handle.task_id


def more_short(sim: SimServers) -> None:
    sim.venues.futures.place_order(BTC, Side.SELL, OrderType.MARKET, 5, now=sim.clock.now())


async def test_a_quarantined_symbol_is_not_traded_at_later_starts(nursery, tmp_path):
    sim, urls, task_id = await quarantined_run(nursery, tmp_path, more_short)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        assert second.strategies == {}
        [held] = build_status(second).quarantined_symbols
        assert (held.symbol, held.task_id) == ("BTC/USDT", task_id)
        with pytest.raises(ControlRefused, match="BTC/USDT is quarantined") as refused:
            await second.controls.add("BTC/USDT", who="ann")
        assert refused.value.status == 409
        assert second.strategies == {}
    orders_before = len(sim.venues.futures.ledger)
    async with open_paper_system(config(), tmp_path, venues=urls) as third:
        assert third.strategies == {}  # not traded afresh on top of the position
        [held] = build_status(third).quarantined_symbols
        assert held.task_id == task_id
        assert "the futures short is" in held.reason
        await trio.sleep(1.0)
    assert len(sim.venues.futures.ledger) == orders_before


async def resolve(system, how: str) -> httpx.Response:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_status, control_token=TOKEN), system, 0)
        reply = await post(
            port, "/control/quarantine/resolve", {"symbol": "BTC/USDT", "how": how}, **bearer()
        )
        nursery.cancel_scope.cancel()
    return reply


async def test_the_quarantine_list_shows_the_record_and_what_the_venues_hold(nursery, tmp_path):
    sim, urls, task_id = await quarantined_run(nursery, tmp_path, more_short)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        [listed] = await second.controls.quarantine_list()
    ledgers = sim.ledgers()
    assert listed.task_id == task_id
    assert listed.venue_futures_short == pytest.approx(-venue_net(ledgers.gateio, BTC))
    assert listed.venue_spot_held == pytest.approx(venue_net(ledgers.mexc, BTC), abs=1e-9)
    assert listed.record_futures_qty == pytest.approx(listed.venue_futures_short - 5 * CONTRACT)
    assert listed.disagreement.startswith("the futures short is")


async def test_adopt_takes_the_venues_position_and_trades_it_to_flat(nursery, tmp_path):
    def both_legs_grow(sim: SimServers) -> None:
        more_short(sim)
        now = sim.clock.now()
        sim.venues.spot.place_order(BTC, Side.BUY, OrderType.MARKET, 5 * CONTRACT, now=now)

    sim, urls, task_id = await quarantined_run(nursery, tmp_path, both_legs_grow)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        reply = await resolve(second, "adopt")
        assert reply.status_code == 200, reply.text
        [handle] = second.strategies.values()
        assert handle.task_id == task_id
        ledgers = sim.ledgers()
        assert handle.actor.ctx.positions.futures.qty == pytest.approx(
            -venue_net(ledgers.gateio, BTC)
        )
        sim.dislocate(BTC, -0.015)
        await wait_until(lambda: handle.actor.ctx.arbitrage_cycles == 1, 20)
    ledgers = sim.ledgers()
    assert abs(venue_net(ledgers.gateio, BTC)) < 1e-12
    assert venue_net(ledgers.mexc, BTC) == pytest.approx(0.0, abs=2e-6)  # dust of fees
    assert build_status(second).quarantined_symbols == []
    assert actions(tmp_path)[-1][:2] == ("resolve --adopt", "BTC/USDT")


async def test_flatten_closes_both_legs_at_the_venues_and_the_record(nursery, tmp_path):
    sim, urls, task_id = await quarantined_run(nursery, tmp_path, more_short)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        reply = await resolve(second, "flatten")
        assert reply.status_code == 200, reply.text
        assert "flattened" in reply.json()["result"]
    ledgers = sim.ledgers()
    assert abs(venue_net(ledgers.gateio, BTC)) < 1e-12
    assert venue_net(ledgers.mexc, BTC) == pytest.approx(0.0, abs=2e-6)
    futures_buys = [
        e.order for e in ledgers.gateio if isinstance(e, OrderAccepted) and e.order.side is Side.BUY
    ]
    assert futures_buys and all(order.reduce_only for order in futures_buys)
    with Store(tmp_path / "basis.db") as store:
        assert store.task(task_id).state == "stopped"
        assert store.task(task_id).completed_at is not None
        assert store.quarantined() == []
    async with open_paper_system(config(), tmp_path, venues=urls) as third:
        [fresh] = third.strategies.values()
        assert fresh.task_id != task_id  # afresh at the next start


async def test_forget_drops_the_record_and_leaves_the_venues_alone(nursery, tmp_path):
    sim, urls, task_id = await quarantined_run(nursery, tmp_path, more_short)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        before = sim.ledgers()
        reply = await resolve(second, "forget")
        assert reply.status_code == 200, reply.text
        [fresh] = second.strategies.values()
        assert fresh.task_id != task_id
    after = sim.ledgers()
    forgotten_orders = [
        e
        for e in (*after.mexc[len(before.mexc) :], *after.gateio[len(before.gateio) :])
        if isinstance(e, OrderAccepted) and (e.order.client_id or "").startswith(task_id)
    ]
    assert forgotten_orders == []
    with Store(tmp_path / "basis.db") as store:
        assert store.task(task_id).state == "quarantined"
        assert store.quarantined() == []


async def test_two_resolutions_at_once_start_one_strategy(nursery, tmp_path):
    _sim, urls, _task_id = await quarantined_run(nursery, tmp_path, more_short)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        controls = second.controls
        answers = []

        async def forget() -> None:
            try:
                answers.append(await controls.resolve("BTC/USDT", "forget", who="ann"))
            except ControlRefused as error:
                answers.append(f"refused: {error}")

        async with trio.open_nursery() as both:
            both.start_soon(forget)
            both.start_soon(forget)
        assert len(second.strategies) == 1
        assert sorted(a.startswith("refused") for a in answers) == [False, True]
        assert "is not quarantined" in next(a for a in answers if a.startswith("refused"))


async def test_flatten_with_nothing_to_close_clears_the_quarantine_signal(nursery, tmp_path):
    def close_by_hand(sim: SimServers) -> None:
        ledgers, now = sim.ledgers(), sim.clock.now()
        short = round(-venue_net(ledgers.gateio, BTC) / CONTRACT)
        sim.venues.futures.place_order(BTC, Side.BUY, OrderType.MARKET, short, now=now)
        step = sim.venues.spot.rules(BTC).qty_step
        held = math.floor(venue_net(ledgers.mexc, BTC) / step) * step
        sim.venues.spot.place_order(BTC, Side.SELL, OrderType.MARKET, held, now=now)

    _sim, urls, _task_id = await quarantined_run(nursery, tmp_path, close_by_hand)
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        assert any(s.key.startswith("quarantine") for s in build_status(second).health_signals)
        result = await second.controls.resolve("BTC/USDT", "flatten", who="ann")
        assert "record is closed" in result
        assert not any(s.key.startswith("quarantine") for s in build_status(second).health_signals)


async def test_an_unexpected_failure_is_recorded_and_answered_with_500(tmp_path):
    async with open_paper_system(config(), tmp_path) as system:
        endpoints = ControlEndpoints(system, 8080, TOKEN)

        class Broken(Controls):
            async def _pause(self, symbol: str | None) -> str:
                raise RuntimeError("the disk is on fire")

        system.controls = Broken(system)
        request = HttpRequest(
            "POST",
            "/control/pause",
            "",
            {"host": "127.0.0.1:8080", "authorization": f"Bearer {TOKEN}"},
            b"{}",
            peer="127.0.0.1",
        )
        reply = await endpoints.handle(request)
        assert reply.status == 500
        assert b"the disk is on fire" in reply.body
    [(action, _symbol, result)] = actions(tmp_path)
    assert action == "pause"
    assert result.startswith("failed: RuntimeError('the disk is on fire')")
