"""A webhook receiver on 127.0.0.1 for alert tests: it checks each alert's signature,
keeps what it took, and can be told to fail or to hang, as a real receiver might."""

from __future__ import annotations

import hmac

import attrs
import msgspec
import trio

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.alerts.alert import Alert
from actors.runtime.alerts.webhook import signature

ALERT = Alert(
    id="a1",
    incident="feed:feed-mexc",
    kind="opened",
    severity="critical",
    title="feed-mexc stale",
    detail="no data for 12 s",
    instance="basis@test",
    ts=1_700_000_000.0,
)
"""An alert as a sink test sends it."""


@attrs.define(eq=False)
class AlertReceiver:
    secret: bytes | None = None
    alerts: list[Alert] = attrs.Factory(list)
    """Alerts taken, in arrival order (a repeated delivery appears twice)."""
    arrived_at: list[float] = attrs.Factory(list)
    """``trio.current_time()`` of each taken alert."""
    bad_signatures: int = 0
    fail_next: int = 0
    """Answer this many requests with a 503 before taking alerts again."""
    hang_s: float = 0.0
    """Wait this long before answering each request."""
    changed: trio.Condition = attrs.Factory(trio.Condition)
    url: str = ""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if self.hang_s:
            await trio.sleep(self.hang_s)
        if self.fail_next:
            self.fail_next -= 1
            return HttpResponse(503, b'{"error":"try later"}')
        if self.secret is not None:
            timestamp = request.headers.get("x-basis-timestamp", "")
            expected = signature(self.secret, timestamp, request.body)
            if not hmac.compare_digest(expected, request.headers.get("x-basis-signature", "")):
                self.bad_signatures += 1
                return HttpResponse(401, b'{"error":"bad signature"}')
        self.alerts.append(msgspec.json.decode(request.body, type=Alert))
        self.arrived_at.append(trio.current_time())
        async with self.changed:
            self.changed.notify_all()
        return HttpResponse(200, b"{}")

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        server = HttpServer(self.handle, name="alert-receiver")
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            self.url = f"http://127.0.0.1:{port}/alerts"
            task_status.started(self.url)

    async def wait_for(self, count: int) -> list[Alert]:
        """Once at least ``count`` alerts arrived, all of them."""
        async with self.changed:
            while len(self.alerts) < count:
                await self.changed.wait()
        return list(self.alerts)
