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

import re
from collections.abc import Awaitable, Callable

import h11
import httpx

from actors.venues.http_transport import H11Transport, Outgoing
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
        self._transport = H11Transport(max_connections) if transport is None else None
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport or self._transport,
        )
        self.sent = 0
        self.failures = 0
        self.on_reply: Callable[[RestResponse], None] | None = None
        """Shown every reply (a router reading how much of the venue's request budget
        its headers say is used); ``None``: nothing is."""
        origin = httpx.URL(self.base_url)
        self._origin = (
            origin.scheme,
            origin.host,
            origin.port or (443 if origin.scheme == "https" else 80),
        )
        self._prefix = origin.raw_path.rstrip(b"/")
        self._headers = [
            (name.lower(), name, value)
            for name, value in self._client.build_request("GET", self.base_url).headers.raw
            if name.lower() != b"connection"
        ]
        """What httpx would send with every request (host, accept, encodings, agent)."""

    async def send(self, request: RestRequest) -> RestResponse:
        """Send ``request`` exactly as signed and return the venue's reply, whatever its
        status. Raises :class:`RequestNotSent` or :class:`OutcomeUnknown`."""
        self.sent += 1
        try:
            if self._transport is not None and _VERBATIM.fullmatch(request.path + request.query):
                outgoing = self._outgoing(request)
                return await self._reply(
                    await self._transport.exchange(outgoing, self._client.timeout.as_dict())
                )
            # The query goes on the URL verbatim: httpx must not re-encode what was signed.
            url = httpx.URL(self.base_url + request.path)
            if request.query:
                url = url.copy_with(query=request.query.encode())
            reply = await self._client.request(
                request.method, url, content=request.body or None, headers=list(request.headers)
            )
        except httpx.TransportError as error:
            raise self._failure(request, error) from error
        return self._shown(
            RestResponse(reply.status_code, reply.content, tuple(reply.headers.items()))
        )

    async def write(self, request: RestRequest) -> Callable[[], Awaitable[RestResponse]]:
        """``request`` written now, before this first yields, if a kept-open connection
        is free for it; what returns its reply when awaited (once, by any task). The
        reply and the failures are :meth:`send`'s: a failure to write is raised here,
        one after it by the awaiting. Without a connection free nothing is written here,
        and awaiting what this returns sends ``request`` then."""
        answer = None
        if self._transport is not None and _VERBATIM.fullmatch(request.path + request.query):
            try:
                answer = await self._transport.write_now(
                    self._outgoing(request), self._client.timeout.as_dict()
                )
            except httpx.TransportError as error:
                self.sent += 1
                raise self._failure(request, error) from error
        if answer is None:
            return lambda: self.send(request)
        self.sent += 1

        async def reply() -> RestResponse:
            try:
                return await self._reply(await answer())
            except httpx.TransportError as error:
                raise self._failure(request, error) from error

        return reply

    def _failure(
        self, request: RestRequest, error: httpx.TransportError
    ) -> RequestNotSent | OutcomeUnknown:
        """What a failure of the way to the venue means for ``request``: never sent if
        no connection was made, its outcome unknown otherwise."""
        self.failures += 1
        said = f"{request.method} {request.path}: {_say(error)}"
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return RequestNotSent(said)
        return OutcomeUnknown(said)

    def _outgoing(self, request: RestRequest) -> Outgoing:
        """``request`` as the transport writes it, straight to it without the request
        and response objects httpx builds around each (they cost about as much as the
        loopback round trip): the same head httpx would write, the same connections,
        timeouts and failures. A path or query httpx would re-encode goes through httpx
        instead."""
        target = self._prefix + request.path.encode()
        if request.query:
            target += b"?" + request.query.encode()
        headers = self._merged(request)
        body = request.body
        if body:
            headers.append((b"Content-Length", str(len(body)).encode()))
        return Outgoing(self._origin, request.method.encode(), target, headers, body)

    async def _reply(self, answer: tuple[h11.Response, bytes]) -> RestResponse:
        response, content = answer
        if any(name == b"content-encoding" for name, _ in response.headers):
            # A compressed answer is decoded as httpx decodes it.
            reply = httpx.Response(
                response.status_code, headers=response.headers, stream=httpx.ByteStream(content)
            )
            content = await reply.aread()
        return self._shown(
            RestResponse(response.status_code, content, _header_items(response.headers))
        )

    def _shown(self, reply: RestResponse) -> RestResponse:
        if self.on_reply is not None:
            self.on_reply(reply)
        return reply

    def _merged(self, request: RestRequest) -> list[tuple[bytes, bytes]]:
        """httpx's headers with the request's own after them, each replacing a default
        of the same name (as httpx merges them)."""
        own = [(name.encode(), value.encode()) for name, value in request.headers]
        replaced = {name.lower() for name, _ in own}
        kept = [(name, value) for lower, name, value in self._headers if lower not in replaced]
        return kept + own

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_VERBATIM = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
"""What httpx writes into a target as it is: anything else it would percent-encode."""


def _header_items(headers: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    """As httpx's ``Headers.items()``: names in lower case (h11 gives them so), repeated
    ones joined with commas."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        joined[key] = f"{joined[key]}, {text}" if key in joined else text
    return tuple(joined.items())


def _say(error: httpx.HTTPError) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
