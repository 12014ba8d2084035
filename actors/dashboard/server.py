"""The dashboard actor: samples the system's status into events and serves the app on
hypercorn's trio worker, in the trading process's own event loop.

It runs as the child ``dashboard`` of the ``services`` supervisor. Its listening socket
is claimed before the system starts (``basis run`` does it, so that a port taken ends the
run before anything is written) and each incarnation serves a duplicate of it, so that
a restart serves again on the same port. The live status and its event log outlive the
incarnations: a page reconnecting across a restart gets what it missed, not a gap.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import msgspec
import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from actors.dashboard.app import STATIC_DIR, Dashboard, Security, allowed_hosts, dashboard_app
from actors.dashboard.auth import ScryptHash, Sessions, signing_key
from actors.dashboard.config import DashboardSection
from actors.dashboard.live import LiveStatus
from actors.runtime.ops.status import status_of
from actors.runtime.persistence.source import StoreSource
from supervision import ChildSpec, Incarnation

log = logging.getLogger("basis.dashboard")

HTTP_LOG = logging.getLogger("basis.dashboard.http")
"""Hypercorn's own log: its warnings and errors only (``basis run`` says where it serves)."""
HTTP_LOG.setLevel(logging.WARNING)
GRACEFUL_S = 1.0
"""How long open connections are given to end once the streams said ``bye``."""
BACKLOG = 128
BYE_STOPPING = "the instance is stopping"
IDLE_CONNECTION_S = 5.0
"""A connection with no request under way (nor a whole one received) is closed after
this long: clients that open connections and say nothing keep no descriptors."""
FAILURES_LOGGED_AGAIN = 100
"""While samples keep failing, the failure is logged again after this many."""


class DashboardPortTaken(Exception):
    """The dashboard's port cannot be had; ``str()`` says which and how to choose."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(
            f"the dashboard's address {host}:{port} cannot be used "
            f"({error.strerror or error}); set [dashboard] port to a free port (0: any), "
            "or enable = false"
        )


def claim_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host``:``port`` now, before anything else starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise DashboardPortTaken(host, port, error) from None
    sock.setblocking(False)
    return sock


@attrs.define(eq=False)
class Sources:
    """What the dashboard serves from."""

    sample: Callable[[float], dict[str, Any]]
    """The ``/status`` object at wall-clock time ``now``, as plain data."""
    controls: Callable[[], Any]
    store: Path | StoreSource
    """The system's store, which the chart's history is read from (a path: the SQLite
    file there)."""


def system_sources(system: Any) -> Sources:
    """The sources of a :class:`~actors.runtime.system.TradingSystem`."""

    def sample(now: float) -> dict[str, Any]:
        return msgspec.to_builtins(status_of(system.statistics(), now))

    return Sources(sample, lambda: system.controls, system.store)


class DashboardServer:
    """The dashboard of ``section`` on the claimed ``listener``, its password ``password``
    and its sessions signed with ``secret``. ``sources``: set before the tree starts
    (:meth:`watch` for a trading system). ``clock``: wall-clock time for the sessions
    and the lock-out. ``live``: where the samples go (a new one by default)."""

    def __init__(
        self,
        section: DashboardSection,
        listener: socket.socket,
        password: ScryptHash,
        secret: bytes,
        *,
        sources: Sources | None = None,
        static_dir: Path = STATIC_DIR,
        clock: Callable[[], float] = time.time,
        live: LiveStatus | None = None,
    ) -> None:
        self.section = section
        self.listener = listener
        self.sources = sources
        self.static_dir = static_dir
        self.live = live or LiveStatus()
        self.security = Security(
            password,
            # Signed with a key of this password's: a new password signs everyone out.
            Sessions(signing_key(secret, password)),
            section.session_hours,
            allowed_hosts(section.host, section.allowed_hosts),
            clock=clock,
            secure_cookie=section.secure_cookie,
        )
        self.failed_samples = 0
        """Samples that failed in a row (none since the last that worked)."""

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def watch(self, system: Any) -> None:
        self.sources = system_sources(system)

    def child_spec(self) -> ChildSpec:
        return ChildSpec("dashboard", self.run, shutdown_timeout_s=GRACEFUL_S + 2.0)

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        sources = self.sources
        if sources is None:
            raise RuntimeError("the dashboard was started before it was given what to serve")
        self.live.reopen()
        self._sample(sources)
        app = dashboard_app(
            Dashboard(self.live, self.security, sources.controls, sources.store, self.static_dir)
        )
        config = Config()
        # Our log, quiet: no line per request (a request's headers carry the cookie).
        config.errorlog = HTTP_LOG
        config.accesslog = None
        config.graceful_timeout = GRACEFUL_S
        config.include_server_header = False
        config.keep_alive_timeout = IDLE_CONNECTION_S
        # No read_timeout: an event stream's client sends nothing once it asked, and a
        # read timeout would cut every stream that long after it opened.
        shutdown = trio.Event()
        served = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._sample_every, sources)

            async def serve(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                # A duplicate each incarnation: hypercorn closes what it served on.
                sockets = Sockets([], [self.listener.dup()], [])
                try:
                    await worker_serve(
                        wrap_app(app, config.wsgi_max_body_size, "asgi"),
                        config,
                        sockets=sockets,
                        shutdown_trigger=shutdown.wait,
                        task_status=task_status,
                    )
                finally:
                    for sock in sockets.insecure_sockets:
                        sock.close()
                    served.set()

            await nursery.start(serve)
            task_status.started()
            await inc.stopping.wait()
            self.live.say_bye(BYE_STOPPING)
            shutdown.set()
            await served.wait()
            nursery.cancel_scope.cancel()

    async def _sample_every(self, sources: Sources) -> None:
        """A sample every ``sample_s`` while a page watches (and for a minute after);
        with none, nothing (a sample of 50 strategies takes milliseconds of the event
        loop that trades), and one at once when a page comes."""
        while True:
            if self.live.idle:
                await self.live.wait_for_watchers()
            else:
                await trio.sleep(self.section.sample_s)
            self._sample(sources)

    def _sample(self, sources: Sources) -> None:
        """One sample published; one that fails is skipped (the next may work): the
        dashboard never fails for what it shows, which would restart it in a loop."""
        now = time.time()
        try:
            status = sources.sample(now)
        except Exception as error:
            if self.failed_samples % FAILURES_LOGGED_AGAIN == 0:
                log.warning(
                    "dashboard: the status cannot be sampled (%d in a row; the page shows "
                    "the last sample that worked): %s: %s",
                    self.failed_samples + 1,
                    type(error).__name__,
                    error,
                )
            self.failed_samples += 1
            self.live.sample_failed()
            return
        if self.failed_samples:
            log.info("dashboard: sampled again after %d failures", self.failed_samples)
            self.failed_samples = 0
        self.live.publish(status, now)
