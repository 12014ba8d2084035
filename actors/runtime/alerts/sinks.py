"""The sinks ``[alerts]`` configures, built once at start with their secrets from the
environment: a variable the file names and the environment lacks is an error then,
naming it (:class:`~actors.runtime.alerts.chat.MissingSecret`), never a silent sink that
cannot deliver. ``basis run`` and ``basis watchdog`` build theirs here alike."""

from __future__ import annotations

from collections.abc import Mapping

from actors.runtime.alerts.alert import Sink
from actors.runtime.alerts.chat import MissingSecret, chat_sinks
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.webhook import WebhookSink


def webhook_sinks(section: AlertsSection, environ: Mapping[str, str]) -> list[Sink]:
    """The ``[alerts.webhook]`` sink, its signing key read from ``environ``."""
    config = section.webhook
    if config is None:
        return []
    secret = None
    if config.secret_env is not None:
        secret = environ.get(config.secret_env, "")
        if not secret:
            raise MissingSecret(
                f"[alerts.webhook] signs with the key in ${config.secret_env}; set it, or "
                "remove secret_env to send unsigned"
            )
    return [WebhookSink(config.url, secret, timeout_s=config.timeout_s)]


def sinks_from_config(section: AlertsSection, environ: Mapping[str, str]) -> list[Sink]:
    """Every sink ``section`` configures, in a fixed order: the webhook, Telegram, Discord."""
    return webhook_sinks(section, environ) + chat_sinks(section, environ)
