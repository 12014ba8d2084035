"""The ``[alerts]`` table: where alerts go. Secrets (the webhook's signing key, the
Telegram bot's token, a Discord webhook's URL, which holds its token) are never in the
file: it names the environment variables that hold them."""

from __future__ import annotations

from typing import Annotated

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class WebhookSinkConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[alerts.webhook]``: each alert POSTed as JSON, its body signed with HMAC-SHA256."""

    url: str
    secret_env: str | None = None
    """The environment variable holding the signing key; unset sends unsigned."""
    timeout_s: Seconds = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"alerts.webhook.url: expected an http(s) URL, got {self.url!r}")


class TelegramSinkConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[alerts.telegram]``: each alert sent to a chat by a bot (``sendMessage``)."""

    chat_id: str | int
    token_env: str = "BASIS_TELEGRAM_TOKEN"
    api_url: str = "https://api.telegram.org"
    """The Bot API's address (a local Bot API server, say)."""
    timeout_s: Seconds = 5.0

    def __post_init__(self) -> None:
        if not str(self.chat_id).strip():
            raise ValueError("alerts.telegram.chat_id: expected the chat's id or @channelname")
        if not self.api_url.startswith(("http://", "https://")):
            raise ValueError(
                f"alerts.telegram.api_url: expected an http(s) URL, got {self.api_url!r}"
            )


class DiscordSinkConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[alerts.discord]``: each alert posted to a channel through its webhook."""

    url_env: str = "BASIS_DISCORD_WEBHOOK_URL"
    timeout_s: Seconds = 5.0


Count = Annotated[int, msgspec.Meta(ge=1)]


class AlertsSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[alerts]``: the sinks, and when a condition becomes an incident worth telling."""

    webhook: WebhookSinkConfig | None = None
    telegram: TelegramSinkConfig | None = None
    discord: DiscordSinkConfig | None = None
    instance: str | None = None
    """How alerts name this Basis; unset: the host name and the data directory."""
    open_after_s: Seconds = 2.0
    """How long a condition must last before it is an incident: a feed that reconnects
    within a second is none."""
    resolve_after_s: Seconds = 2.0
    """How long an incident's condition must be gone before it is resolved."""
    unhedged_after_s: Seconds = 10.0
    """How long the legs of a task may differ by more than the smallest order either
    venue takes (an entry's legs fill one after the other) before it is an incident."""
    order_unknown_after_s: Seconds = 30.0
    """How long an order may go without its outcome before it is an incident (a
    strategy cancels what is still open after ``leg_timeout_s``)."""
    reconnects_per_minute: Count = 10
    """More new connections of one feed than this within a minute is a reconnect storm."""
    max_alerts_per_incident: Count = 6
    """At most this many alerts about one incident within ``rate_window_s``; changes in
    between are summed up in the next alert once the window allows it."""
    rate_window_s: Seconds = 600.0
    observe_every_s: Seconds = 0.5
    """How often the system's state is read for incidents."""
    retry_max_s: Seconds = 60.0
    """The longest wait between two attempts to deliver an alert to a sink."""
