"""RestClient over loopback: verbatim queries, kept-alive connections, and failures
sorted into "not sent" and "outcome unknown"."""

from __future__ import annotations

import pytest
import trio

from actors.http_server import CloseWithoutAnswer, HttpRequest, HttpResponse, HttpServer
from actors.venues import http_transport
from actors.venues.rest import OutcomeUnknown, RequestNotSent, RestClient
from protocols.venue import RestRequest

seen: list[HttpRequest] = []


async def handler(request: HttpRequest) -> HttpResponse:
    seen.append(request)
    if request.path == "/slow":
        await trio.sleep(10)
    if request.path == "/vanish":
        raise CloseWithoutAnswer
    return HttpResponse(201, b'{"ok":true}', headers=(("Retry-After", "2"),))


@pytest.fixture
async def server(nursery):
    seen.clear()
    server = HttpServer(handler)
    port = await nursery.start(server.serve)
    return server, f"http://127.0.0.1:{port}"


async def test_a_request_goes_out_exactly_as_signed(server):
    server, url = server
    async with RestClient(url) as client:
        request = RestRequest(
            "POST", "/api/v3/order", "symbol=BTCUSDT&x=%2F&signature=ab", b"{}", (("X-K", "v"),)
        )
        for _ in range(3):
            response = await client.send(request)
    assert (response.status, response.body, response.header("retry-after")) == (
        201,
        b'{"ok":true}',
        "2",
    )
    assert seen[0].query_string == "symbol=BTCUSDT&x=%2F&signature=ab"
    assert (seen[0].body, seen[0].headers["x-k"]) == (b"{}", "v")
    assert server.connections == 1


async def test_no_connection_means_not_sent():
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    await listener.aclose()
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(RequestNotSent, match="ConnectError"):
            await client.send(RestRequest("GET", "/api/v3/time"))


async def test_a_timeout_or_a_dropped_reply_means_outcome_unknown(server):
    _, url = server
    async with RestClient(url, timeout_s=0.2) as client:
        with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
            await client.send(RestRequest("POST", "/slow"))
        with pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
            await client.send(RestRequest("POST", "/vanish"))
    assert [r.path for r in seen] == ["/slow", "/vanish"]


async def test_a_compressed_answer_is_decoded(nursery):
    import gzip

    async def zipped(request: HttpRequest) -> HttpResponse:
        return HttpResponse(
            200, gzip.compress(b'{"serverTime":1}'), headers=(("Content-Encoding", "gzip"),)
        )

    port = await nursery.start(HttpServer(zipped).serve)
    async with RestClient(f"http://127.0.0.1:{port}") as client:
        response = await client.send(RestRequest("GET", "/api/v3/time"))
    assert response.body == b'{"serverTime":1}'


async def test_idle_connections_are_reused_until_they_are_old(server, monkeypatch):
    monkeypatch.setattr(http_transport, "IDLE_LIMIT_S", 0.05)
    server, url = server
    async with RestClient(url) as client:
        await client.send(RestRequest("GET", "/api/v3/time"))
        await client.send(RestRequest("GET", "/api/v3/time"))
        assert server.connections == 1
        await trio.sleep(0.1)  # past the idle limit: the server may have closed it
        await client.send(RestRequest("GET", "/api/v3/time"))
    assert server.connections == 2
