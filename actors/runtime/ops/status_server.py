"""The status endpoint on 127.0.0.1: ``/health``, ``/status`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.ops.crash_injection import CrashRefused, crash_actor
from actors.runtime.ops.metrics import CONTENT_TYPE, exposition, metrics_registry
from actors.runtime.ops.status import build_status

_encode = msgspec.json.Encoder().encode


def status_server(system: Any, *, crash_injection: bool = False) -> HttpServer:
    """``crash_injection`` adds ``POST /faults/crash`` (``actors.runtime.ops.crash_injection``)."""
    registry = metrics_registry(system)

    async def handle(request: HttpRequest) -> HttpResponse:
        if crash_injection and (request.method, request.path) == ("POST", "/faults/crash"):
            try:
                return HttpResponse(200, _encode({"crashed": crash_actor(system, request.body)}))
            except CrashRefused as error:
                return HttpResponse(400, _encode({"error": str(error)}))
        if request.method != "GET":
            return HttpResponse(405, b'{"error":"only GET"}')
        if request.path == "/metrics":
            return HttpResponse(200, exposition(registry), CONTENT_TYPE)
        status = build_status(system)
        if request.path == "/health":
            body = _encode({"healthy": status.healthy, "reason": status.health_reason})
            return HttpResponse(200 if status.healthy else 503, body)
        if request.path == "/status":
            return HttpResponse(200, _encode(status))
        return HttpResponse(404, b'{"error":"try /health, /status or /metrics"}')

    return HttpServer(handle, name="status")


async def serve_status(
    system: Any,
    port: int,
    *,
    crash_injection: bool = False,
    task_status: Any = trio.TASK_STATUS_IGNORED,
):
    server = status_server(system, crash_injection=crash_injection)
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(server.serve, port)
        task_status.started(bound)
