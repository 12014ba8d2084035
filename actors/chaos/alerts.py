"""The webhook a chaos run's trading process sends its alerts to, in the chaos process
on 127.0.0.1: what arrived and when, for ``invariants.alerts_follow_incidents``."""

from __future__ import annotations

import time

import attrs
import msgspec
import trio

from actors.chaos.invariants import ReceivedAlert
from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.alerts.alert import Alert

_decode = msgspec.json.Decoder(Alert).decode


@attrs.define(eq=False)
class AlertInbox:
    received: list[ReceivedAlert] = attrs.Factory(list)
    """In arrival order, each with its wall-clock arrival time."""
    malformed: int = 0

    async def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            alert = _decode(request.body)
        except msgspec.ValidationError:
            self.malformed += 1
            return HttpResponse(400, b'{"error":"not an alert"}')
        self.received.append(ReceivedAlert(time.time(), alert.id, alert.incident, alert.kind))
        return HttpResponse(200, b"{}")

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(HttpServer(self.handle, name="chaos-alerts").serve)
            task_status.started(f"http://127.0.0.1:{port}/alerts")
