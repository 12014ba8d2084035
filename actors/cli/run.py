"""``basis run``: the trading system until stopped; ``basis status``: ask a running one.

On a terminal ``run`` shows a live view refreshed about once a second (logs then go to the
view's tail and to the JSON log file) that ends in a summary of what the run left; without
one it logs a status line every ``status_every_s`` (``actors.cli.live_view``). The first
SIGINT or SIGTERM stops it gracefully — no new entries, orders in flight followed to their
end, state written — and a second one stops it at once. ``--json`` prints the final
``/status`` object as the last line of stdout, a tree's giving up included.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

import httpx
import msgspec
import trio
from rich.console import Console

from actors.cli.args import port_number, positive_seconds
from actors.cli.dashboard import configured_hash, dashboard_server
from actors.cli.live_view import live_view, status_lines
from actors.cli.paper import SimulatedVenues, paper_system
from actors.cli.status_tables import status_view
from actors.cli.user_error import UserError
from actors.config_files import ConfigError, load_config
from actors.dashboard.server import DashboardPortTaken
from actors.runtime.alerts.alert import Sink
from actors.runtime.alerts.chat import MissingSecret
from actors.runtime.alerts.sinks import sinks_from_config
from actors.runtime.ops.control_endpoints import CONTROL_TOKEN_ENV
from actors.runtime.ops.logs import configure_file
from actors.runtime.ops.status import SystemStatus, build_status
from actors.runtime.ops.status_server import StatusPortTaken, claim_status_port, serve_status
from actors.runtime.persistence.data_dir_lock import DataDirLock, DataDirUnavailable
from actors.runtime.persistence.source import store_source
from actors.runtime.persistence.store import StoreError, check_store
from actors.runtime.system import STORE_FILE, AccountRefused, TradingSystem
from actors.system_config import SystemConfig
from supervision import SupervisorGaveUp, leaves

log = logging.getLogger("basis")

DEFAULT_CONFIG = Path("configs/paper.toml")
DEFAULT_DATA_DIR = "basis-data"
EXIT_BAD_INPUT = 2
EXIT_GAVE_UP = 1

CLOSE_S = 10.0
"""How long the venues' clients and the store's connections get to close at the end."""


def add_run_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run the trading system until stopped (Ctrl-C stops gracefully, twice forces)",
        description="Run the trading system. Without CONFIG, configs/paper.toml: simulated "
        "MEXC and Gate.io in-process, BTC/USDT, ETH/USDT and SOL/USDT. The first Ctrl-C or "
        "SIGTERM stops it gracefully; a second one stops it at once.",
        epilog="Example: basis run configs/paper.toml --duration 300 --json",
    )
    run.add_argument("config", nargs="?", metavar="CONFIG", help="system config (TOML)")
    run.add_argument(
        "--duration", type=positive_seconds, metavar="S", help="stop gracefully after S seconds"
    )
    run.add_argument("--json", action="store_true", help="print the final status as JSON")
    run.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"store and logs (default ${{BASIS_DATA_DIR}} or ./{DEFAULT_DATA_DIR})",
    )
    run.add_argument("--seed", type=int, help="seed of the simulated market (paper mode)")
    run.add_argument("--no-view", action="store_true", help="status lines even on a terminal")
    run.add_argument(
        "--no-recover",
        action="store_true",
        help="start every strategy afresh instead of resuming the stored ones",
    )
    run.add_argument(
        "--allow-crash-injection",
        action="store_true",
        help="accept POST /faults/crash on the status port (for basis chaos; never live)",
    )
    run.set_defaults(handler=command_run)

    status = commands.add_parser(
        "status",
        help="show the status of a running instance",
        description="Ask the instance running with CONFIG (its [http] port) for its status.",
        epilog="Example: basis status --json",
    )
    status.add_argument("config", nargs="?", metavar="CONFIG", help="its config (for the port)")
    status.add_argument("--port", type=port_number, help="the status port, instead of the config's")
    status.add_argument("--json", action="store_true", help="the raw /status object")
    status.set_defaults(handler=command_status)


def load_system_config(path: str | None, command: str) -> SystemConfig | None:
    """The config at ``path``, or the default paper config; ``None`` after printing why
    it cannot be used."""
    try:
        if path is not None:
            return load_config(path, SystemConfig)
        if DEFAULT_CONFIG.exists():
            return load_config(DEFAULT_CONFIG, SystemConfig)
        return SystemConfig()
    except ConfigError as error:
        print(f"basis {command}: {error}", file=sys.stderr)
        return None


def command_run(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "run")
    if config is None:
        return EXIT_BAD_INPUT
    if args.seed is not None:
        config = msgspec.structs.replace(
            config, sim=msgspec.structs.replace(config.sim, seed=args.seed)
        )
    missing = config.missing_credentials()
    if missing:
        print(
            "basis run: live mode needs API keys in the environment; set " + ", ".join(missing),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        # Built once, here, so that a sink without its secret (or with a bad one) is
        # refused before the data directory is touched.
        sinks = sinks_from_config(config.alerts, os.environ)
    except MissingSecret as error:
        raise UserError(str(error)) from None
    if config.dashboard.enable:
        configured_hash(config, os.environ)  # a live dashboard without a password is refused
    data_dir = Path(args.data_dir or os.environ.get("BASIS_DATA_DIR") or DEFAULT_DATA_DIR)
    if config.cluster is not None and config.mode == "paper":
        raise UserError(
            '[cluster]: instances share venues as well as their store, and mode = "paper" '
            "gives each its own simulated venues; run them apart (basis sim) and the "
            'instances in mode = "live" against them'
        )
    try:
        store_source(config, data_dir / STORE_FILE)  # a connection string not set: said now
    except StoreError as error:
        raise UserError(str(error)) from None
    # Before anything in the data directory is written, the logs included.
    lock = claim_data_dir(data_dir, sqlite=config.persistence.backend == "sqlite")
    view = sys.stdout.isatty() and not args.no_view and not args.json
    final: list[SystemStatus] = []
    recover = not args.no_recover
    crashes = args.allow_crash_injection
    with lock:
        log_file = data_dir / "logs" / "basis.jsonl"
        code = run_tree(
            lambda: run_system(
                config, data_dir, args.duration, view, final, recover, crashes, log_file, sinks
            )
        )
    if args.json and final:
        sys.stdout.write(msgspec.json.encode(final[0]).decode() + "\n")
    return code


def claim_data_dir(data_dir: Path, *, sqlite: bool = True) -> DataDirLock:
    """``data_dir``'s lock, held for the run. A directory that cannot be had (another
    instance holds it, a file is in its way, this user cannot write it) or a store there
    this Basis cannot trade on (looked at on a copy; a backtest's among them) is a
    :class:`UserError`, and the store is left as it was. ``sqlite``: the store is the file
    there (a PostgreSQL store is checked as it is opened)."""
    try:
        lock = DataDirLock(data_dir)
    except DataDirUnavailable as error:
        raise UserError(str(error)) from None
    try:
        if sqlite:
            check_store(data_dir / STORE_FILE, to_trade=True)
    except StoreError as error:
        lock.close()
        raise UserError(str(error)) from None
    return lock


def run_tree(main: Callable[[], Awaitable[None]]) -> int:
    """Run ``main`` under trio; a tree that gave up is reported as a readable chain of
    failures (every one, if several gave up), and a status port that cannot be had, a
    venue account Basis cannot trade on or an alert sink without its secret is a
    :class:`UserError`, not a traceback (so is a dashboard port that cannot be had). Each
    may arrive wrapped in the nurseries it crossed."""
    gave_up: list[BaseException] = []
    refused: list[BaseException] = []
    try:
        trio.run(main)
    except* (
        StatusPortTaken,
        DashboardPortTaken,
        AccountRefused,
        MissingSecret,
        UserError,
        StoreError,
    ) as group:
        refused.extend(leaves(group))
    except* SupervisorGaveUp as group:
        gave_up.extend(leaves(group))
    for error in gave_up:
        print(f"basis: stopped because {error}", file=sys.stderr)
    if gave_up:
        # A tree that gave up is the run's outcome; the refusals are said alongside.
        for error in refused:
            print(f"basis: {error}", file=sys.stderr)
        return EXIT_GAVE_UP
    if refused:
        raise UserError("; ".join(str(error) for error in refused))
    return 0


async def run_system(
    config: SystemConfig,
    data_dir: Path,
    duration_s: float | None,
    view: bool,
    final: list[SystemStatus],
    recover: bool = True,
    crash_injection: bool = False,
    log_file: Path | None = None,
    sinks: Sequence[Sink] | None = None,
) -> None:
    """``sinks``: the alert sinks (built from ``config`` if not given).
    ``log_file``: where the JSON log goes too (after the status port is had, so that a
    run refused for it leaves the data directory as it was)."""
    # Claimed first: a port that cannot be had ends the run before the store is touched.
    listeners = await claim_status_port(config.http.port)
    dashboard = dashboard_server(config, data_dir, os.environ)
    services = [] if dashboard is None else [dashboard[0].child_spec()]
    if dashboard is not None:
        print(dashboard[1], file=sys.stderr)
    if log_file is not None:
        try:
            configure_file(log_file)
        except OSError as error:
            raise UserError(
                f"cannot write the log {log_file} ({error.strerror}): give --data-dir (or "
                "BASIS_DATA_DIR) a directory this user can write"
            ) from None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            venues = SimulatedVenues(config) if config.mode == "paper" else None
            if venues is not None:
                urls = await nursery.start(venues.run)
                system = paper_system(
                    config, data_dir, urls, recover=recover, sinks=sinks, services=services
                )
            else:
                system = TradingSystem(
                    config, data_dir, recover=recover, sinks=sinks, services=services
                )
            if dashboard is not None:
                dashboard[0].watch(system)

            async def watch_signals() -> None:
                graceful = True
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if graceful:
                        log.warning("%s received: stopping gracefully (again to force)", name)
                        system.request_stop()
                        graceful = False
                    else:
                        log.warning("%s received again: stopping now", name)
                        nursery.cancel_scope.cancel()

            nursery.start_soon(watch_signals)
            try:
                await nursery.start(system.run)
                helpers = trio.CancelScope()
                nursery.start_soon(
                    _helpers, system, config, listeners, duration_s, view, crash_injection, helpers
                )
                await system.stopped.wait()
                helpers.cancel()
                final.append(build_status(system))
                if venues is not None:
                    # Stopped after the system, which may still have asked them things.
                    venues.request_stop()
                    await venues.stopped.wait()
            finally:
                nursery.cancel_scope.cancel()
                if not final:
                    # A tree that gave up: its status names what did, for whoever reads --json.
                    status = build_status(system)
                    if status.tree.gave_up_anywhere():
                        final.append(status)
                # Shielded from that cancellation, which would raise at its first
                # checkpoint, replace whatever error ends the run (a run that failed would
                # exit 0, saying nothing) and leave the store's connections open.
                with trio.CancelScope(shield=True, deadline=trio.current_time() + CLOSE_S):
                    await system.aclose()
                if dashboard is not None:
                    dashboard[0].listener.close()


async def _helpers(
    system: TradingSystem,
    config: SystemConfig,
    listeners: list[trio.SocketListener],
    duration_s: float | None,
    view: bool,
    crash_injection: bool,
    scope: trio.CancelScope,
) -> None:
    with scope:
        async with trio.open_nursery() as nursery:
            token = os.environ.get(CONTROL_TOKEN_ENV) or None
            port = await nursery.start(
                partial(serve_status, control_token=token, crash_injection=crash_injection),
                system,
                listeners,
            )
            log.info("status on http://127.0.0.1:%d/status", port)
            if duration_s is not None:

                async def stop_after() -> None:
                    await trio.sleep(duration_s)
                    log.info("run time of %g s reached: stopping", duration_s)
                    system.request_stop()

                nursery.start_soon(stop_after)
            if view:
                nursery.start_soon(live_view, system)
            else:
                nursery.start_soon(status_lines, system, config.status_every_s)


def command_status(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "status")
    if config is None:
        return EXIT_BAD_INPUT
    port = args.port or config.http.port
    status, text = read_status(port)
    if args.json:
        print(text)
        return 0
    _Stdout().print(status_view(status))
    return 0


def read_status(port: int) -> tuple[SystemStatus, str]:
    """A running instance's ``/status`` on 127.0.0.1:``port``, read and as sent; a
    :class:`UserError` naming the fix when nothing or something else answers there."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5.0)
    except httpx.HTTPError as error:
        raise UserError(
            f"no instance answers on 127.0.0.1:{port} ({error}); is basis run running with "
            "this config? (else give its port with --port)"
        ) from None
    problem = None if reply.status_code == 200 else f"HTTP {reply.status_code}"
    if problem is None:
        try:
            return msgspec.json.decode(reply.content, type=SystemStatus), reply.text
        except msgspec.DecodeError as error:
            problem = str(error)
    raise UserError(
        f"127.0.0.1:{port} answers, but not as a Basis instance ({problem}); give the "
        "port of basis run's [http] section with --port"
    )


class _Stdout(Console):
    """Rich's console, except that a reader that stops early is left to ``basis`` to end
    quietly (Rich would exit 1, which means a tree that gave up)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError
