"""Sending signed REST requests with httpx, and telling "not sent" from "unknown".

A router must never resend an order blindly. What it may do after a failure depends on
whether the venue could have acted on the request:

* :class:`RequestNotSent` — the connection was never made: nothing reached the venue,
  so sending again is safe;
* :class:`OutcomeUnknown` — the request may have arrived (a read timeout, a reset after
  sending): the router must look the order up by its client id before anything else.

Each venue gets one :class:`RestClient`: one ``httpx.AsyncClient`` with a keep-alive
pool and explicit timeouts, over :class:`~actors.venues.http_transport.H11Transport`.
"""

from __future__ import annotations

import httpx

from actors.venues.http_transport import H11Transport
from protocols.venue import RestRequest, RestResponse, VenueError


class RequestNotSent(Exception):
    """Nothing reached the venue; the message says why."""


class OutcomeUnknown(Exception):
    """The venue may or may not have acted on the request; the message says why."""


VENUE_FAILURES = (VenueError, RequestNotSent, OutcomeUnknown)
"""What a request to a venue may fail with because of the venue or the way to it: its
answer was an error, nothing was sent, or the outcome is unknown. Anything else a request
raises is a bug, to be let through."""


class RestClient:
    """``base_url`` is the venue's origin (``https://api.mexc.com``); request paths
    carry the API prefix, as they were signed."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        max_connections: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport or H11Transport(max_connections),
        )
        self.sent = 0
        self.failures = 0

    async def send(self, request: RestRequest) -> RestResponse:
        """Send ``request`` exactly as signed and return the venue's reply, whatever its
        status. Raises :class:`RequestNotSent` or :class:`OutcomeUnknown`."""
        # The query goes on the URL verbatim: httpx must not re-encode what was signed.
        url = httpx.URL(self.base_url + request.path)
        if request.query:
            url = url.copy_with(query=request.query.encode())
        self.sent += 1
        try:
            reply = await self._client.request(
                request.method, url, content=request.body or None, headers=list(request.headers)
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            self.failures += 1
            raise RequestNotSent(f"{request.method} {request.path}: {_say(error)}") from error
        except httpx.TransportError as error:
            self.failures += 1
            raise OutcomeUnknown(f"{request.method} {request.path}: {_say(error)}") from error
        return RestResponse(reply.status_code, reply.content, tuple(reply.headers.items()))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _say(error: httpx.HTTPError) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
