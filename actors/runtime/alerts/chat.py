"""The chat sinks: each alert as one message of plain text to a Telegram chat (a bot's
``sendMessage``) or a Discord channel (a webhook).

Both are reached at URLs that hold a secret: the bot's token, the webhook's token. The
secret comes from the environment, never leaves the transport (``secret_url``), and is
scrubbed from any error text. Each ``send`` is one attempt bounded by the sink's timeout;
a refusal says whether trying again can help.

Telegram (Bot API): ``POST <api>/bot<token>/sendMessage`` with ``chat_id`` and ``text``
(1-4096 characters, counted in UTF-16 code units). Every answer is a JSON object with
``ok``; a refusal carries ``error_code``, ``description`` and, for flood control (429),
``parameters.retry_after`` in seconds. A chat takes about one message a second, a group
20 a minute, before 429s begin.

Discord: ``POST <webhook url>?wait=true`` with ``content`` (up to 2000 characters);
``wait`` makes Discord answer only once the message is saved, so that a message it could
not save is an error rather than a silent 204. A rate-limited request gets 429 with
``retry_after`` (seconds, a float) in the JSON body and a ``Retry-After`` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import msgspec

from actors.runtime.alerts.alert import (
    Alert,
    DeliveryFailed,
    Sink,
    refused,
    retry_after_seconds,
)
from actors.runtime.alerts.config import AlertsSection, DiscordSinkConfig, TelegramSinkConfig
from actors.runtime.alerts.secret_url import scrubbed, secret_client

TELEGRAM_TEXT_LIMIT = 4096
"""UTF-16 code units in one Telegram message."""
DISCORD_CONTENT_LIMIT = 2000
"""Characters in one Discord message."""

_encode = msgspec.json.Encoder().encode
_CUT = "\n…"


class MissingSecret(Exception):
    """A sink's secret is not in the environment; ``str()`` names the variable and table."""


def truncated(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 code units (what Telegram counts; never
    more characters than that either), marked as cut where it was."""
    if _utf16_length(text) <= limit:
        return text
    budget = limit - _utf16_length(_CUT)
    kept: list[str] = []
    for char in text:
        budget -= _utf16_length(char)
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept) + _CUT


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        decoded = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _retry_after(said: object, response: httpx.Response) -> float | None:
    """How long the receiver asked to be left alone: what its answer's body ``said``, else
    its ``Retry-After`` header."""
    seconds = retry_after_seconds(said)
    if seconds is None:
        seconds = retry_after_seconds(response.headers.get("retry-after"))
    return seconds


def _transport_failure(sink: str, error: httpx.HTTPError, secret: str) -> DeliveryFailed:
    """A request that got no answer (refused, timed out, cut): worth trying again."""
    return DeliveryFailed(scrubbed(f"{sink}: {type(error).__name__}: {error}", secret))


class TelegramSink:
    """Sends each alert's text to ``chat_id`` through the bot whose token is ``token``."""

    def __init__(
        self,
        token: str,
        chat_id: str | int,
        *,
        api_url: str = "https://api.telegram.org",
        timeout_s: float = 5.0,
    ) -> None:
        self.name = "telegram"
        self.chat_id = chat_id
        base = api_url.rstrip("/")
        self._token = token
        self._url = f"{base}/bot***/sendMessage"
        self._client = secret_client(self._url, f"{base}/bot{token}/sendMessage", timeout_s)

    async def send(self, alert: Alert) -> None:
        body = {"chat_id": self.chat_id, "text": truncated(alert.text(), TELEGRAM_TEXT_LIMIT)}
        try:
            response = await self._client.post(
                self._url, content=_encode(body), headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as error:
            raise _transport_failure(self.name, error, self._token) from None
        answer = _json_object(response)
        if response.is_success and answer.get("ok") is True:
            return
        status = response.status_code
        parameters = answer.get("parameters")
        said = parameters.get("retry_after") if isinstance(parameters, dict) else None
        retry_after = _retry_after(said, response)
        description = str(answer.get("description") or response.text[:200])
        # 401 a wrong token, 404 a malformed one, 400 a chat that does not exist, 403 a
        # bot removed from it: none heals by itself. 429 and the server's own errors do.
        raise refused(
            scrubbed(f"telegram: HTTP {status}: {description}", self._token), status, retry_after
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class DiscordSink:
    """Posts each alert's text through the Discord webhook at ``url`` (which holds its
    token)."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.name = "discord"
        parsed = httpx.URL(url)
        self._secret = url
        self._url = str(parsed.copy_with(path="/api/webhooks/***", query=None))
        # The URL's own query (a thread_id, say) goes along with every request.
        self._client = secret_client(self._url, url, timeout_s)

    async def send(self, alert: Alert) -> None:
        body = {
            "content": truncated(alert.text(), DISCORD_CONTENT_LIMIT),
            # An alert's text is ours, but a symbol or a reason must never ping a channel.
            "allowed_mentions": {"parse": []},
        }
        try:
            response = await self._client.post(
                self._url,
                params={"wait": "true"},
                content=_encode(body),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as error:
            raise _transport_failure(self.name, error, self._secret) from None
        if response.is_success:
            return
        status = response.status_code
        answer = _json_object(response)
        retry_after = _retry_after(answer.get("retry_after"), response)
        message = str(answer.get("message") or response.text[:200])
        raise refused(
            scrubbed(f"discord: HTTP {status}: {message}", self._secret), status, retry_after
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def telegram_sink(config: TelegramSinkConfig, environ: Mapping[str, str]) -> TelegramSink:
    token = environ.get(config.token_env, "")
    if not token:
        raise MissingSecret(
            f"[alerts.telegram] needs the bot's token in ${config.token_env}; set it "
            "(the token @BotFather gave), or remove the table"
        )
    return TelegramSink(token, config.chat_id, api_url=config.api_url, timeout_s=config.timeout_s)


def discord_sink(config: DiscordSinkConfig, environ: Mapping[str, str]) -> DiscordSink:
    url = environ.get(config.url_env, "")
    if not url:
        raise MissingSecret(
            f"[alerts.discord] needs the webhook's URL in ${config.url_env}; set it (the "
            "channel's Integrations > Webhooks > Copy Webhook URL), or remove the table"
        )
    if not url.startswith(("http://", "https://")):
        raise MissingSecret(
            f"[alerts.discord]: ${config.url_env} does not hold an http(s) URL; set it to "
            "the webhook's URL"
        )
    return DiscordSink(url, timeout_s=config.timeout_s)


def chat_sinks(section: AlertsSection, environ: Mapping[str, str]) -> list[Sink]:
    """The Telegram and Discord sinks ``[alerts]`` configures, their secrets read from
    ``environ``; :class:`MissingSecret` when one is not there."""
    sinks: list[Sink] = []
    if section.telegram is not None:
        sinks.append(telegram_sink(section.telegram, environ))
    if section.discord is not None:
        sinks.append(discord_sink(section.discord, environ))
    return sinks
