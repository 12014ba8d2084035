"""The sinks ``[alerts]`` configures, built once at start with their secrets from the
environment: a variable the file names and the environment lacks is an error then,
naming it, never a silent sink that cannot deliver."""

from __future__ import annotations

from collections.abc import Mapping

from actors.runtime.alerts.alert import Sink
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.webhook import WebhookSink


class SinkSecretMissing(ValueError):
    """A configured sink's secret is not in the environment; ``str()`` names it."""


def sinks_from_config(section: AlertsSection, environ: Mapping[str, str]) -> list[Sink]:
    """Every sink ``section`` configures, in a fixed order (webhook first)."""
    missing = section.missing_env(environ)
    if missing:
        raise SinkSecretMissing(
            "[alerts] names environment variables that are not set: "
            + ", ".join(missing)
            + "; set them, or remove the sink from [alerts]"
        )
    sinks: list[Sink] = []
    webhook = section.webhook
    if webhook is not None:
        secret = None if webhook.secret_env is None else environ[webhook.secret_env]
        sinks.append(WebhookSink(webhook.url, secret, timeout_s=webhook.timeout_s))
    for table, configured in (("telegram", section.telegram), ("discord", section.discord)):
        if configured is not None:
            raise ValueError(f"[alerts.{table}]: this build of Basis has no {table} sink")
    return sinks
