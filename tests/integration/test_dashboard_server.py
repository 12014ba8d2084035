"""The dashboard served by hypercorn on 127.0.0.1, as a browser meets it: the login, the
checks every request passes, the event stream with its replay, and the controls. A fake
status source feeds the sampler; the last test serves a real paper system."""

from __future__ import annotations

import concurrent.futures
import copy
import json
import logging
import math
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import httpx
import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState
from actors.cli.paper import paper_system
from actors.dashboard.app import MAX_WAITING_LOGINS, SIGNED_OUT
from actors.dashboard.auth import LockOut, make_hash, parse_hash
from actors.dashboard.chart_history import read_chart_history
from actors.dashboard.config import DashboardSection
from actors.dashboard.events import EventLog, apply, steady
from actors.dashboard.live import LiveStatus
from actors.dashboard.server import BYE_STOPPING, DashboardServer, Sources, claim_socket
from actors.runtime import system as system_module
from actors.runtime.controls import ControlRefused
from actors.runtime.ops.status import build_status
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.source import PostgresSource
from actors.runtime.persistence.store import Store
from actors.runtime.system import running
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.history import SeriesPoint
from protocols.model import RiskMode
from supervision import ChildSpec, ChildState, Incarnation, Intensity, Supervisor
from tests.integration.polling import wait_until
from tests.unit.analytics.builders import trade
from tests.unit.analytics.sample_store import build_sample_store

PASSWORD = "correct horse battery"
HASH = parse_hash(make_hash(PASSWORD, n=1024))
SLOW_HASH = parse_hash(make_hash(PASSWORD))
"""The real cost: a check takes tens of milliseconds, so logins sent together overlap."""
LOG_SIZE = 50
KEEP_ALIVE_S = 0.5
"""The module's server keeps quiet streams open this often (2 s in a real one)."""
STATIC_FILES = {
    "index.html": "<!doctype html><title>Basis</title><p>the page</p>",
    "login.html": "<!doctype html><form method=post><!--message--></form>",
    "login.css": "form { margin: 1em }",
    "app.js": "console.log('page')",
}


def write_static(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in STATIC_FILES.items():
        (folder / name).write_text(text)
    return folder


def task(task_id: str, **fields) -> dict:
    return {
        "task_id": task_id,
        "symbol": "BTC/USDT",
        "state": "monitoring",
        "cycles": 0,
        "spot_bid": None,
        "entry_cost_pct": None,
        "orders": [],
        **fields,
    }


TREE = {
    "name": "basis",
    "children": [{"name": f"child-{n}", "state": "running", "restarts": 0} for n in range(40)],
}
"""A supervision tree that does not change: as in a real status, a snapshot weighs
more than the events of a few samples."""


def status(*tasks: dict, **top) -> dict:
    return {
        "mode": "paper",
        "tree": TREE,
        "uptime_s": 1.0,
        "health": "ok",
        "tasks": list(tasks),
        "totals": {"realized_pnl_usdt": 0.0},
        "recent_fills": [],
        "alerts": {"open": 0, "recent": []},
        **top,
    }


class FakeControls:
    """Stands in for ``TradingSystem.controls`` (``actors.runtime.controls.Controls``):
    the signatures the dashboard calls, each call remembered; ``refuse`` makes the next
    one refused as the real one refuses."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.refuse: ControlRefused | None = None

    async def _act(self, *call) -> str:
        self.calls.append(call)
        if self.refuse is not None:
            raise self.refuse
        return f"done: {call[0]}"

    async def pause(self, symbol, *, who):
        return await self._act("pause", symbol, who)

    async def resume(self, symbol, *, who):
        return await self._act("resume", symbol, who)

    async def add(self, symbol, *, who):
        return await self._act("add", symbol, who)

    async def stop(self, flatten, *, who):
        return await self._act("stop", flatten, who)

    async def resolve(self, symbol, how, *, who):
        return await self._act("resolve", symbol, how, who)

    async def risk_mode(self, mode, reason, via, *, who):
        return await self._act("risk", mode, reason, via, who)


class Served:
    """A dashboard actor under a supervisor of its own, in a trio loop of its own thread:
    one server for the module's tests. ``status`` is what the next sample reads (replace
    it whole); ``offset_s`` moves the sessions' and lock-out's clock."""

    def __init__(self, folder: Path) -> None:
        self.status = status()
        self.failing: Exception | None = None
        """Raised by every sample while set."""
        self.offset_s = 0.0
        self.controls = FakeControls()
        self.store = build_sample_store(folder / "basis.db")
        self.server = DashboardServer(
            DashboardSection(enable=True, port=0, sample_s=0.05),
            claim_socket("127.0.0.1", 0),
            HASH,
            b"k" * 32,
            sources=Sources(self._sample, lambda: self.controls, self.store),
            static_dir=write_static(folder / "static"),
            clock=lambda: time.time() + self.offset_s,
            # Sampled all along, as while a page watches: the tests publish between streams.
            live=LiveStatus(
                EventLog(size=LOG_SIZE), keep_alive_s=KEEP_ALIVE_S, idle_after_s=math.inf
            ),
        )
        self.server.live.replayed_below_bytes = 0  # small replays weighed too
        self.base = f"http://127.0.0.1:{self.server.port}"
        self.tree = Supervisor("services", [self.server.child_spec()])
        self._ready = threading.Event()
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    def _sample(self, _: float) -> dict:
        if self.failing is not None:
            raise self.failing
        return self.status

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(self.tree.run)
            self._ready.set()

    def __enter__(self) -> Served:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_) -> None:
        trio.from_thread.run_sync(self.tree.request_stop, trio_token=self.token)
        self._thread.join(10)
        self.server.listener.close()

    def seq_after(self, change: dict) -> int:
        """Publish ``change`` as the status and wait until it was sampled; the log's
        newest number then."""
        self.status = change
        deadline = time.monotonic() + 5
        while self.server.live.status != steady(change):
            assert time.monotonic() < deadline, "the status was not sampled"
            time.sleep(0.01)
        return self.server.live.log.seq


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    with Served(tmp_path_factory.mktemp("dashboard")) as served:
        yield served


OPEN_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def client(served: Served, **kwargs) -> httpx.Client:
    """A browser of its own (closed after the test)."""
    web = httpx.Client(base_url=served.base, timeout=5.0, **kwargs)
    OPEN_CLIENTS.append(web)
    return web


def logged_in(served: Served, who: str = "ana") -> httpx.Client:
    web = client(served)
    reply = web.post(
        "/login", data={"who": who, "password": PASSWORD}, headers={"Origin": served.base}
    )
    assert reply.status_code == 303, reply.text
    return web


def sse(lines: Iterator[str]) -> Iterator[dict]:
    """The stream's events (``{"id", "event", "data"}``), its comments (``{"comment"}``)
    and its retry (``{"retry"}``), in the order they come."""
    event: dict = {}
    for line in lines:
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value


# ---------------------------------------------------------------- login and checks


def test_a_login_sets_a_strict_http_only_cookie_and_a_logout_revokes_it(served):
    web = client(served)
    reply = web.post(
        "/login", data={"who": "ana", "password": PASSWORD}, headers={"Origin": served.base}
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert cookie.startswith("basis_session=")
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # served over plain http on loopback
    assert web.get("/").text == STATIC_FILES["index.html"]
    kept = dict(web.cookies)
    out = web.post("/logout", headers={"Origin": served.base})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "max-age=0" in out.headers["set-cookie"].lower()
    # The old cookie, sent again, is a session no more.
    again = client(served, cookies=kept).get("/")
    assert again.status_code == 303 and again.headers["location"] == "/login"


def test_without_a_session_only_the_login_page_and_its_stylesheet_are_served(served):
    web = client(served)
    for path in ("/", "/static/app.js", "/static/index.html", "/anything"):
        reply = web.get(path)
        assert (reply.status_code, reply.headers.get("location")) == (303, "/login"), path
    for path in ("/events", "/api/history"):
        reply = web.get(path)
        assert reply.status_code == 401 and reply.json() == {"error": "log in first"}
    refused = web.post(
        "/api/control/pause", json={"confirmed": True}, headers={"Origin": served.base}
    )
    assert refused.status_code == 401 and served.controls.calls == []
    page = web.get("/login")
    assert page.status_code == 200 and "<form" in page.text and "<!--message-->" not in page.text
    assert web.get("/static/login.css").text == STATIC_FILES["login.css"]
    assert page.headers["content-security-policy"] == (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"


def test_a_wrong_password_says_so_and_a_long_name_is_refused(served):
    web = client(served)
    origin = {"Origin": served.base}
    wrong = web.post("/login", data={"password": "nope"}, headers=origin)
    assert wrong.status_code == 401 and "Wrong password." in wrong.text
    assert "set-cookie" not in wrong.headers
    long = web.post("/login", data={"who": "x" * 41, "password": PASSWORD}, headers=origin)
    assert long.status_code == 400 and "at most 40" in long.text
    served.server.security.lock_out.succeeded("127.0.0.1")  # the next test counts afresh


def test_a_host_other_than_this_machine_is_refused(served):
    port = served.server.port
    web = logged_in(served)
    for host in ("evil.example", f"rebound.example:{port}", ""):
        reply = web.get("/login", headers={"Host": host})
        assert reply.status_code == 403, host
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}", "127.0.0.1"):
        assert web.get("/", headers={"Host": host}).status_code == 200, host


def test_a_post_without_or_from_another_origin_is_refused(served):
    web = logged_in(served)
    body = {"confirmed": True, "symbol": None}
    for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"}):
        reply = web.post("/api/control/pause", json=body, headers=headers)
        assert reply.status_code == 403, headers
    assert served.controls.calls == []
    login = client(served).post(
        "/login", data={"password": PASSWORD}, headers={"Origin": "http://evil.example"}
    )
    assert login.status_code == 403 and "set-cookie" not in login.headers
    assert web.post("/api/control/pause", json=body, headers={"Origin": served.base}).json() == {
        "result": "done: pause"
    }
    served.controls.calls.clear()


def test_five_failures_lock_the_address_out_for_fifteen_minutes(served):
    web = client(served)
    origin = {"Origin": served.base}
    codes = [
        web.post("/login", data={"password": f"guess {n}"}, headers=origin).status_code
        for n in range(5)
    ]
    assert codes == [401, 401, 401, 401, 429]
    locked = web.post("/login", data={"password": PASSWORD}, headers=origin)
    assert locked.status_code == 429 and locked.headers["retry-after"] == "900"
    assert "locked out for 15 minutes" in locked.text and "set-cookie" not in locked.headers
    served.offset_s += 14 * 60
    assert web.post("/login", data={"password": PASSWORD}, headers=origin).status_code == 429
    served.offset_s += 61
    assert web.post("/login", data={"password": PASSWORD}, headers=origin).status_code == 303


def login_code(served: Served, password: str) -> int:
    reply = client(served).post(
        "/login", data={"password": password}, headers={"Origin": served.base}
    )
    return reply.status_code


def wait_for_waiting(limiter: trio.CapacityLimiter, count: int) -> None:
    deadline = time.monotonic() + 30
    while limiter.statistics().tasks_waiting < count:
        assert time.monotonic() < deadline, "the logins did not arrive"
        time.sleep(0.002)


def test_logins_at_once_are_checked_in_turn_and_the_lock_out_holds(served):
    security = served.server.security
    security.password = SLOW_HASH
    try:
        # The checking held while they arrive, so that all ten wrong ones wait before the
        # right one (turns are first come, first served), however loaded the machine.
        holder = object()
        checking = security.checking
        trio.from_thread.run(checking.acquire_on_behalf_of, holder, trio_token=served.token)
        with concurrent.futures.ThreadPoolExecutor(11) as pool:
            try:
                wrong = [pool.submit(login_code, served, f"guess {n}") for n in range(10)]
                wait_for_waiting(checking, 10)
                right = pool.submit(login_code, served, PASSWORD)
                wait_for_waiting(checking, 11)
            finally:
                trio.from_thread.run_sync(
                    checking.release_on_behalf_of, holder, trio_token=served.token
                )
            codes = sorted(future.result() for future in wrong)
            # Its turn came after five wrong ones: the address was locked out by then.
            assert right.result() == 429
        assert codes == [401] * 4 + [429] * 6
    finally:
        security.password = HASH
        security.lock_out = LockOut()


def test_logins_beyond_those_that_may_wait_are_turned_away_at_once(served):
    security = served.server.security
    security.password, security.max_waiting_logins = SLOW_HASH, 2
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: login_code(served, PASSWORD), range(8)))
    finally:
        security.password, security.max_waiting_logins = HASH, MAX_WAITING_LOGINS
    assert 503 in codes and 303 in codes and set(codes) == {303, 503}
    assert security.lock_out.failures == {}


def test_the_cookie_is_secure_where_a_tls_proxy_is_said_to_be_in_front(served):
    served.server.security.secure_cookie = True
    try:
        reply = client(served).post(
            "/login", data={"password": PASSWORD}, headers={"Origin": served.base}
        )
    finally:
        served.server.security.secure_cookie = False
    assert "secure" in {part.strip().lower() for part in reply.headers["set-cookie"].split(";")}


def test_a_websocket_is_refused_before_routing(served):
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=5) as raw:
        raw.sendall(
            b"GET /static/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403"), answer


# ------------------------------------------------------------------------ the stream


def test_events_arrive_in_order_with_their_ids(served):
    web = logged_in(served)
    with web.stream("GET", "/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse(stream.iter_lines())
        assert next(events) == {"retry": "1000"}
        snapshot = next(events)
        assert snapshot["event"] == "snapshot"
        run, seq = snapshot["id"].rsplit(".", 1)
        assert snapshot["data"]["run"] == run and int(seq) == served.server.live.log.seq
        model = copy.deepcopy(snapshot["data"]["status"])
        first = served.seq_after(status(task("t1")))
        served.seq_after(status(task("t1", spot_bid=100.0, entry_cost_pct=0.2)))
        last = served.seq_after(
            status(task("t1", spot_bid=100.0, entry_cost_pct=0.2, state="entering"))
        )
        got = []
        for event in events:
            if "comment" in event:
                continue
            got.append(event)
            apply(model, event["event"], event["data"])
            if event["id"] == f"{run}.{last}":
                break
    assert [e["event"] for e in got] == ["task", "quote", "task", "transition"]
    assert [int(e["id"].rsplit(".", 1)[1]) for e in got] == list(range(int(seq) + 1, last + 1))
    assert first == int(seq) + 1
    assert model["tasks"] == served.status["tasks"]


def test_the_stream_is_gzipped_for_who_takes_it_and_each_event_decodes_as_sent(served):
    web = logged_in(served)
    with web.stream("GET", "/events", headers={"Accept-Encoding": "gzip"}) as stream:
        assert stream.headers["content-encoding"] == "gzip"
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text = b""
        # The stream stays open: what arrived so far decodes whole, to the event's end.
        for chunk in stream.iter_raw():
            text += inflate.decompress(chunk)
            if b"event: snapshot" in text:
                break
        assert text.startswith(b"retry: 1000\n\n")
        assert text.endswith(b"\n\n")
    with web.stream("GET", "/events", headers={"Accept-Encoding": "identity"}) as plain:
        assert "content-encoding" not in plain.headers
        assert next(plain.iter_raw()).startswith(b"retry: 1000")


def read_until(events: Iterator[dict], seq: int) -> list[dict]:
    got = []
    for event in events:
        if "id" in event:
            got.append(event)
            if int(event["id"].rsplit(".", 1)[1]) >= seq:
                return got
    raise AssertionError("the stream ended")


def test_a_reconnect_with_last_event_id_gets_exactly_what_it_missed(served):
    web = logged_in(served)
    with web.stream("GET", "/events") as stream:
        events = sse(stream.iter_lines())
        next(events)
        snapshot = next(events)
    model = copy.deepcopy(snapshot["data"]["status"])
    seen = int(snapshot["id"].rsplit(".", 1)[1])
    served.seq_after(status(task("t2")))
    served.seq_after(status(task("t2", cycles=1), task("t3")))
    newest = served.seq_after(status(task("t3", spot_bid=2.0)))
    with web.stream("GET", "/events", headers={"Last-Event-ID": snapshot["id"]}) as stream:
        events = sse(stream.iter_lines())
        assert next(events) == {"retry": "1000"}
        missed = read_until(events, newest)
    assert [int(e["id"].rsplit(".", 1)[1]) for e in missed] == list(range(seen + 1, newest + 1))
    assert "snapshot" not in [e["event"] for e in missed]
    for event in missed:
        apply(model, event["event"], event["data"])
    assert {k: v for k, v in model.items() if k != "uptime_s"} == {
        k: v for k, v in served.status.items() if k != "uptime_s"
    }


def test_an_id_of_another_run_or_older_than_the_log_gets_a_snapshot(served):
    web = logged_in(served)
    run = served.server.live.log.run
    # More events than the log keeps, in one sample: the oldest are gone.
    served.seq_after(status(*(task(f"many{n}") for n in range(LOG_SIZE + 5))))
    newest = served.seq_after(status())
    for last in (f"another.{newest}", f"{run}.1", f"{run}.{newest + 10}", "garbage"):
        with web.stream("GET", "/events", headers={"Last-Event-ID": last}) as stream:
            events = sse(stream.iter_lines())
            next(events)
            first = next(events)
        assert first["event"] == "snapshot", last
        assert first["data"]["status"] == steady(served.status)


def test_a_replay_larger_than_a_snapshot_comes_as_a_snapshot(served):
    web = logged_in(served)
    before = served.seq_after(status(task("r0")))
    run = served.server.live.log.run
    served.seq_after(status(*(task(f"r{n}", cycles=n) for n in range(LOG_SIZE // 3))))
    newest = served.seq_after(status(task("r0", cycles=1)))
    with web.stream("GET", "/events", headers={"Last-Event-ID": f"{run}.{before}"}) as stream:
        events = sse(stream.iter_lines())
        next(events)
        first = next(events)
    assert first["event"] == "snapshot" and first["id"] == f"{run}.{newest}"
    assert first["data"]["status"] == steady(served.status)


def rest_of(events: Iterator[dict], within_s: float) -> list[dict]:
    """The events (not comments) up to the stream's end, which must come within
    ``within_s`` (a stream that would go on is cut at its next keep-alive)."""
    deadline = time.monotonic() + within_s
    rest = []
    for event in events:
        assert time.monotonic() < deadline, f"the stream did not end; it sent {rest}"
        if "comment" not in event:
            rest.append(event)
    return rest


def test_a_stream_ends_when_its_session_is_logged_out_or_expires(served):
    web = logged_in(served)
    kept = dict(web.cookies)
    with web.stream("GET", "/events") as stream:
        events = sse(stream.iter_lines())
        next(events), next(events)
        assert web.post("/logout", headers={"Origin": served.base}).status_code == 303
        # Told at once, not at its next keep-alive.
        rest = rest_of(events, KEEP_ALIVE_S)
    assert rest == [{"event": "bye", "data": {"reason": SIGNED_OUT}}]
    assert client(served, cookies=kept).get("/events").status_code == 401
    web = logged_in(served)
    with web.stream("GET", "/events") as stream:
        events = sse(stream.iter_lines())
        next(events), next(events)
        served.offset_s += served.server.section.session_hours * 3600.0
        rest = rest_of(events, 3 * KEEP_ALIVE_S)
    assert rest == [{"event": "bye", "data": {"reason": SIGNED_OUT}}]
    assert web.get("/events").status_code == 401


def test_a_sample_that_fails_is_skipped_and_the_dashboard_goes_on(served, caplog):
    restarts = served.tree.snapshot().children[0].restarts
    served.seq_after(status(task("f1")))
    server = served.server
    with caplog.at_level(logging.WARNING, logger="basis.dashboard"):
        served.failing = RuntimeError("no status today")
        try:
            deadline = time.monotonic() + 5
            while server.failed_samples < 5:
                assert time.monotonic() < deadline, "the sampler stopped"
                time.sleep(0.01)
            web = logged_in(served)
            with web.stream("GET", "/events") as stream:
                events = sse(stream.iter_lines())
                next(events)
                # The page starts from the last sample that worked.
                assert next(events)["data"]["status"] == steady(status(task("f1")))
        finally:
            served.failing = None
    served.seq_after(status(task("f1", cycles=1)))
    assert server.failed_samples == 0
    assert served.tree.snapshot().children[0].restarts == restarts
    warned = [r.getMessage() for r in caplog.records if "cannot be sampled" in r.getMessage()]
    assert warned == [
        "dashboard: the status cannot be sampled (1 in a row; the page shows "
        "the last sample that worked): RuntimeError: no status today"
    ]


def test_a_quiet_stream_gets_a_keep_alive_comment(served):
    web = logged_in(served)
    with web.stream("GET", "/events") as stream:
        events = sse(stream.iter_lines())
        next(events), next(events)
        started = time.monotonic()
        assert next(events) == {"comment": "keep-alive"}
        assert next(events) == {"comment": "keep-alive"}
        # Late by up to 3 s on a loaded machine; never early.
        assert 2 * KEEP_ALIVE_S * 0.8 < time.monotonic() - started < 2 * KEEP_ALIVE_S + 3.0


# ------------------------------------------------------------------- history, controls


def test_the_history_is_read_from_the_store_for_at_most_a_day(served):
    web = logged_in(served)
    for bad in ("0", "1441", "ten", "-5"):
        assert web.get(f"/api/history?minutes={bad}").status_code == 400
    # The sample store's history is of another year: nothing of it in the last hour.
    assert web.get("/api/history").json() == {"series": {}, "marks": []}


def test_controls_need_confirming_and_say_who_asked(served):
    web = logged_in(served, who="ana")
    post = lambda action, body: web.post(  # noqa: E731
        f"/api/control/{action}", json=body, headers={"Origin": served.base}
    )
    calls = served.controls.calls
    calls.clear()
    assert post("pause", {"symbol": "BTC/USDT"}).status_code == 400
    assert post("stop", {"flatten": True, "confirmed": False}).status_code == 400
    assert post("risk", {"mode": "sideways", "confirmed": True}).status_code == 400
    assert post("pause", {"symbol": 3, "confirmed": True}).status_code == 400
    assert post("explode", {"confirmed": True}).status_code == 404
    too_long = {"mode": "halted", "reason": "x" * 201, "confirmed": True}
    assert post("risk", too_long).status_code == 400
    assert post("risk", {"mode": "halted", "reason": "a\nb", "confirmed": True}).status_code == 400
    assert post("pause", {"symbol": "B" * 201, "confirmed": True}).status_code == 400
    assert post("resolve", {"symbol": "X", "how": "a\tb", "confirmed": True}).status_code == 400
    assert calls == []
    who = "ana via the dashboard from 127.0.0.1"
    answers = [
        post("pause", {"symbol": "BTC/USDT", "confirmed": True}),
        post("resume", {"symbol": None, "confirmed": True}),
        post("add", {"symbol": "ETH/USDT", "confirmed": True}),
        post("stop", {"flatten": True, "confirmed": True}),
        post("resolve", {"symbol": "BTC/USDT", "how": "adopt", "confirmed": True}),
        post("risk", {"mode": "halted", "reason": "news", "confirmed": True}),
    ]
    assert [a.json() for a in answers] == [
        {"result": f"done: {name}"}
        for name in ("pause", "resume", "add", "stop", "resolve", "risk")
    ]
    assert calls == [
        ("pause", "BTC/USDT", who),
        ("resume", None, who),
        ("add", "ETH/USDT", who),
        ("stop", True, who),
        ("resolve", "BTC/USDT", "adopt", who),
        ("risk", RiskMode.HALTED, "news", "the dashboard from 127.0.0.1", who),
    ]
    served.controls.refuse = ControlRefused("BTC/USDT is already traded by task t1", 409)
    try:
        refused = post("add", {"symbol": "BTC/USDT", "confirmed": True})
    finally:
        served.controls.refuse = None
    assert refused.status_code == 409
    assert refused.json() == {"error": "BTC/USDT is already traded by task t1"}
    anonymous = logged_in(served, who="")
    anonymous.post("/api/control/pause", json={"confirmed": True}, headers={"Origin": served.base})
    assert calls[-1] == ("pause", None, "someone via the dashboard from 127.0.0.1")


# ------------------------------------------------------------ restarts, stops, a system


async def sse_lines(response: httpx.Response):
    event: dict = {}
    async for line in response.aiter_lines():
        if line == "":
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value


async def test_the_chart_s_history_of_a_postgresql_store_is_what_sqlite_s_draws(
    tmp_path, nursery, postgres_dsn
):
    now = time.time()
    recent = [
        *(
            SeriesPoint("BTC/USDT", now - minutes * 60.0, 0.3 + minutes / 1000)
            for minutes in range(1, 50)
        ),
        trade("BTC/USDT", now - 40 * 60.0, now - 10 * 60.0, 1.0, task_id="btc1"),
    ]
    sqlite_path = tmp_path / "basis.db"
    with Store(sqlite_path) as sqlite, PostgresStore(postgres_dsn) as postgres:
        for store in (sqlite, postgres):
            store.write_batch((), (), (), recent)
    server = DashboardServer(
        DashboardSection(enable=True, port=0, sample_s=0.05),
        claim_socket("127.0.0.1", 0),
        HASH,
        b"k" * 32,
        sources=Sources(lambda _: status(), FakeControls, PostgresSource(postgres_dsn, "basis")),
        static_dir=write_static(tmp_path / "static"),
    )
    tree = Supervisor("services", [server.child_spec()])
    await nursery.start(tree.run)
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as web:
        await web.post("/login", data={"password": PASSWORD}, headers={"Origin": base})
        found = (await web.get("/api/history")).json()
    tree.request_stop()
    server.listener.close()
    # A point a minute, in slices of 3.6 s: every point and both marks, as SQLite's.
    drawn = read_chart_history(sqlite_path, time.time() - 3600.0, time.time())
    assert found == drawn
    assert (len(found["series"]["BTC/USDT"]), len(found["marks"])) == (49, 2)


async def test_a_restart_serves_on_the_same_port_and_a_stop_says_bye(tmp_path, nursery):
    now = {"status": status(task("t1"))}
    server = DashboardServer(
        DashboardSection(enable=True, port=0, sample_s=0.05),
        claim_socket("127.0.0.1", 0),
        HASH,
        b"k" * 32,
        sources=Sources(lambda _: now["status"], FakeControls, tmp_path / "basis.db"),
        static_dir=write_static(tmp_path / "static"),
    )
    tree = Supervisor("services", [server.child_spec()])
    await nursery.start(tree.run)
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as web:
        origin = {"Origin": base}
        await web.post("/login", data={"password": PASSWORD}, headers=origin)
        async with web.stream("GET", "/events") as stream, aclosing(sse_lines(stream)) as events:
            assert (await anext(events)) == {"retry": "1000"}
            snapshot = await anext(events)
            tree.crash_child("dashboard", RuntimeError("injected"))
            # The connection ends with the incarnation that served it.
            with pytest.raises(httpx.HTTPError):
                async for _ in events:
                    pass
        now["status"] = status(task("t1", cycles=1))
        with trio.fail_after(5):
            while not (tree.snapshot().children[0].restarts == 1 and server.live.log.seq):  # noqa: ASYNC110
                await trio.sleep(0.02)
        # The same port, the same session and the same log: only what was missed.
        async with (
            web.stream("GET", "/events", headers={"Last-Event-ID": snapshot["id"]}) as stream,
            aclosing(sse_lines(stream)) as events,
        ):
            await anext(events)
            missed = await anext(events)
            assert missed["event"] == "task" and missed["data"]["changes"] == {"cycles": 1}
            tree.request_stop()
            assert (await anext(events)) == {"event": "bye", "data": {"reason": BYE_STOPPING}}
            with pytest.raises(StopAsyncIteration):
                await anext(events)
    server.listener.close()


async def test_nothing_is_sampled_while_no_page_watches_and_a_page_starts_from_now(
    tmp_path, nursery
):
    now = {"status": status(task("t1")), "samples": 0}

    def sample(_: float) -> dict:
        now["samples"] += 1
        return now["status"]

    server = DashboardServer(
        DashboardSection(enable=True, port=0, sample_s=0.01),
        claim_socket("127.0.0.1", 0),
        HASH,
        b"k" * 32,
        sources=Sources(sample, FakeControls, tmp_path / "basis.db"),
        static_dir=write_static(tmp_path / "static"),
        live=LiveStatus(idle_after_s=0.05),
    )
    tree = Supervisor("services", [server.child_spec()])
    await nursery.start(tree.run)
    await trio.sleep(0.2)  # twenty samples' time, with nobody watching
    assert (now["samples"], server.live.sampler_waiting) == (1, True)
    now["status"] = status(task("t1", cycles=3))
    base = f"http://127.0.0.1:{server.port}"

    def watch_for_five_samples() -> dict:
        with httpx.Client(base_url=base, timeout=5.0) as web:
            web.post("/login", data={"password": PASSWORD}, headers={"Origin": base})
            with web.stream("GET", "/events") as stream:
                events = sse(stream.iter_lines())
                next(events)
                snapshot = next(events)
                deadline = time.monotonic() + 5
                while now["samples"] < 5:
                    assert time.monotonic() < deadline, "the sampler stopped sampling"
                    time.sleep(0.01)
                return snapshot

    snapshot = await trio.to_thread.run_sync(watch_for_five_samples)
    # Not the sample taken before the pause: one taken as the page came.
    assert snapshot["data"]["status"] == steady(now["status"])
    # Its stream closed: samples go on for idle_after_s, then stop.
    with trio.fail_after(5):
        while not server.live.sampler_waiting:  # noqa: ASYNC110 - nor has the pause
            await trio.sleep(0.01)
    taken = now["samples"]
    await trio.sleep(0.2)
    assert now["samples"] == taken
    tree.request_stop()
    server.listener.close()


def paper_config() -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            # No dislocation and a threshold no spread reaches: no entry, so what the
            # page is compared on stays put.
            "paper": {"dislocations_per_hour": 0.0},
            "strategy": {"max_entry_cost_pct": -5.0},
        },
        SystemConfig,
    )


async def test_a_paper_system_runs_the_dashboard_under_services_and_serves_its_status(
    tmp_path, nursery
):
    config = paper_config()
    sim = SimServers(config.simulated())
    urls = await nursery.start(sim.run)
    server = DashboardServer(
        DashboardSection(enable=True, port=0),
        claim_socket("127.0.0.1", 0),
        HASH,
        b"k" * 32,
        static_dir=write_static(tmp_path / "static"),
    )
    system = paper_system(config, tmp_path / "data", urls, services=[server.child_spec()])
    server.watch(system)
    async with running(system):
        services = {c.name: c for c in system.root.snapshot().children}["services"]
        assert [c.name for c in services.subtree.children] == ["dashboard"]
        # Nobody watched yet: the sampler waits, and samples as the stream opens.
        assert server.live.sampler_waiting
        # Settled first (monitoring, funding heard): what is compared below is then what
        # stays put between the sample and the status built after it.
        await wait_until(
            lambda: all(
                h.actor.ctx.state is ArbitrageState.MONITORING
                and h.actor.ctx.funding_rate is not None
                for h in system.strategies.values()
            ),
            30.0,
        )
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=5.0) as web:
            await web.post("/login", data={"password": PASSWORD}, headers={"Origin": base})
            async with (
                web.stream("GET", "/events") as stream,
                aclosing(sse_lines(stream)) as events,
            ):
                await anext(events)
                snapshot = (await anext(events))["data"]["status"]
                now = msgspec.to_builtins(build_status(system))
                # The services stop first: the page is told before anything else stops.
                system.request_stop()
                rest = [event async for event in events]
    assert rest[-1] == {"event": "bye", "data": {"reason": BYE_STOPPING}}
    quoted = {"spot_bid", "spot_ask", "futures_bid", "futures_ask", "entry_cost_pct"}
    quoted |= {"unrealized_pnl_usdt", "total_pnl_usdt", "pnl_pct", "net_delta_usdt"}
    quoted |= {"decisions", "resumed_at", "last_skip_reason"}
    # A feed late on a loaded machine (stale) pauses a strategy until it is fresh again.
    quoted |= {"state", "paused_reason"}

    def unquoted(tasks: list[dict]) -> list[dict]:
        """What does not move with every quote within a sample's time."""
        return [{k: v for k, v in t.items() if k not in quoted} for t in tasks]

    assert [t["task_id"] for t in snapshot["tasks"]] == list(system.strategies)
    assert unquoted(snapshot["tasks"]) == unquoted(now["tasks"])
    assert snapshot.keys() == steady(now).keys()


async def test_services_that_keep_failing_are_turned_off_and_trading_goes_on(
    tmp_path, nursery, monkeypatch, caplog
):
    # Given up on at the second failure (five in a minute in a real run): the policy,
    # not the number, is what is tested.
    monkeypatch.setattr(system_module, "SERVICES_INTENSITY", Intensity(1, 60))

    async def breaks(_: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(0.01)
        raise RuntimeError("the service broke")

    config = paper_config()
    sim = SimServers(config.simulated())
    urls = await nursery.start(sim.run)
    system = paper_system(config, tmp_path / "data", urls, services=[ChildSpec("breaks", breaks)])
    with caplog.at_level(logging.ERROR, logger="basis.manager"):
        async with running(system):
            with trio.fail_after(10):
                while system.root.snapshot().children[-1].state is not ChildState.FAILED:  # noqa: ASYNC110
                    await trio.sleep(0.02)
            tree = system.root.snapshot()
            assert tree.state == "running" and tree.restarts_in_window == 0
            assert [c.name for c in tree.children if c.state is not ChildState.RUNNING] == [
                "services"
            ]
            strategies = {c.name: c for c in tree.children}["strategies"].subtree
            assert [c.state for c in strategies.children] == [ChildState.RUNNING] * 2
    assert any("the services (the dashboard) are off" in r.getMessage() for r in caplog.records)
