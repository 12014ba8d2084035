"""Alerts from a paper system to a webhook receiver on 127.0.0.1: a fault makes one
alert when it is detectable and one when it is over; a sink that hangs slows nothing;
an alert stored just before a SIGKILL is delivered once after the restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import attrs
import msgspec
import trio

from actors.histogram import Histogram
from actors.runtime.persistence.store import Store
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.model import Symbol
from tests.integration.alert_receiver import AlertReceiver
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

SECRET_ENV = "BASIS_TEST_ALERT_KEY"
SECRET = "alert-signing-key"
ROOT = Path(__file__).parents[2]
BASIS_RUN = [sys.executable, "-m", "actors.cli", "run"]
DETECTED_WITHIN_S = 5.0
BTC = Symbol("BTC", "USDT")
STALE_AFTER_S = 1.5
STALL_S = 4.0
"""A stall: the feed stale after 1.5 s, an incident 1 s later (the alerts'
``open_after_s`` in these tests), both well before the stall ends."""
QUICK = {"open_after_s": 1.0, "resolve_after_s": 1.0}


def paper(url: str, **alerts: object) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            "venues": {"spot": {"kind": "mexc", "stale_after_s": STALE_AFTER_S}},
            "strategy": {"base_position_size_usdt": 200.0},
            "alerts": {"webhook": {"url": url, "secret_env": SECRET_ENV}, **alerts},
        },
        SystemConfig,
    )


@attrs.define
class LagSamples(Histogram):
    """A strategy's decision lag, every sample kept."""

    samples: list[float] = attrs.Factory(list)

    def observe(self, value: float) -> None:
        self.samples.append(value)
        super().observe(value)


async def stir(sim: SimServers) -> None:
    """A premium to enter on, then a discount to exit on, again and again: the strategy
    places orders, and each placement is a decision whose lag is measured."""
    while True:
        for size in (0.012, -0.015):
            sim.dislocate(BTC, size)
            await trio.sleep(0.25)  # an entry or an exit takes a few milliseconds here


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(0.99 * (len(samples) - 1))]


def about(receiver: AlertReceiver, incident: str) -> list[str]:
    return [a.kind for a in receiver.alerts if a.incident == incident]


async def test_a_stalled_feed_makes_one_alert_when_detectable_and_one_when_over(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    receiver = AlertReceiver(secret=SECRET.encode())
    async with trio.open_nursery() as nursery:
        url = await nursery.start(receiver.serve)
        async with paper_run(paper(url, **QUICK), tmp_path) as (system, sim):
            [started] = await receiver.wait_for(1)
            assert (started.kind, started.incident) == ("event", "start")
            feed = system.venues[next(iter(system.venues))].feeds[0]
            await wait_until(lambda: feed.status.state == "fresh", 20)
            sim.mexc.stall_websockets(STALL_S)
            await wait_until(lambda: feed.status.state != "fresh", 20)
            detectable = trio.current_time()
            await wait_until(lambda: about(receiver, "feed:feed-mexc") == ["opened"], 20)
            opened_at = receiver.arrived_at[-1]
            assert opened_at - detectable <= DETECTED_WITHIN_S
            assert any(i.key == "feed:feed-mexc" for i in system.alert_actor.book.open_incidents())
            await wait_until(lambda: feed.status.state == "fresh", 30)
            over = trio.current_time()
            await wait_until(
                lambda: about(receiver, "feed:feed-mexc") == ["opened", "resolved"], 20
            )
            assert receiver.arrived_at[-1] - over <= DETECTED_WITHIN_S
            # Twice the time an incident takes to open, of a healthy feed: nothing more
            # about it.
            await trio.sleep(2 * QUICK["open_after_s"])
            assert about(receiver, "feed:feed-mexc") == ["opened", "resolved"]
            assert receiver.bad_signatures == 0
        # A graceful stop is told too.
        await wait_until(lambda: about(receiver, "stop") == ["event"], 10)
        nursery.cancel_scope.cancel()
    # Every alert is in the store's outbox, each delivered to the webhook once.
    with Store(tmp_path / "basis.db") as store:
        assert store.pending_alerts() == []
        assert store.open_incidents() == []
        assert not store.last_run_crashed()


async def test_a_sink_that_hangs_for_a_minute_slows_no_decision(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    receiver = AlertReceiver(secret=SECRET.encode(), hang_s=60.0)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(receiver.serve)
        async with paper_run(paper(url, **QUICK), tmp_path) as (system, sim):
            [handle] = system.strategies.values()
            feed = system.venues[next(iter(system.venues))].feeds[0]
            await wait_until(lambda: feed.status.state == "fresh", 20)
            lag = handle.actor.lag = LagSamples()
            nursery.start_soon(stir, sim)
            await wait_until(lambda: len(lag.samples) >= 4, 60)
            # The start alert hangs at the receiver; a fault opens an incident meanwhile.
            sim.mexc.stall_websockets(STALL_S)
            await wait_until(
                lambda: any(
                    i.key == "feed:feed-mexc" for i in system.alert_actor.book.open_incidents()
                ),
                20,
            )
            await wait_until(lambda: feed.status.state == "fresh", 30)
            seen = len(lag.samples)
            await wait_until(lambda: len(lag.samples) >= seen + 4, 60)
            assert receiver.alerts == []
            status = system.statistics().alerts
            assert status is not None and status.pending >= 2
            # Deciding goes on at its pace: the strategy's lag stays in milliseconds while
            # every delivery attempt waits for its timeout.
            assert p99(lag.samples) < 0.05
        nursery.cancel_scope.cancel()


def write_config(path: Path, url: str) -> Path:
    path.write_text(
        f"""mode = "paper"
symbols = ["BTC/USDT"]
[http]
port = 0
[alerts.webhook]
url = "{url}"
secret_env = "{SECRET_ENV}"
"""
    )
    return path


async def run_basis(config: Path, data_dir: Path, log: Path, **env: str) -> trio.Process:
    with log.open("a") as stderr:
        return await trio.lowlevel.open_process(
            [*BASIS_RUN, str(config), "--data-dir", str(data_dir), "--no-view"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, SECRET_ENV: SECRET, **env},
            cwd=ROOT,
        )


async def test_an_alert_stored_just_before_a_sigkill_is_delivered_once_after_the_restart(
    tmp_path,
):
    receiver = AlertReceiver(secret=SECRET.encode())
    data_dir = tmp_path / "data"
    log = tmp_path / "basis.log"
    async with trio.open_nursery() as nursery:
        url = await nursery.start(receiver.serve)
        config = write_config(tmp_path / "paper.toml", url)
        # Killed right after its first alert (its start) is in the outbox, before any
        # attempt to deliver it.
        killed = await run_basis(config, data_dir, log, BASIS_FAILPOINT="alert-in-outbox:1")
        with trio.fail_after(120):
            assert await killed.wait() == -signal.SIGKILL
        assert receiver.alerts == []
        with Store(data_dir / "basis.db") as store:
            [stored] = store.pending_alerts()
            assert store.last_run_crashed()
        restarted = await run_basis(config, data_dir, log)
        try:
            with trio.fail_after(120):
                await wait_until(lambda: len(receiver.alerts) >= 2, 120)
        finally:
            restarted.send_signal(signal.SIGINT)
            with trio.fail_after(60):
                assert await restarted.wait() == 0
        await wait_until(lambda: about(receiver, "stop") == ["event"], 10)
        nursery.cancel_scope.cancel()
    ids = [a.id for a in receiver.alerts]
    assert ids.count(stored.alert_id) == 1
    first = receiver.alerts[0]
    assert (first.id, first.incident) == (stored.alert_id, "start")
    # The restart says the previous run crashed, not merely that Basis started. (An
    # incident a slow start may open, a private stream not up yet, say, is no event.)
    events = [a.incident for a in receiver.alerts[1:] if a.kind == "event"]
    assert events == ["restart", "stop"]
    with Store(data_dir / "basis.db") as store:
        assert store.pending_alerts() == []
        assert not store.last_run_crashed()


def test_a_sink_secret_missing_from_the_environment_stops_the_start_naming_it(tmp_path):
    config = write_config(tmp_path / "paper.toml", "http://127.0.0.1:9/alerts")
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [*BASIS_RUN, str(config), "--data-dir", str(data_dir), "--duration", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert SECRET_ENV in line and "[alerts.webhook]" in line
    assert not data_dir.exists()
