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


class AlertsSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    webhook: WebhookSinkConfig | None = None
    telegram: TelegramSinkConfig | None = None
    discord: DiscordSinkConfig | None = None
