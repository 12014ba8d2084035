"""The dashboard's web app (Starlette): the page and its login, the event stream, the
chart's history and the operator's controls, behind the checks every request passes.

Checks, before routing (:class:`Guard`): the ``Host`` header names this machine or an
allowed name (a page elsewhere cannot reach the dashboard through a DNS name it rebinds
to 127.0.0.1); every POST carries an ``Origin`` of this very host (no other site can
post to it through the browser); without a valid session only the login page and its
stylesheet are served. Every answer carries a content security policy that allows only
this origin's own files, and is not cached (the static files are revalidated).

The app is built from what it needs, not from a running system: the live status (the
sampler publishes into it), the controls, where the store is and the static folder, so
that tests serve it without one.
"""

from __future__ import annotations

import html
import logging
import math
import time
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import msgspec
import trio
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.dashboard.auth import LockOut, ScryptHash, Session, Sessions, verify_password
from actors.dashboard.chart_history import read_chart_history
from actors.dashboard.events import parse_event_id
from actors.dashboard.live import LiveStatus
from actors.runtime.controls import ControlRefused
from actors.runtime.persistence.source import StoreSource
from protocols.model import RiskMode

log = logging.getLogger("basis.dashboard")

STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "basis_session"
RETRY_MS = 1000
MAX_FORM_BYTES = 4096
MAX_JSON_BYTES = 16384
WHO_MAX_CHARS = 40
FIELD_MAX_CHARS = 200
"""The longest symbol or reason a control takes (they go to the log and the store)."""
MAX_WAITING_LOGINS = 16
"""Logins waiting for their password to be checked, from every address together; more
are answered 503 at once (each check holds 16 MiB and a tenth of a second)."""
REFUSAL_LOG_EVERY_S = 60.0
"""A refused Host or Origin is logged at most this often (each kind): a page that
keeps knocking, or a scan, cannot fill the log."""
SIGNED_OUT = "signed out"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PUBLIC = frozenset(
    {
        ("GET", "/login"),
        ("HEAD", "/login"),
        ("POST", "/login"),
        ("GET", "/static/login.css"),
        ("HEAD", "/static/login.css"),
    }
)
"""What is served without a session."""
SECURITY_HEADERS = (
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ("x-content-type-options", "nosniff"),
    # Same-origin, not no-referrer: under no-referrer a browser sends ``Origin: null``
    # with the page's own POSTs, which the Origin check must refuse.
    ("referrer-policy", "same-origin"),
)


@attrs.define(eq=False)
class Security:
    """Who may use the dashboard: the password's hash, the sessions, the lock-out."""

    password: ScryptHash
    sessions: Sessions
    session_hours: float
    hosts: frozenset[str]
    """The ``Host`` names served (lower case, without port)."""
    lock_out: LockOut = attrs.field(factory=LockOut)
    clock: Callable[[], float] = time.time
    """Wall-clock time; a test's own clock stands in for it."""
    secure_cookie: bool = False
    """The session cookie is ``Secure`` (``[dashboard] secure_cookie``: a TLS proxy in
    front; hypercorn itself serves plain http)."""
    max_waiting_logins: int = MAX_WAITING_LOGINS
    # trio's own limiters, not anyio's: the app's worker threads are all started with
    # trio.to_thread (the event loop is trio's), and these two only need to be apart from
    # the default limiter that the store's reads share.
    checking: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(1))
    """Held while a login is checked, one at a time: the lock-out is looked at and the
    attempt counted in one step, so no number of logins at once gets past it."""
    checker: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(1))
    """The one worker thread a password check runs in (never one of the default
    limiter's, which the store's readers wait for)."""

    def session_of(self, scope: Scope) -> Session | None:
        cookie = _cookies(Headers(scope=scope)).get(COOKIE)
        return None if cookie is None else self.sessions.verify(cookie, self.clock())

    def still_valid(self, session: Session) -> bool:
        """``session`` has not expired nor been logged out since it was checked."""
        return self.clock() < session.exp and session.sid not in self.sessions.revoked


def allowed_hosts(host: str, extra: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset({*LOCAL_HOSTS, host.lower(), *(name.lower() for name in extra)})


def _cookies(headers: Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, eq, value = part.strip().partition("=")
        if eq:
            found.setdefault(name, value)
    return found


def _host_name(host: str) -> str:
    """``Host``'s name without its port: ``[::1]:8788`` is ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RareLog:
    """A warning logged at most once every ``every_s`` (by ``clock``), saying how many
    like it were left out since the last."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.last: float | None = None
        self.left_out = 0

    def warning(self, message: str, *args: Any) -> None:
        now = self.clock()
        if self.last is not None and now - self.last < self.every_s:
            self.left_out += 1
            return
        if self.left_out:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, self.left_out, now - self.last)
        log.warning(message, *args)
        self.last, self.left_out = now, 0


async def _drain(receive: Receive) -> None:
    """Read the refused request's body (up to a bound) before answering: answered while
    its body is still coming, the connection could not serve the browser's next request
    and would be closed under it."""
    size = 0
    while size <= MAX_JSON_BYTES:
        message = await receive()
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class Guard:
    """The checks every request passes before it is routed, and the headers every
    answer carries (see the module's docstring)."""

    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.security = security
        self.refused_hosts = RareLog(REFUSAL_LOG_EVERY_S)
        self.refused_origins = RareLog(REFUSAL_LOG_EVERY_S)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            # Nothing here speaks websocket (nor anything else): refused before routing,
            # which would hand it to routes that check no session for it.
            await send({"type": "websocket.close", "code": 1008})
            return
        path, method = scope["path"], scope["method"]
        cache = "no-cache" if path.startswith("/static/") else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                headers["cache-control"] = cache
            await send(message)

        refused = self._refusal(scope, path, method)
        if refused is not None:
            await _drain(receive)
            await refused(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, path: str, method: str) -> Response | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if _host_name(host) not in self.security.hosts:
            self.refused_hosts.warning(
                "dashboard: refused a request for Host %r (not this machine's)", host
            )
            return JSONResponse({"error": "this Host is not served here"}, 403)
        if method == "POST":
            origin = headers.get("origin")
            if origin not in (f"http://{host}", f"https://{host}"):
                self.refused_origins.warning(
                    "dashboard: refused a POST %s from Origin %r", path, origin
                )
                return JSONResponse({"error": "a POST must come from this page's origin"}, 403)
        session = self.security.session_of(scope)
        scope.setdefault("state", {})["session"] = session
        if session is None and (method, path) not in PUBLIC:
            if path.startswith("/api/") or path == "/events":
                return JSONResponse({"error": "log in first"}, 401)
            return RedirectResponse("/login", 303)
        return None


# ------------------------------------------------------------------------------ the app


@attrs.define(eq=False)
class Dashboard:
    """What the routes serve from."""

    live: LiveStatus
    security: Security
    controls: Callable[[], Any]
    """The system's controls (``actors.runtime.controls.Controls``), when asked."""
    store: Path | StoreSource
    """Where the chart's history is read: the system's store (a path: the SQLite file
    there)."""
    static_dir: Path = STATIC_DIR


def dashboard_app(dashboard: Dashboard) -> ASGIApp:
    d = dashboard
    routes = [
        Route("/", page_route(d)),
        Route("/login", login_route(d), methods=["GET", "POST"]),
        Route("/logout", logout_route(d), methods=["POST"]),
        Route("/events", events_route(d)),
        Route("/api/history", history_route(d)),
        Route("/api/control/{action}", control_route(d), methods=["POST"]),
        Mount("/static", StaticFiles(directory=d.static_dir), name="static"),
    ]
    # The page's files and answers compressed (its script and chart library are most of a
    # first load); the event stream compresses itself (it is left out of this one).
    app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=1024)])
    return Guard(app, d.security)


def page_route(d: Dashboard) -> Callable[[Request], Any]:
    async def page(request: Request) -> Response:
        return FileResponse(d.static_dir / "index.html")

    return page


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ----------------------------------------------------------------- logging in and out


def _login_page(d: Dashboard, message: str, status: int, **headers: str) -> HTMLResponse:
    text = (d.static_dir / "login.html").read_text(encoding="utf-8")
    body = text.replace("<!--message-->", html.escape(message))
    return HTMLResponse(body, status, headers=headers or None)


def _locked_page(d: Dashboard, seconds: float) -> HTMLResponse:
    minutes = max(1, math.ceil(seconds / 60))
    return _login_page(
        d,
        f"Too many wrong passwords: locked out for {minutes} minutes.",
        429,
        **{"Retry-After": str(math.ceil(seconds))},
    )


def login_route(d: Dashboard) -> Callable[[Request], Any]:
    security = d.security

    async def login(request: Request) -> Response:
        if request.method != "POST":
            return _login_page(d, "", 200)
        address = _client(request)
        locked = security.lock_out.locked_for(address, security.clock())
        if locked > 0:
            return _locked_page(d, locked)
        body = await _body(request, MAX_FORM_BYTES)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace") if body else "")
        who = form.get("who", [""])[0].strip()
        password = form.get("password", [""])[0]
        if len(who) > WHO_MAX_CHARS or not who.isprintable():
            return _login_page(d, f"Your name: at most {WHO_MAX_CHARS} printable characters.", 400)
        if security.checking.statistics().tasks_waiting >= security.max_waiting_logins:
            return _login_page(
                d, "Too many logins at once: try again in a moment.", 503, **{"Retry-After": "1"}
            )
        async with security.checking:
            # Looked at again now that it is this login's turn: the ones before it may
            # have locked the address out.
            locked = security.lock_out.locked_for(address, security.clock())
            if locked > 0:
                return _locked_page(d, locked)
            ok = await trio.to_thread.run_sync(
                verify_password, password, security.password, limiter=security.checker
            )
            now = security.clock()
            if ok:
                security.lock_out.succeeded(address)
            else:
                security.lock_out.failed(address, now)
        if not ok:
            log.warning("dashboard: a wrong password from %s", address)
            locked = security.lock_out.locked_for(address, now)
            if locked > 0:
                log.warning("dashboard: %s locked out for %.0f s", address, locked)
                return _locked_page(d, locked)
            return _login_page(d, "Wrong password.", 401)
        lifetime = security.session_hours * 3600.0
        cookie, _ = security.sessions.issue(who, now, lifetime)
        log.info("dashboard: %s logged in from %s", who or "someone", address)
        response = RedirectResponse("/", 303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(lifetime),
            path="/",
            secure=security.secure_cookie,
            httponly=True,
            samesite="strict",
        )
        return response

    return login


def logout_route(d: Dashboard) -> Callable[[Request], Any]:
    async def logout(request: Request) -> Response:
        session: Session | None = request.state.session
        if session is not None:
            d.security.sessions.revoke(session, d.security.clock())
            log.info("dashboard: %s logged out", session.who or "someone")
            d.live.wake()  # its open streams end now, not at their next keep-alive
        response = RedirectResponse("/login", 303)
        response.delete_cookie(
            COOKIE,
            path="/",
            secure=d.security.secure_cookie,
            httponly=True,
            samesite="strict",
        )
        return response

    return logout


async def _body(request: Request, limit: int) -> bytes | None:
    """The request's body, or ``None`` when it is longer than ``limit``."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# ----------------------------------------------------------------------- the stream


def events_route(d: Dashboard) -> Callable[[Request], Any]:
    async def events(request: Request) -> Response:
        last = parse_event_id(request.headers.get("last-event-id"))
        session: Session = request.state.session  # the Guard let no request in without
        stream = _stream(d.live, last, lambda: d.security.still_valid(session))
        headers = {"X-Accel-Buffering": "no", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            stream = _gzipped(stream)
            headers["Content-Encoding"] = "gzip"
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    return events


async def _gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` as one gzip stream, each flushed whole as it comes (a sync flush), so
    that a page decodes every event as soon as it is sent. Samples repeat their field
    names and most of their values: the stream shrinks to a fraction."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    async for chunk in chunks:
        yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush(zlib.Z_FINISH)


async def _stream(
    live: LiveStatus, last: tuple[str, int] | None, signed_in: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """The event stream of one connection: what it missed since ``last`` (or a snapshot),
    then every event as it is published, a keep-alive comment every 2 s of silence, and
    ``bye`` when the dashboard stops or its session ends (``signed_in`` is looked at on
    every wake and keep-alive)."""
    with live.watched():
        async for chunk in _watched_stream(live, last, signed_in):
            yield chunk


async def _watched_stream(
    live: LiveStatus, last: tuple[str, int] | None, signed_in: Callable[[], bool]
) -> AsyncIterator[bytes]:
    yield b"retry: %d\n\n" % RETRY_MS
    # After a pause, the sample the stream starts from is the one its opening asked for.
    while (live.status is None or live.sampler_waiting) and live.closing is None:
        if not signed_in():
            break
        await live.changed(live.keep_alive_s)
    sent = last[1] if last is not None and live.log.after(*last) is not None else None
    quiet_since = trio.current_time()
    while live.closing is None and signed_in():
        slices, sent = live.catch_up(sent)
        for chunk in slices:
            yield chunk
            # Between the slices of a long replay, the trading gets the event loop.
            await trio.lowlevel.checkpoint()
        if slices:
            quiet_since = trio.current_time()
            continue
        await live.changed(quiet_since + live.keep_alive_s - trio.current_time())
        silent = trio.current_time() - quiet_since >= live.keep_alive_s
        if silent and live.log.seq == sent and live.closing is None:
            yield b": keep-alive\n\n"
            quiet_since = trio.current_time()
    reason = live.closing if live.closing is not None else SIGNED_OUT
    yield b"event: bye\ndata: %s\n\n" % msgspec.json.encode({"reason": reason})


# ----------------------------------------------------------------------- the history


def history_route(d: Dashboard) -> Callable[[Request], Any]:
    async def history(request: Request) -> Response:
        text = request.query_params.get("minutes", "60")
        if not text.isdigit() or not 1 <= int(text) <= 1440:
            return JSONResponse({"error": "minutes must be a whole number from 1 to 1440"}, 400)
        now = time.time()
        since = now - int(text) * 60.0
        try:
            found = await trio.to_thread.run_sync(read_chart_history, d.store, since, now)
        except Exception as error:  # the store missing or unreadable: the chart starts empty
            log.warning("dashboard: the chart's history cannot be read: %s", error)
            return JSONResponse({"error": f"the history cannot be read: {error}"}, 503)
        return Response(msgspec.json.encode(found), media_type="application/json")

    return history


# ----------------------------------------------------------------------- the controls


def _printable(name: str, value: str | None) -> None:
    """A field the log and the store keep: one line of at most ``FIELD_MAX_CHARS``."""
    if value is not None and (len(value) > FIELD_MAX_CHARS or not value.isprintable()):
        raise ValueError(f"{name} must be at most {FIELD_MAX_CHARS} printable characters")


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    confirmed: bool = False


class SymbolBody(_Body, forbid_unknown_fields=True):
    symbol: str | None = None

    def __post_init__(self) -> None:
        _printable("symbol", self.symbol)


class AddBody(_Body, forbid_unknown_fields=True):
    symbol: str = ""

    def __post_init__(self) -> None:
        _printable("symbol", self.symbol)


class StopBody(_Body, forbid_unknown_fields=True):
    flatten: bool = False


class ResolveBody(_Body, forbid_unknown_fields=True):
    symbol: str = ""
    how: str = ""

    def __post_init__(self) -> None:
        _printable("symbol", self.symbol)
        _printable("how", self.how)


class RiskBody(_Body, forbid_unknown_fields=True):
    mode: Literal["active", "reducing", "halted"] = "active"
    reason: str | None = None

    def __post_init__(self) -> None:
        _printable("reason", self.reason)


BODIES: dict[str, type[_Body]] = {
    "pause": SymbolBody,
    "resume": SymbolBody,
    "add": AddBody,
    "stop": StopBody,
    "resolve": ResolveBody,
    "risk": RiskBody,
}


def control_route(d: Dashboard) -> Callable[[Request], Any]:
    async def control(request: Request) -> Response:
        action = request.path_params["action"]
        raw = await _body(request, MAX_JSON_BYTES)  # read first: see _drain
        kind = BODIES.get(action)
        if kind is None:
            return JSONResponse(
                {"error": f"no control {action!r}; one of {', '.join(BODIES)}"}, 404
            )
        try:
            body = msgspec.json.decode(raw or b"", type=kind)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            return JSONResponse({"error": f"not what /api/control/{action} takes: {error}"}, 400)
        if not body.confirmed:
            return JSONResponse(
                {"error": f'{action} needs confirming: send "confirmed": true'}, 400
            )
        session: Session | None = request.state.session
        name = session.who if session is not None and session.who else "someone"
        client = _client(request)
        who = f"{name} via the dashboard from {client}"
        try:
            result = await _act(d.controls(), action, body, who, client)
        except ControlRefused as error:
            return JSONResponse({"error": str(error)}, error.status)
        return JSONResponse({"result": result})

    return control


async def _act(controls: Any, action: str, body: Any, who: str, client: str) -> str:
    if action == "pause":
        return await controls.pause(body.symbol, who=who)
    if action == "resume":
        return await controls.resume(body.symbol, who=who)
    if action == "add":
        return await controls.add(body.symbol, who=who)
    if action == "stop":
        return await controls.stop(body.flatten, who=who)
    if action == "resolve":
        return await controls.resolve(body.symbol, body.how, who=who)
    via = f"the dashboard from {client}"
    return await controls.risk_mode(RiskMode(body.mode), body.reason, via, who=who)
