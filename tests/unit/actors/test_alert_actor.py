"""The alert actor on trio's MockClock: every alert stored before any attempt to deliver
it, retries that honour a sink's Retry-After, a permanent refusal marked and not
retried, a store that does not answer holding nothing back, and a hanging sink holding
up neither the other sinks nor the incidents."""

from __future__ import annotations

import itertools
from pathlib import Path

import attrs
import msgspec
import trio

from actors.runtime.alerts.actor import OUTBOX_WAIT_S, SEND_LIMIT_S, AlertActor, AlertOut
from actors.runtime.alerts.alert import Alert, DeliveryFailed
from actors.runtime.alerts.conditions import Observation, Signal
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.persistence.store import OutboxRecord, Store
from actors.runtime.persistence.writer import Reply
from supervision import Incarnation

STALE = Signal("failing", "feed-mexc stale: no data", "feed:feed-mexc")


@attrs.define
class FakeWriter:
    """Answers the actor's store requests at once, or never (a store that is failing)."""

    answering: bool = True
    stored: list[OutboxRecord] = attrs.Factory(list)
    marks: list[tuple[str, str, str]] = attrs.Factory(list)

    def _reply(self, value: object = None) -> Reply:
        reply = Reply(value=value)
        if self.answering:
            reply.done.set()
        return reply

    def put_alert(self, record: OutboxRecord) -> Reply:
        if self.answering:
            self.stored.append(record)
        return self._reply()

    def mark_delivery(self, alert_id: str, sink: str, outcome: str, detail: str) -> Reply:
        self.marks.append((alert_id, sink, outcome))
        return self._reply()

    def begin_run(self) -> Reply:
        return self._reply(1)

    def end_run(self, run_id: int) -> Reply:
        return self._reply()


@attrs.define
class ScriptedSink:
    """A sink answering each attempt as its script says: ``None`` takes the alert,
    a :class:`DeliveryFailed` is raised, ``"hang"`` never answers."""

    name: str
    writer: FakeWriter
    script: list[object] = attrs.Factory(list)
    attempts: list[tuple[float, Alert]] = attrs.Factory(list)
    taken: list[Alert] = attrs.Factory(list)
    stored_first: list[bool] = attrs.Factory(list)

    async def send(self, alert: Alert) -> None:
        self.attempts.append((trio.current_time(), alert))
        self.stored_first.append(alert.id in {r.alert_id for r in self.writer.stored})
        step = self.script.pop(0) if self.script else None
        if step == "hang":
            await trio.sleep_forever()
        if isinstance(step, DeliveryFailed):
            raise step
        self.taken.append(alert)


@attrs.define
class World:
    signals: list[Signal] = attrs.Factory(list)

    def observe(self) -> Observation:
        return Observation(tuple(self.signals), (), ())


async def start(tmp_path: Path, nursery: trio.Nursery, writer: FakeWriter, sinks, world=None):
    world = world or World()
    actor = AlertActor(AlertsSection(), sinks, writer, tmp_path / "basis.db", world.observe, "test")
    await nursery.start(actor.run, Incarnation("alert-actor", 0, None, None))
    return actor, world


async def test_each_alert_is_stored_before_any_attempt_and_marked_once_delivered(
    tmp_path, autojump_clock
):
    writer = FakeWriter()
    sink = ScriptedSink("webhook", writer)
    async with trio.open_nursery() as nursery:
        actor, world = await start(tmp_path, nursery, writer, [sink])
        world.signals = [STALE]
        await trio.sleep(10.0)
        world.signals = []
        await trio.sleep(10.0)
        nursery.cancel_scope.cancel()
    assert [(a.incident, a.kind) for a in sink.taken] == [
        ("start", "event"),
        ("feed:feed-mexc", "opened"),
        ("feed:feed-mexc", "resolved"),
    ]
    assert sink.stored_first == [True, True, True]
    assert writer.marks == [(a.id, "webhook", "delivered") for a in sink.taken]
    assert [r.opens for r in writer.stored] == [None, "feed:feed-mexc", None]
    assert [r.resolves for r in writer.stored] == [None, None, "feed:feed-mexc"]
    assert actor.statistics().pending == 0
    assert actor.statistics().recent == [
        AlertOut(a.id, a.incident, a.kind, a.severity, a.title, a.detail, a.ts) for a in sink.taken
    ]


async def test_the_status_lists_the_newest_100_alerts_raised_oldest_first(tmp_path, autojump_clock):
    writer = FakeWriter()
    async with trio.open_nursery() as nursery:
        actor, world = await start(tmp_path, nursery, writer, [])
        # Flapping: each feed opens and resolves an incident, 60 feeds one after another.
        for n in range(60):
            world.signals = [Signal("failing", f"feed-{n} stale", f"feed:feed-{n}")]
            await trio.sleep(10.0)
        world.signals = []
        await trio.sleep(10.0)
        nursery.cancel_scope.cancel()
    raised = [msgspec.json.decode(r.body, type=Alert) for r in writer.stored]
    assert len(raised) > 100
    assert [a.id for a in actor.statistics().recent] == [a.id for a in raised[-100:]]


async def test_a_sink_asking_to_be_left_alone_is_asked_again_only_after_that(
    tmp_path, autojump_clock
):
    writer = FakeWriter()
    busy = DeliveryFailed("webhook: HTTP 429", retry_after_s=30.0)
    sink = ScriptedSink("webhook", writer, [busy, busy])
    async with trio.open_nursery() as nursery:
        await start(tmp_path, nursery, writer, [sink])
        await trio.sleep(100.0)
        nursery.cancel_scope.cancel()
    times = [t for t, _ in sink.attempts]
    assert len(times) == 3
    assert all(later - earlier >= 30.0 for earlier, later in itertools.pairwise(times))
    assert len(sink.taken) == 1


async def test_a_permanent_refusal_is_marked_failed_and_never_retried(tmp_path, autojump_clock):
    writer = FakeWriter()
    wrong_url = DeliveryFailed("webhook: HTTP 404", permanent=True)
    refusing = ScriptedSink("webhook", writer, [wrong_url])
    other = ScriptedSink("other", writer)
    async with trio.open_nursery() as nursery:
        actor, _ = await start(tmp_path, nursery, writer, [refusing, other])
        await trio.sleep(300.0)
        nursery.cancel_scope.cancel()
    [(_, alert)] = refusing.attempts
    assert (alert.id, "webhook", "failed") in writer.marks
    assert [a.id for a in other.taken] == [alert.id]
    assert (actor.failed, actor.delivered, actor.statistics().pending) == (1, 1, 0)


async def test_a_store_that_does_not_answer_holds_no_alert_back(tmp_path, autojump_clock):
    # The writer failing must still reach the operator: delivered from memory.
    writer = FakeWriter(answering=False)
    sink = ScriptedSink("webhook", writer)
    async with trio.open_nursery() as nursery:
        began = trio.current_time()
        _, world = await start(tmp_path, nursery, writer, [sink])
        world.signals = [Signal("failing", "writer failing: disk full", "writer")]
        await trio.sleep(20.0)
        nursery.cancel_scope.cancel()
    assert [(a.incident, a.kind) for a in sink.taken] == [("start", "event"), ("writer", "opened")]
    assert sink.attempts[0][0] - began <= OUTBOX_WAIT_S + 0.1


async def test_a_hanging_sink_holds_up_neither_the_other_sink_nor_the_incidents(
    tmp_path, autojump_clock
):
    writer = FakeWriter()
    hanging = ScriptedSink("hanging", writer, ["hang"] * 100)
    prompt = ScriptedSink("prompt", writer)
    async with trio.open_nursery() as nursery:
        actor, world = await start(tmp_path, nursery, writer, [hanging, prompt])
        world.signals = [STALE]
        appeared = trio.current_time()
        await trio.sleep(10.0)
        assert [i.key for i in actor.book.open_incidents()] == ["feed:feed-mexc"]
        await trio.sleep(3 * SEND_LIMIT_S)
        nursery.cancel_scope.cancel()
    opened = next(t for t, a in prompt.attempts if a.kind == "opened")
    assert opened - appeared <= AlertsSection().open_after_s + 1.0
    # Each attempt at the hanging one is given up after the limit, and tried again.
    times = [t for t, _ in hanging.attempts]
    assert len(times) >= 3
    assert all(later - earlier >= SEND_LIMIT_S for earlier, later in itertools.pairwise(times))
    assert hanging.taken == []


async def test_an_incident_restored_at_a_restart_waits_for_the_system_to_start(
    tmp_path, autojump_clock
):
    # An earlier run announced the incident open; its condition is seen again only once
    # the system has started (its strategies added), which takes 20 s here.
    opened = Alert("a1", STALE.key, "opened", "critical", "stale", "no data", "test", 0.0)
    with Store(tmp_path / "basis.db") as store:
        store.put_alert(OutboxRecord("a1", msgspec.json.encode(opened), (), 0.0, STALE.key))
    writer = FakeWriter()
    sink = ScriptedSink("webhook", writer)
    world = World()
    started = trio.Event()
    actor = AlertActor(
        AlertsSection(), [sink], writer, tmp_path / "basis.db", world.observe, "test", started
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run, Incarnation("alert-actor", 0, None, None))
        await trio.sleep(20.0)
        world.signals = [STALE]
        started.set()
        await trio.sleep(20.0)
        nursery.cancel_scope.cancel()
    assert [(a.incident, a.kind) for a in sink.taken] == [("start", "event")]
    assert [c.key for c in actor.book.open_incidents()] == [STALE.key]
