"""``basis watchdog`` as an operator runs it: a real ``basis run`` process SIGKILLed under
a real watchdog process, whose alert must reach a webhook on 127.0.0.1 within its bound
(within 30 s with the defaults); restarted, and the watchdog says it is back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import trio

from actors.runtime.alerts.alert import Alert
from actors.runtime.alerts.config import WebhookSinkConfig
from actors.system_config import WatchdogSection
from tests.integration.alert_receiver import AlertReceiver

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with log.open("a") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [*BASIS, *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )


async def logged(log: Path, *texts: str, since: int = 0, timeout_s: float = 30.0) -> None:
    """Once ``log`` says any of ``texts`` after its first ``since`` characters."""
    with trio.fail_after(timeout_s):
        while True:
            written = (await trio.Path(log).read_text())[since:]
            if any(text in written for text in texts):
                return
            await trio.sleep(0.05)  # a file's growth has no event to wait on


async def from_watchdog(receiver: AlertReceiver, count: int) -> list[tuple[Alert, float]]:
    """Once the watchdog's alerts number ``count``, each with its arrival time. The
    instance, on the same config, sends its own alerts (its start) to the same webhook."""
    while True:
        theirs = [
            (alert, at)
            for alert, at in zip(receiver.alerts, receiver.arrived_at, strict=True)
            if alert.instance.startswith("watchdog@")
        ]
        if len(theirs) >= count:
            return theirs
        await receiver.wait_for(len(receiver.alerts) + 1)


# The default ``after_s`` (15 s) is a wait on a clock and nothing else: the bound is the
# same sum of the section's figures at any ``after_s`` (tests/unit/actors/test_watchdog.py
# checks the decisions at the defaults on a mock clock). This run waits 4 s, still longer
# than two polls, so the kill is first seen unreachable well before the alert.
AFTER_S = 4.0


async def test_a_killed_instance_is_announced_within_30_s_and_its_return_too(nursery, tmp_path):
    receiver = AlertReceiver(secret=b"watchdog-key")
    url = await nursery.start(receiver.serve)
    config = tmp_path / "basis.toml"
    config.write_text(
        'symbols = ["BTC/USDT"]\n'
        f"[http]\nport = {free_port()}\n"
        "[sim]\nseed = 5\n"
        f'[alerts.webhook]\nurl = "{url}"\nsecret_env = "BASIS_TEST_WEBHOOK_KEY"\n'
        f"[watchdog]\nafter_s = {AFTER_S}\n"
    )
    run_log, dog_log = tmp_path / "run.log", tmp_path / "watchdog.log"
    run_args = ["run", str(config), "--data-dir", str(tmp_path / "data"), "--no-view"]
    keys = {"BASIS_TEST_WEBHOOK_KEY": "watchdog-key"}
    instance = start(run_args, run_log, keys)
    dog = None
    try:
        await logged(run_log, "status on http://127.0.0.1:")
        dog = start(["watchdog", str(config)], dog_log, keys)
        await logged(dog_log, "watching http://127.0.0.1:")
        # It has seen the instance answer before the kill.
        await logged(dog_log, "/health is ok", "/health is degraded")
        instance.send_signal(signal.SIGKILL)
        killed_at = trio.current_time()
        instance.wait(timeout=10)
        with trio.fail_after(40):
            [(opened, arrived_at)] = await from_watchdog(receiver, 1)
        took_s = arrived_at - killed_at
        sink_timeout_s = WebhookSinkConfig(url).timeout_s

        def bound_s(section: WatchdogSection) -> float:
            return section.after_s + 2 * section.poll_s + section.timeout_s + sink_timeout_s

        defaults = WatchdogSection()
        watchdog = WatchdogSection(after_s=AFTER_S)
        assert bound_s(defaults) <= 30.0
        assert took_s <= bound_s(watchdog), (took_s, bound_s(watchdog))
        assert took_s >= watchdog.after_s
        assert opened.kind == "opened" and "unreachable" in opened.title
        print(f"watchdog: alert {took_s:.1f} s after the SIGKILL (bound {bound_s(watchdog):.0f} s)")

        since = len(run_log.read_text())
        instance = start(run_args, run_log, keys)
        await logged(run_log, "status on http://127.0.0.1:", since=since)
        back_at = trio.current_time()
        with trio.fail_after(30):
            [_, (resolved, resolved_at)] = await from_watchdog(receiver, 2)
        assert resolved.kind == "resolved"
        assert resolved.incident == opened.incident
        assert resolved_at - back_at <= watchdog.poll_s + watchdog.timeout_s + 5.0
        assert receiver.bad_signatures == 0
        dog.send_signal(signal.SIGTERM)
        assert dog.wait(timeout=10) == 0, dog_log.read_text()
    finally:
        for process in (instance, dog):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    # One alert per change: nothing more arrived while it was down or once it was back.
    assert len([a for a in receiver.alerts if a.instance.startswith("watchdog@")]) == 2
