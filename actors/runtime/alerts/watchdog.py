"""The watchdog: alerts for an instance that cannot raise them itself.

``basis watchdog`` runs apart from the instance it watches and polls its ``/health``.
When the instance has been unreachable (killed, hung, its host's port closed) or
``failing`` for ``after_s``, one alert opens an incident; when ``/health`` answers ok or
degraded again, one more resolves it. Whatever happens in between (unreachable turning
into failing, a reason changing) belongs to the same incident.

Nothing is stored: the watchdog must keep working when the instance's disk is what
broke. Each alert is retried per sink, with backoff, in memory, until it is delivered
or a sink refuses it for good.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import attrs
import httpx
import msgspec
import trio

from actors.runtime.alerts.alert import Alert, DeliveryFailed, Sink

log = logging.getLogger("basis.watchdog")

Reachability = Literal["ok", "degraded", "failing", "unreachable"]

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
# One attempt through a sink may take this long before it counts as failed.
SEND_LIMIT_S = 60.0


@attrs.frozen
class Probe:
    """One look at ``/health``: the state it answered, or ``unreachable``, and why."""

    state: Reachability
    reason: str

    @property
    def bad(self) -> bool:
        return self.state in ("failing", "unreachable")


class HealthAnswer(msgspec.Struct):
    state: str
    reason: str = ""


async def probe_health(client: httpx.AsyncClient, url: str) -> Probe:
    """``GET url`` once (``client`` carries the timeout)."""
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return Probe("unreachable", f"no answer from {url} ({type(error).__name__}: {error})")
    try:
        answer = msgspec.json.decode(response.content, type=HealthAnswer)
    except msgspec.DecodeError:
        answer = None
    if answer is None or answer.state not in ("ok", "degraded", "failing"):
        return Probe(
            "unreachable",
            f"{url} answered HTTP {response.status_code} without a Basis health state "
            "(is it the instance's status port?)",
        )
    return Probe(answer.state, answer.reason)  # type: ignore[arg-type]


def _clock(wall: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(wall))


@attrs.define
class Watch:
    """The decision: which probes of the instance at ``target`` make an alert.

    ``now`` is a monotonic clock (durations), ``wall`` Unix time (what alerts carry)."""

    target: str
    after_s: float
    instance: str
    bad_since: float | None = None
    """When the current run of bad probes began (monotonic)."""
    bad_since_wall: float = 0.0
    opened_at: float | None = None
    """When the open incident's bad run began; ``None`` with no incident open."""
    last_bad: Probe | None = None

    @property
    def incident(self) -> str:
        return f"watchdog:{self.target}"

    def observe(self, probe: Probe, now: float, wall: float) -> Alert | None:
        if probe.bad:
            if self.bad_since is None:
                self.bad_since, self.bad_since_wall = now, wall
            self.last_bad = probe
            if self.opened_at is None and now - self.bad_since >= self.after_s:
                self.opened_at = self.bad_since
                return self._opened(probe, now, wall)
            return None
        self.bad_since = None
        if self.opened_at is None:
            return None
        alert = self._resolved(probe, now, wall)
        self.opened_at = None
        return alert

    def _alert(self, kind: str, severity: str, title: str, detail: str, wall: float) -> Alert:
        started = int(self.bad_since_wall * 1000)
        return Alert(
            id=f"{self.incident}:{started}:{kind}",
            incident=self.incident,
            kind=kind,  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            title=title,
            detail=detail,
            instance=self.instance,
            ts=wall,
        )

    def _opened(self, probe: Probe, now: float, wall: float) -> Alert:
        assert self.bad_since is not None
        what = "unreachable" if probe.state == "unreachable" else "failing"
        return self._alert(
            "opened",
            "critical",
            f"Basis at {self.target} {what} for {now - self.bad_since:.0f} s",
            f"{probe.reason}. Bad since {_clock(self.bad_since_wall)}. Check the process "
            "(systemctl status basis) and its log; the watchdog says when it is back.",
            wall,
        )

    def _resolved(self, probe: Probe, now: float, wall: float) -> Alert:
        assert self.opened_at is not None
        down_s = now - self.opened_at
        last = self.last_bad.reason if self.last_bad is not None else ""
        detail = f"/health answers {probe.state} again after {down_s:.0f} s; it was: {last}"
        if probe.reason:
            detail += f". Now: {probe.reason}"
        return self._alert("resolved", "info", f"Basis at {self.target} back", detail, wall)


@attrs.define
class Courier:
    """Delivers alerts through one sink, in order, each until it is delivered or the
    sink refuses it for good; the wait between attempts doubles up to ``RETRY_MAX_S``,
    or is what the receiver asked for."""

    sink: Sink
    delivered: list[Alert] = attrs.Factory(list)
    given_up: list[Alert] = attrs.Factory(list)
    _send: trio.MemorySendChannel[Alert] = attrs.field(init=False)
    _receive: trio.MemoryReceiveChannel[Alert] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[Alert](math.inf)

    def post(self, alert: Alert) -> None:
        self._send.send_nowait(alert)

    async def run(self) -> None:
        async for alert in self._receive:
            await self._deliver(alert)

    async def _deliver(self, alert: Alert) -> None:
        wait_s = RETRY_FIRST_S
        attempt = 1
        while True:
            failed: DeliveryFailed | None = None
            with trio.move_on_after(SEND_LIMIT_S) as limit:
                try:
                    await self.sink.send(alert)
                except DeliveryFailed as error:
                    failed = error
                except Exception as error:  # a sink's own fault must not end the watchdog
                    failed = DeliveryFailed(f"{self.sink.name}: {type(error).__name__}: {error}")
            if limit.cancelled_caught:
                failed = DeliveryFailed(f"{self.sink.name}: no answer within {SEND_LIMIT_S:g} s")
            if failed is not None:
                if failed.permanent:
                    log.error(
                        "alert %s given up on: %s refuses it (%s)", alert.id, self.sink.name, failed
                    )
                    self.given_up.append(alert)
                    return
                pause = max(wait_s, failed.retry_after_s or 0.0)
                log.warning(
                    "alert %s: attempt %d through %s failed (%s); again in %.0f s",
                    alert.id,
                    attempt,
                    self.sink.name,
                    failed,
                    pause,
                )
                await trio.sleep(pause)
                wait_s = min(wait_s * 2, RETRY_MAX_S)
                attempt += 1
                continue
            log.info("alert %s delivered through %s: %s", alert.id, self.sink.name, alert.title)
            self.delivered.append(alert)
            return


def target_of(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host


@attrs.define
class Watchdog:
    """Polls ``url`` every ``poll_s`` (each look bounded by ``timeout_s``) and alerts
    through ``sinks``. ``probe`` replaces the HTTP look (for tests of the decisions)."""

    url: str
    sinks: Sequence[Sink]
    poll_s: float
    after_s: float
    timeout_s: float
    probe: Callable[[], Awaitable[Probe]] | None = None
    instance: str = attrs.Factory(lambda: f"watchdog@{socket.gethostname()}")
    couriers: list[Courier] = attrs.Factory(list)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        watch = Watch(target_of(self.url), self.after_s, self.instance)
        self.couriers = [Courier(sink) for sink in self.sinks]
        async with httpx.AsyncClient(timeout=self.timeout_s) as client, trio.open_nursery() as n:
            for courier in self.couriers:
                n.start_soon(courier.run)
            look = self.probe or (lambda: probe_health(client, self.url))
            log.info(
                "watching %s every %g s; alerts after %g s bad, through %s",
                self.url,
                self.poll_s,
                self.after_s,
                ", ".join(sink.name for sink in self.sinks),
            )
            task_status.started()
            state: Reachability | None = None
            while True:
                started = trio.current_time()
                probe = await look()
                if probe.state != state:
                    level = logging.WARNING if probe.bad else logging.INFO
                    why = f": {probe.reason}" if probe.reason not in ("", probe.state) else ""
                    log.log(level, "%s is %s%s", self.url, probe.state, why)
                    state = probe.state
                alert = watch.observe(probe, trio.current_time(), time.time())
                if alert is not None:
                    log.warning("alert %s: %s", alert.kind, alert.title)
                    for courier in self.couriers:
                        courier.post(alert)
                await trio.sleep_until(started + self.poll_s)
