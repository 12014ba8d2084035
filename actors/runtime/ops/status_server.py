"""The status endpoint on 127.0.0.1: ``/health``, ``/status`` and ``/metrics``, and the
operator's controls (``actors.runtime.ops.control_endpoints``)."""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.ops.control_endpoints import ControlEndpoints
from actors.runtime.ops.crash_injection import CrashRefused, crash_actor
from actors.runtime.ops.metrics import CONTENT_TYPE, exposition, metrics_registry
from actors.runtime.ops.status import build_status

_encode = msgspec.json.Encoder().encode


def status_server(
    system: Any, *, port: int = 0, control_token: str | None = None, crash_injection: bool = False
) -> HttpServer:
    """Served on 127.0.0.1:``port``; ``control_token`` turns the control POSTs on.
    ``crash_injection`` adds ``POST /faults/crash`` (``actors.runtime.ops.crash_injection``)."""
    registry = metrics_registry(system)
    controls = ControlEndpoints(system, port, control_token)

    async def handle(request: HttpRequest) -> HttpResponse:
        if controls.serves(request):
            return await controls.handle(request)
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
            body = _encode(
                {
                    "healthy": status.healthy,
                    "state": status.health,
                    "reason": status.health_reason,
                }
            )
            # Degraded still trades: 200, so that a probe does not restart a working system.
            return HttpResponse(503 if status.health == "failing" else 200, body)
        if request.path == "/status":
            return HttpResponse(200, _encode(status))
        return HttpResponse(404, b'{"error":"try /health, /status or /metrics"}')

    return HttpServer(handle, name="status")


class StatusPortTaken(Exception):
    """The status endpoint's port cannot be had; ``str()`` says which and how to choose."""

    def __init__(self, port: int, error: OSError) -> None:
        self.port = port
        super().__init__(
            f"the status port 127.0.0.1:{port} cannot be used ({error.strerror or error}); "
            "set [http] port in the config to a free port, or to 0 for any free port"
        )


async def claim_status_port(port: int) -> list[trio.SocketListener]:
    """Bind the status endpoint's port, before anything else starts: a port that cannot
    be had stops a run before it has touched the store."""
    try:
        return await trio.open_tcp_listeners(port, host="127.0.0.1")
    except OSError as error:
        raise StatusPortTaken(port, error) from None


async def serve_status(
    system: Any,
    port: int | list[trio.SocketListener],
    *,
    control_token: str | None = None,
    crash_injection: bool = False,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``system``'s status on ``port`` (or on listeners from
    :func:`claim_status_port`) until cancelled; started with the port. ``control_token``:
    the token the control POSTs need (without one they are refused)."""
    listeners = await claim_status_port(port) if isinstance(port, int) else port
    bound = listeners[0].socket.getsockname()[1]
    server = status_server(
        system, port=bound, control_token=control_token, crash_injection=crash_injection
    )
    await server.serve_on(listeners, task_status=task_status)
