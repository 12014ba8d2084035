"""The watchdog's decisions on trio's MockClock: an alert only after ``after_s`` of bad
looks, one per incident, one when it ends; each alert retried per sink until delivered."""

from __future__ import annotations

import trio

from actors.runtime.alerts.alert import Alert, DeliveryFailed
from actors.runtime.alerts.watchdog import Probe, Watch, Watchdog

OK = Probe("ok", "")
GONE = Probe("unreachable", "no answer from http://127.0.0.1:8787/health (ConnectError)")
FAILING = Probe("failing", "writer failing: disk full")


class Recording:
    """A sink that takes every alert (after failing with ``failures`` in turn) and notes
    when each attempt came."""

    def __init__(self, name: str = "recording", *failures: DeliveryFailed) -> None:
        self.name = name
        self.failures = list(failures)
        self.attempts: list[tuple[float, str]] = []
        self.taken: list[tuple[float, Alert]] = []

    async def send(self, alert: Alert) -> None:
        self.attempts.append((trio.current_time(), alert.id))
        if self.failures:
            raise self.failures.pop(0)
        self.taken.append((trio.current_time(), alert))


def timeline(*spans: tuple[float, Probe]):
    """A probe answering each span's probe from its start time on (relative to the first
    look), ``OK`` before the first."""
    start: list[float] = []

    async def probe() -> Probe:
        now = trio.current_time()
        if not start:
            start.append(now)
        answer = OK
        for since, span in spans:
            if now - start[0] >= since:
                answer = span
        return answer

    return probe


async def watch(sinks, probe, duration_s: float, **timing) -> Watchdog:
    settings = {"poll_s": 2.0, "after_s": 15.0, "timeout_s": 3.0, **timing}
    dog = Watchdog("http://127.0.0.1:8787/health", sinks, probe=probe, **settings)
    with trio.move_on_after(duration_s):
        await dog.run()
    return dog


async def test_an_outage_longer_than_after_s_is_one_alert_and_its_end_one_more(autojump_clock):
    sink = Recording()
    t0 = trio.current_time()
    await watch([sink], timeline((10.0, GONE), (60.0, OK)), 90.0)
    [(opened_at, opened), (resolved_at, resolved)] = sink.taken
    assert (opened.kind, resolved.kind) == ("opened", "resolved")
    assert opened.incident == resolved.incident == "watchdog:127.0.0.1:8787"
    assert opened.id != resolved.id
    # Seen gone at the first look after 10 s, alerted at the first look 15 s after that.
    assert 10.0 + 15.0 <= opened_at - t0 <= 10.0 + 15.0 + 2 * 2.0
    assert 60.0 <= resolved_at - t0 <= 60.0 + 2.0
    assert opened.severity == "critical"
    assert "unreachable" in opened.title and "ConnectError" in opened.detail
    assert "back" in resolved.title and "ConnectError" in resolved.detail


async def test_an_outage_shorter_than_after_s_says_nothing(autojump_clock):
    sink = Recording()
    await watch([sink], timeline((10.0, GONE), (20.0, OK), (40.0, FAILING), (50.0, OK)), 120.0)
    assert sink.taken == []


async def test_one_incident_however_its_reason_changes(autojump_clock):
    sink = Recording()
    spans = ((5.0, FAILING), (30.0, GONE), (40.0, FAILING), (70.0, OK), (80.0, GONE))
    await watch([sink], timeline(*spans), 200.0)
    kinds = [(alert.kind, alert.title.split(" for ")[0]) for _, alert in sink.taken]
    assert kinds == [
        ("opened", "Basis at 127.0.0.1:8787 failing"),
        ("resolved", "Basis at 127.0.0.1:8787 back"),
        ("opened", "Basis at 127.0.0.1:8787 unreachable"),
    ]
    assert "disk full" in sink.taken[0][1].detail
    # The second incident's alert is a new one, not the first again.
    assert sink.taken[0][1].id != sink.taken[2][1].id


async def test_each_alert_is_retried_until_delivered_as_the_receiver_asks(autojump_clock):
    flaky = Recording(
        "flaky", DeliveryFailed("HTTP 429", retry_after_s=30.0), DeliveryFailed("HTTP 503")
    )
    steady = Recording("steady")
    t0 = trio.current_time()
    await watch([flaky, steady], timeline((0.0, GONE), (20.0, OK)), 120.0)
    # The steady sink is not held back by the flaky one.
    assert [alert.kind for _, alert in steady.taken] == ["opened", "resolved"]
    first = flaky.attempts[0][0]
    assert [round(t - first, 6) for t, _ in flaky.attempts[:3]] == [0.0, 30.0, 32.0]
    # Every attempt at one alert carries its id; the resolution waits its turn.
    assert [alert_id for _, alert_id in flaky.attempts] == [
        steady.taken[0][1].id,
        steady.taken[0][1].id,
        steady.taken[0][1].id,
        steady.taken[1][1].id,
    ]
    assert [alert.kind for _, alert in flaky.taken] == ["opened", "resolved"]
    assert flaky.taken[1][0] - t0 >= first + 32.0 - t0


async def test_a_sink_that_refuses_for_good_is_not_asked_again(autojump_clock):
    refusing = Recording("refusing", DeliveryFailed("HTTP 401", permanent=True))
    dog = await watch([refusing], timeline((0.0, GONE)), 60.0)
    assert len(refusing.attempts) == 1
    assert refusing.taken == []
    assert [alert.kind for alert in dog.couriers[0].given_up] == ["opened"]


class Faulty(Recording):
    """A sink that first raises an error of its own, then hangs, then takes alerts."""

    def __init__(self) -> None:
        super().__init__("faulty", RuntimeError("sink bug"))
        self.hung = False

    async def send(self, alert: Alert) -> None:
        if not self.failures and not self.hung:
            self.hung = True
            self.attempts.append((trio.current_time(), alert.id))
            await trio.sleep_forever()
        await super().send(alert)


async def test_a_sink_that_raises_or_hangs_is_retried_and_the_watchdog_goes_on(autojump_clock):
    faulty = Faulty()
    await watch([faulty], timeline((0.0, GONE)), 200.0)
    first = faulty.attempts[0][0]
    # The error: again after 1 s; the hang: cut at the limit, again 2 s later.
    assert [round(t - first, 6) for t, _ in faulty.attempts] == [0.0, 1.0, 63.0]
    assert [alert.kind for _, alert in faulty.taken] == ["opened"]


def test_the_decision_alone():
    watch = Watch("127.0.0.1:8787", after_s=15.0, instance="watchdog@test")
    assert watch.observe(GONE, 100.0, 1_000.0) is None
    assert watch.observe(GONE, 114.9, 1_014.9) is None
    opened = watch.observe(GONE, 115.0, 1_015.0)
    assert opened is not None and opened.kind == "opened" and opened.ts == 1_015.0
    assert opened.id == "watchdog:127.0.0.1:8787:1000000:opened"
    assert watch.observe(FAILING, 130.0, 1_030.0) is None
    resolved = watch.observe(Probe("degraded", "private stream down"), 140.0, 1_040.0)
    assert resolved is not None and resolved.kind == "resolved"
    assert resolved.id == "watchdog:127.0.0.1:8787:1000000:resolved"
    assert "after 40 s" in resolved.detail and "private stream down" in resolved.detail
    assert watch.observe(OK, 142.0, 1_042.0) is None
