"""The alerts' outbox in the store and the sinks ``[alerts]`` configures."""

from __future__ import annotations

import msgspec
import pytest

from actors.runtime.alerts.chat import MissingSecret
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.sinks import sinks_from_config
from actors.runtime.alerts.webhook import WebhookSink
from actors.runtime.persistence.store import MIGRATIONS, OutboxRecord, Store


def test_an_alert_is_pending_for_each_sink_until_that_sink_answered(tmp_path):
    with Store(tmp_path / "basis.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        store.put_alert(OutboxRecord("a1", b"{}", ("webhook", "telegram"), 1.0))
        store.put_alert(OutboxRecord("a2", b"{}", ("webhook",), 2.0))
        store.put_alert(OutboxRecord("a3", b"{}", (), 3.0))
        store.mark_delivery("a1", "webhook", "delivered", "")
        store.mark_delivery("a2", "webhook", "failed", "HTTP 404")
        [pending] = store.pending_alerts()
        assert (pending.alert_id, pending.sinks) == ("a1", ("telegram",))
        # Stored twice (a retried request): kept once.
        store.put_alert(OutboxRecord("a1", b"{}", ("webhook", "telegram"), 1.0))
        assert len(store.pending_alerts()) == 1


def test_an_incident_is_stored_open_with_its_opening_and_dropped_with_its_resolution(tmp_path):
    with Store(tmp_path / "basis.db") as store:
        store.put_alert(OutboxRecord("o1", b"opened", ("webhook",), 5.0, opens="writer"))
        [row] = store.open_incidents()
        assert (row.key, row.body, row.opened_at) == ("writer", b"opened", 5.0)
        store.put_alert(OutboxRecord("r1", b"resolved", ("webhook",), 9.0, resolves="writer"))
        assert store.open_incidents() == []


def test_a_run_without_a_clean_stop_is_a_crash(tmp_path):
    with Store(tmp_path / "basis.db") as store:
        assert not store.last_run_crashed()
        first = store.begin_run()
        assert store.last_run_crashed()
        store.end_run(first)
        assert not store.last_run_crashed()
        store.begin_run()
        assert store.last_run_crashed()


def test_the_webhook_is_built_with_its_key_from_the_environment():
    section = msgspec.convert(
        {"webhook": {"url": "http://127.0.0.1:9/a", "secret_env": "KEY"}}, AlertsSection
    )
    [sink] = sinks_from_config(section, {"KEY": "k"})
    assert isinstance(sink, WebhookSink)
    assert sink.url == "http://127.0.0.1:9/a"
    assert sinks_from_config(AlertsSection(), {}) == []


def test_a_secret_missing_from_the_environment_is_named():
    section = msgspec.convert(
        {"webhook": {"url": "http://127.0.0.1:9/a", "secret_env": "ALERT_KEY"}}, AlertsSection
    )
    with pytest.raises(MissingSecret, match="ALERT_KEY"):
        sinks_from_config(section, {})
