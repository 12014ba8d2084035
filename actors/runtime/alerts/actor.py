"""The alert actor: reads the running system's state every ``observe_every_s``, turns
what it shows into incidents (``incidents.py``) and point events, puts each alert in the
store's outbox through the writer, and delivers it to every sink.

Delivery is at least once. An alert is in the outbox before any attempt to deliver it,
and each sink's answer is marked there: after a crash, what some sink had not taken is
delivered on the next start, and what was delivered and marked is not sent again. An
alert delivered but not yet marked when the process was killed is sent again after the
restart, with the same ``id``, so a receiver that keeps the ids it saw can drop it.
Incidents announced open are kept in the store too: after a restart an incident still
present is not announced again, and one that is gone is resolved.

Nothing here can slow trading: reading the state is building ``/status`` (cheap), each
sink is served by a task of its own with every attempt bounded by a timeout, and the
outbox is written without ever waiting for room in the writer's mailbox.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import attrs
import msgspec
import trio

from actors.failpoints import failpoint
from actors.runtime.alerts.alert import Alert, AlertKind, DeliveryFailed, Severity, Sink
from actors.runtime.alerts.conditions import ConditionWatch, Observation
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.incidents import Condition, Decision, IncidentBook
from actors.runtime.persistence.source import StoreSource, source_of
from actors.runtime.persistence.store import OutboxRecord
from actors.runtime.persistence.writer import Reply, WriterClient
from supervision import Incarnation

log = logging.getLogger("basis.alerts")

OUTBOX_WAIT_S = 2.0
"""How long an alert waits for the store to take it before it is delivered anyway."""
STOP_DELIVERY_S = 3.0
"""On a stop, how long the last alerts (the stop's own among them) are given to arrive."""
SEND_LIMIT_S = 60.0
"""A bound on one attempt, beyond each sink's own timeout: a sink is never waited on
for ever."""
STORE_RETRY_FIRST_S = 0.5
STORE_RETRY_MAX_S = 5.0
"""The waits between attempts to store an alert the store refused."""
RECENT_ALERTS = 100
"""How many of this run's newest alerts the status lists."""
SHUTDOWN_TIMEOUT_S = OUTBOX_WAIT_S * 2 + STOP_DELIVERY_S + 3.0
"""What the actor's supervisor gives it to stop: time to store and send the stop alert."""
_LOG_LEVEL = {"critical": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Alert).decode


class OpenIncidentOut(msgspec.Struct, frozen=True):
    key: str
    severity: str
    title: str


class AlertOut(msgspec.Struct, frozen=True):
    """An alert this run raised."""

    id: str
    incident: str
    kind: str
    severity: str
    title: str
    detail: str
    ts: float


class AlertsStatus(msgspec.Struct, frozen=True):
    """What the alert actor reports of itself."""

    open_incidents: list[OpenIncidentOut]
    """Incidents the operator was told are open."""
    pending: int
    """Alert deliveries not yet answered by their sink."""
    delivered: int
    failed: int
    """Deliveries given up for good (a sink's permanent refusal)."""
    sinks: list[str]
    recent: list[AlertOut] = msgspec.field(default_factory=list)
    """The newest alerts this run raised (``RECENT_ALERTS`` at most), oldest first."""


@attrs.define(eq=False)
class _Pending:
    alert: Alert
    sinks: set[str]
    """The sinks that have not answered yet."""


@attrs.define(eq=False)
class AlertActor:
    config: AlertsSection
    sinks: Sequence[Sink]
    writer: WriterClient
    store: StoreSource = attrs.field(converter=source_of)
    observe: Callable[[], Observation]
    """The system's state now: ``/status`` and what its strategies hold."""
    instance: str
    system_started: trio.Event | None = None
    """Set once the system has started (its strategies added): until then no incident is
    opened or resolved, so an incident restored from the store, whose condition comes
    back only once its strategy is running again, is not resolved and opened again at
    every restart. ``None``: decide from the first observation on."""
    system_stopping: bool = False
    """Set when the whole system is asked to stop (not a restart of this actor alone):
    the operator is then told it stopped, and the run is marked as ended cleanly."""
    book: IncidentBook = attrs.field(init=False)
    watch: ConditionWatch = attrs.field(init=False)
    delivered: int = 0
    failed: int = 0
    _pending: dict[str, _Pending] = attrs.field(factory=dict)
    """Alerts some sink has not answered, oldest first; kept across restarts of the actor."""
    _unstored: list[OutboxRecord] = attrs.field(factory=list)
    """Alerts the store refused (or did not take in time), oldest first: put again, in
    order, until it takes them; kept across restarts of the actor."""
    _more_unstored: trio.Event = attrs.field(factory=trio.Event)
    _more: trio.Event = attrs.field(factory=trio.Event)
    """Set (and replaced) whenever an alert is added to ``_pending``."""
    _loaded: bool = False
    _run: Reply | None = None
    recent: deque[AlertOut] = attrs.field(factory=lambda: deque(maxlen=RECENT_ALERTS))
    """The newest alerts raised, oldest first; kept across restarts of the actor."""

    def __attrs_post_init__(self) -> None:
        config = self.config
        self.book = IncidentBook(
            config.open_after_s,
            config.resolve_after_s,
            config.max_alerts_per_incident,
            config.rate_window_s,
        )
        self.watch = ConditionWatch(config, since=time.time())

    def statistics(self) -> AlertsStatus:
        return AlertsStatus(
            [OpenIncidentOut(c.key, c.severity, c.title) for c in self.book.open_incidents()],
            sum(len(p.sinks) for p in self._pending.values()),
            self.delivered,
            self.failed,
            [sink.name for sink in self.sinks],
            list(self.recent),
        )

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        if not self._loaded:
            await self._load()
        task_status.started()
        async with trio.open_nursery() as nursery:
            for sink in self.sinks:
                nursery.start_soon(self._deliver, sink)
            nursery.start_soon(self._store_later)
            with inc.cancel_on_stop():
                await self._watch()
            if self.system_stopping:
                await self._stopped()
            nursery.cancel_scope.cancel()

    # ------------------------------------------------------------------ starting

    async def _load(self) -> None:
        """Once per run: what an earlier run left (alerts not delivered, incidents open,
        whether it stopped cleanly), then the start recorded and announced."""

        def read() -> tuple[list[Any], list[Any], bool]:
            with self.store.reading() as store:
                return store.pending_alerts(), store.open_incidents(), store.last_run_crashed()

        try:
            pending, open_incidents, crashed = await trio.to_thread.run_sync(read)
        except Exception as error:
            log.error("alerts: cannot read what an earlier run left in the store: %s", error)
            pending, open_incidents, crashed = [], [], False
        names = {sink.name for sink in self.sinks}
        for row in pending:
            left = names & set(row.sinks)
            if left:
                self._pending[row.alert_id] = _Pending(_decode(row.body), left)
        if self._pending:
            log.info("alerts: %d alerts of an earlier run still to deliver", len(self._pending))
        now, wall = trio.current_time(), time.time()
        for row in open_incidents:
            opened = _decode(row.body)
            self.book.restore(
                Condition(opened.incident, opened.severity, opened.title, opened.detail),
                now - max(0.0, wall - row.opened_at),
                now,
            )
        self._loaded = True
        self._run = self._request(self.writer.begin_run)
        if crashed:
            await self._raise(
                self._event(
                    "restart",
                    "warning",
                    "Basis restarted after a crash",
                    "the previous run did not stop cleanly (killed, or its supervision tree "
                    "gave up); it recovered from the store and trades on",
                )
            )
        else:
            await self._raise(self._event("start", "info", "Basis started", "trading started"))
        self._wake()

    async def _stopped(self) -> None:
        """The system is stopping: say so, give the last alerts a moment to arrive, and
        mark the run as ended cleanly (the next start then reports no crash)."""
        await self._raise(self._event("stop", "info", "Basis stopped", "stopped on request"))
        with trio.move_on_after(STOP_DELIVERY_S):
            while self._pending:
                await self._more.wait()
        run = self._run
        if run is not None and run.done.is_set() and run.error is None:
            ended = self._request(lambda: self.writer.end_run(run.value))
            if ended is not None:
                with trio.move_on_after(OUTBOX_WAIT_S):
                    await ended.done.wait()

    # ---------------------------------------------------------------- watching

    async def _watch(self) -> None:
        every = self.config.observe_every_s
        if self.system_started is not None and not self.system_started.is_set():
            await self.system_started.wait()
            self.book.absent_from(trio.current_time())
        while True:
            observation = self.observe()
            now, wall = trio.current_time(), time.time()
            conditions = self.watch.conditions(observation, now, wall)
            for decision in self.book.observe(now, conditions):
                await self._raise(*self._announcement(decision))
            for event in self.watch.events(observation):
                await self._raise(self._event(event.key, event.severity, event.title, event.detail))
            await trio.sleep(every)

    def _announcement(self, decision: Decision) -> tuple[Alert, str | None, str | None]:
        condition = decision.condition
        config = self.config
        notes = ""
        if decision.held_back:
            notes += (
                f" ({decision.held_back} changes before this one were not sent: at most "
                f"{config.max_alerts_per_incident} alerts per {config.rate_window_s:g} s "
                "about one incident)"
            )
        if decision.limited:
            notes += (
                f" Rate limit reached: no more alerts about this incident for up to "
                f"{config.rate_window_s:g} s; the next one says how it changed."
            )
        if decision.kind == "opened":
            alert = self._alert(
                condition.key, "opened", condition.severity, condition.title, condition.detail
            )
            return _noted(alert, notes), condition.key, None
        lasted = "" if decision.lasted_s is None else f"; open for {decision.lasted_s:.0f} s"
        alert = self._alert(
            condition.key,
            "resolved",
            "info",
            f"resolved: {condition.title}",
            f"gone for {config.resolve_after_s:g} s{lasted}",
        )
        return _noted(alert, notes), None, condition.key

    def _event(self, incident: str, severity: Severity, title: str, detail: str) -> Alert:
        return self._alert(incident, "event", severity, title, detail)

    def _alert(
        self, incident: str, kind: AlertKind, severity: Severity, title: str, detail: str
    ) -> Alert:
        return Alert(
            uuid.uuid4().hex, incident, kind, severity, title, detail, self.instance, time.time()
        )

    # --------------------------------------------------------------- the outbox

    async def _raise(
        self, alert: Alert, opens: str | None = None, resolves: str | None = None
    ) -> None:
        """Log ``alert``, put it in the outbox, then hand it to the sinks."""
        log.log(
            _LOG_LEVEL[alert.severity],
            "alert %s %s: %s: %s",
            alert.kind,
            alert.incident,
            alert.title,
            alert.detail,
        )
        self.recent.append(
            AlertOut(
                alert.id,
                alert.incident,
                alert.kind,
                alert.severity,
                alert.title,
                alert.detail,
                alert.ts,
            )
        )
        names = tuple(sink.name for sink in self.sinks)
        record = OutboxRecord(alert.id, _encode(alert), names, alert.ts, opens, resolves)
        stored = False
        # Behind alerts the store has not taken yet, never before them: the incidents
        # stored open must end as the alerts in order left them.
        reply = None if self._unstored else self._request(lambda: self.writer.put_alert(record))
        if reply is not None:
            # Shielded: a stop (a writer restart restarts this actor too) must not lose
            # an alert between the outbox and the sinks; the wait is bounded anyway.
            with trio.CancelScope(shield=True), trio.move_on_after(OUTBOX_WAIT_S):
                try:
                    await reply.wait()
                    stored = True
                except Exception as error:
                    log.error("alerts: alert %s not stored: %s", alert.id, error)
        if stored:
            failpoint("alert-in-outbox")
        else:
            # The store is failing (or too slow): the alert is delivered from memory all
            # the same, since it may be the one saying the writer is failing, and put in
            # the store again until it takes it (a second put of one alert changes nothing).
            log.warning("alerts: alert %s delivered before the store took it", alert.id)
            self._unstored.append(record)
            self._more_unstored.set()
        if names:
            self._pending[alert.id] = _Pending(alert, set(names))
            self._wake()

    async def _store_later(self) -> None:
        """Put the alerts the store refused, oldest first, each until it takes it; the
        wait between attempts doubles up to ``STORE_RETRY_MAX_S``."""
        pause = STORE_RETRY_FIRST_S
        while True:
            if not self._unstored:
                self._more_unstored = trio.Event()
                await self._more_unstored.wait()
                continue
            record = self._unstored[0]
            reply = self._request(partial(self.writer.put_alert, record))
            if reply is not None:
                with trio.move_on_after(OUTBOX_WAIT_S):
                    try:
                        await reply.wait()
                    except Exception as error:
                        log.debug("alerts: alert %s still not stored: %s", record.alert_id, error)
                    else:
                        log.info("alerts: alert %s stored after all", record.alert_id)
                        self._unstored.pop(0)
                        pause = STORE_RETRY_FIRST_S
                        continue
            await trio.sleep(pause)
            pause = min(pause * 2, STORE_RETRY_MAX_S)

    def _request(self, make: Callable[[], Reply]) -> Reply | None:
        """A request to the writer, unless its mailbox is full (then ``None``)."""
        try:
            return make()
        except trio.WouldBlock:
            log.warning("alerts: the writer's mailbox is full; not stored this time")
            return None

    def _wake(self) -> None:
        self._more.set()
        self._more = trio.Event()

    # ---------------------------------------------------------------- delivery

    async def _deliver(self, sink: Sink) -> None:
        """Send each pending alert to ``sink``, oldest first, until it answers (or
        refuses for good); between failed attempts, back off (or wait as it asked)."""
        failures = 0
        while True:
            more = self._more
            item = next((p for p in self._pending.values() if sink.name in p.sinks), None)
            if item is None:
                await more.wait()
                continue
            failure: DeliveryFailed | None = None
            with trio.move_on_after(SEND_LIMIT_S) as limit:
                try:
                    await sink.send(item.alert)
                except DeliveryFailed as error:
                    failure = error
                except Exception as error:  # a sink's own fault must not end delivery
                    failure = DeliveryFailed(f"{sink.name}: {type(error).__name__}: {error}")
            if limit.cancelled_caught:
                failure = DeliveryFailed(f"{sink.name}: no answer within {SEND_LIMIT_S:g} s")
            if failure is None:
                failures = 0
                self._answered(item, sink.name, "delivered", "")
                continue
            if failure.permanent:
                failures = 0
                log.error(
                    "alerts: %s refused alert %s for good, not retried: %s",
                    sink.name,
                    item.alert.id,
                    failure,
                )
                self._answered(item, sink.name, "failed", str(failure))
                continue
            failures += 1
            delay = failure.retry_after_s
            if delay is None:
                delay = min(self.config.retry_max_s, 0.5 * 2 ** (failures - 1))
            log.warning(
                "alerts: %s did not take alert %s (attempt %d), again in %.1f s: %s",
                sink.name,
                item.alert.id,
                failures,
                delay,
                failure,
            )
            await trio.sleep(delay)

    def _answered(self, item: _Pending, sink: str, outcome: str, detail: str) -> None:
        item.sinks.discard(sink)
        if outcome == "delivered":
            self.delivered += 1
        else:
            self.failed += 1
        if not item.sinks:
            self._pending.pop(item.alert.id, None)
            self._wake()
        alert_id = item.alert.id
        self._request(lambda: self.writer.mark_delivery(alert_id, sink, outcome, detail))


def _noted(alert: Alert, notes: str) -> Alert:
    return msgspec.structs.replace(alert, detail=alert.detail + notes) if notes else alert
