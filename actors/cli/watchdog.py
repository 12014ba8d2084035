"""``basis watchdog``: a small process of its own that watches a running instance's
``/health`` and alerts through CONFIG's ``[alerts]`` sinks when the instance cannot
(``actors.runtime.alerts.watchdog``).

Exit codes: 0 after SIGINT or SIGTERM; 2 for bad arguments, a config without a sink, a
sink whose secret is not in the environment, or no way to know the instance's port.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

import trio

from actors.cli.args import port_number
from actors.cli.run import load_system_config
from actors.runtime.alerts.chat import MissingSecret
from actors.runtime.alerts.sinks import sinks_from_config
from actors.runtime.alerts.watchdog import Watchdog
from actors.system_config import SystemConfig

log = logging.getLogger("basis.watchdog")

EXIT_BAD_INPUT = 2


def add_watchdog_commands(commands: argparse._SubParsersAction) -> None:
    watchdog = commands.add_parser(
        "watchdog",
        help="watch a running instance's /health; alert when it is unreachable or failing",
        description="Poll the /health of the instance running with CONFIG (its [http] port "
        "on 127.0.0.1) every [watchdog] poll_s, and alert through CONFIG's [alerts] sinks "
        "once it has been unreachable or failing for [watchdog] after_s, and again when it "
        "is back. Run it as a process of its own (configs/systemd/basis-watchdog.service).",
        epilog="Example: basis watchdog /etc/basis/live.toml",
    )
    watchdog.add_argument("config", nargs="?", metavar="CONFIG", help="system config (TOML)")
    watchdog.add_argument(
        "--port", type=port_number, metavar="P", help="the status port, instead of the config's"
    )
    watchdog.add_argument(
        "--url",
        metavar="URL",
        help="the /health URL to watch, instead of http://127.0.0.1:PORT/health",
    )
    watchdog.set_defaults(handler=command_watchdog)


def health_url(config: SystemConfig, args: argparse.Namespace) -> str | None:
    """The URL to watch; ``None`` after printing why there is none."""
    if args.url is not None:
        if not args.url.startswith(("http://", "https://")):
            print(
                f"basis watchdog: --url expects an http(s) URL like "
                f"http://127.0.0.1:8787/health, got {args.url!r}",
                file=sys.stderr,
            )
            return None
        return args.url
    port = args.port if args.port is not None else config.http.port
    if port == 0:
        print(
            "basis watchdog: the status port is 0 (any free port), so the watchdog cannot "
            "know it; set [http] port in the config, or give --port or --url",
            file=sys.stderr,
        )
        return None
    return f"http://127.0.0.1:{port}/health"


def command_watchdog(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "watchdog")
    if config is None:
        return EXIT_BAD_INPUT
    url = health_url(config, args)
    if url is None:
        return EXIT_BAD_INPUT
    try:
        sinks = sinks_from_config(config.alerts, os.environ)
    except MissingSecret as error:
        print(f"basis watchdog: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not sinks:
        print(
            "basis watchdog: the config has no alert sink to tell anyone through; add "
            "[alerts.webhook], [alerts.telegram] or [alerts.discord]",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    section = config.watchdog
    watchdog = Watchdog(url, sinks, section.poll_s, section.after_s, section.timeout_s)
    trio.run(_watch_until_signalled, watchdog)
    return 0


async def _watch_until_signalled(watchdog: Watchdog) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watchdog.run)
            async for signum in signals:
                log.info("%s received: the watchdog stops", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
        for sink in watchdog.sinks:
            aclose = getattr(sink, "aclose", None)
            if aclose is not None:
                await aclose()
