"""Requests to a URL that is itself a secret, without the secret ever in httpx's sight.

A Telegram bot's token is part of the path it is called at (``/bot<token>/sendMessage``),
and a Discord webhook's URL holds its token. httpx writes a request's URL into its log
lines and into some of its errors; so the client is given a stand-in URL, and the real one
replaces it only in the transport, on the way to the socket. Whatever httpx logs or
raises names the stand-in.
"""

from __future__ import annotations

import httpx


class SecretUrlTransport(httpx.AsyncBaseTransport):
    """Sends a request for ``public`` to ``secret`` instead, the request's query added to
    any the secret URL has."""

    def __init__(self, public: str, secret: str, inner: httpx.AsyncBaseTransport) -> None:
        self._public = httpx.URL(public)
        self._secret = httpx.URL(secret)
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.copy_with(query=None) == self._public:
            request = httpx.Request(
                request.method,
                self._secret.copy_merge_params(request.url.params),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def secret_client(public: str, secret: str, timeout_s: float) -> httpx.AsyncClient:
    """A client that reaches ``secret`` when asked for ``public``."""
    transport = SecretUrlTransport(public, secret, httpx.AsyncHTTPTransport())
    return httpx.AsyncClient(transport=transport, timeout=timeout_s)


def scrubbed(text: str, *secrets: str) -> str:
    """``text`` with every secret replaced by a mark: for the messages of errors that may
    have picked one up anyway."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text
