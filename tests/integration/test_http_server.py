"""The simulated venues' HTTP server, driven by httpx over real loopback sockets."""

from __future__ import annotations

import httpx
import pytest
import trio

from actors.http_server import CloseWithoutAnswer, HttpRequest, HttpResponse, HttpServer


async def echo(request: HttpRequest) -> HttpResponse:
    if request.path == "/boom":
        raise RuntimeError("handler bug")
    if request.path == "/vanish":
        raise CloseWithoutAnswer
    body = f"{request.method} {request.path} ?{request.query_string} {request.body.decode()}"
    return HttpResponse(200, body.encode(), "text/plain", (("x-key", request.headers["x-key"]),))


@pytest.fixture
async def server(nursery):
    server = HttpServer(echo)
    port = await nursery.start(server.serve)
    return server, f"http://127.0.0.1:{port}"


async def test_requests_reach_the_handler_verbatim_over_one_kept_alive_connection(server):
    server, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        for n in range(3):
            response = await client.post(
                "/api/v3/order?symbol=BTCUSDT&b=%2F&a=1", content=f"n={n}", headers={"X-Key": "k"}
            )
            assert response.status_code == 200
            assert response.text == f"POST /api/v3/order ?symbol=BTCUSDT&b=%2F&a=1 n={n}"
            assert response.headers["x-key"] == "k"
    assert server.connections == 1


async def test_a_failing_handler_answers_500_and_the_connection_lives_on(server, caplog):
    server, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/boom")).status_code == 500
        assert (await client.get("/ok", headers={"X-Key": "k"})).status_code == 200
    assert "the handler failed on GET /boom" in caplog.text


async def test_close_without_answer_looks_like_a_dropped_request(server):
    server, url = server
    async with httpx.AsyncClient(base_url=url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/vanish")


async def test_refusing_closes_new_connections(server):
    server, url = server
    server.refusing = True
    async with httpx.AsyncClient(base_url=url) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            await client.get("/ok")
    server.refusing = False
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/ok", headers={"X-Key": "k"})).status_code == 200


async def test_garbage_gets_400(server):
    server, url = server
    port = int(url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
    answer = await stream.receive_some(1024)
    assert answer.startswith(b"HTTP/1.1 400 ")
    await stream.aclose()
