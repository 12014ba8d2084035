"""The generic JSON webhook sink: each alert POSTed as its JSON object.

With a signing key, the request carries ``X-Basis-Timestamp`` (Unix seconds) and
``X-Basis-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` under the
key: a receiver recomputes it to know the alert is Basis's, and rejects an old timestamp
to refuse a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import msgspec

from actors.runtime.alerts.alert import Alert, DeliveryFailed, refused, retry_after_seconds

_encode = msgspec.json.Encoder().encode


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Basis-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def failure_of(response: httpx.Response, sink: str) -> DeliveryFailed | None:
    """What a receiver's answer means for delivery: ``None`` when it took the alert."""
    if response.is_success:
        return None
    status = response.status_code
    return refused(
        f"{sink}: HTTP {status}: {response.text[:200]}",
        status,
        retry_after_seconds(response.headers.get("retry-after")),
    )


class WebhookSink:
    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        timeout_s: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = "webhook"
        self.url = url
        self._secret = None if secret is None else secret.encode()
        self._client = client or httpx.AsyncClient(timeout=timeout_s)

    async def send(self, alert: Alert) -> None:
        body = _encode(alert)
        headers = {"content-type": "application/json", "x-basis-alert-id": alert.id}
        if self._secret is not None:
            timestamp = str(int(time.time()))
            headers["x-basis-timestamp"] = timestamp
            headers["x-basis-signature"] = signature(self._secret, timestamp, body)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"webhook: {type(error).__name__}: {error}") from None
        failed = failure_of(response, "webhook")
        if failed is not None:
            raise failed

    async def aclose(self) -> None:
        await self._client.aclose()
