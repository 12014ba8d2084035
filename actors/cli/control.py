"""``basis pause [SYMBOL]``, ``basis resume [SYMBOL]``, ``basis add SYMBOL``, ``basis stop
[--flatten]``: the operator's controls, acting on a running instance through its status
port.

The instance is found at its config's ``[http] port`` (or ``--port``) on 127.0.0.1, and
the request carries ``$BASIS_CONTROL_TOKEN`` as ``Authorization: Bearer``: the token the
instance was started with, and who asks as ``X-Basis-Operator: user@host``, which the
instance logs and stores with the action. Anything that keeps the action from being carried out (no
token, no instance answering, a symbol it does not trade, a refusal) exits 2 with one
line saying what and how to fix it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
import time
from typing import Any

import httpx

from actors.cli.args import port_number
from actors.cli.run import load_system_config
from actors.runtime.ops.control_endpoints import (
    CONTROL_TOKEN_ENV,
    OPERATOR_HEADER,
    OPERATOR_MAX_CHARS,
)

EXIT_REFUSED = 2
STOP_POLL_S = 0.5


class ControlFailed(Exception):
    """The action was not carried out; ``str()`` is the one line to print."""


def add_control_commands(commands: argparse._SubParsersAction) -> None:
    for name, verb in (("pause", "stop new entries"), ("resume", "allow entries again")):
        parser = commands.add_parser(
            name,
            help=f"{verb} on a running instance (every symbol, or one)",
            description=f"{verb.capitalize()} of SYMBOL (every symbol without it) on the "
            "instance running with CONFIG; open positions still exit as usual. Needs "
            f"${CONTROL_TOKEN_ENV}, as the instance was started with.",
            epilog=f"Example: basis {name} BTC/USDT",
        )
        parser.add_argument("symbol", nargs="?", metavar="SYMBOL", help="e.g. BTC/USDT")
        add_instance_arguments(parser)
        parser.set_defaults(handler=command_pause if name == "pause" else command_resume)
    add = commands.add_parser(
        "add",
        help="start a strategy for a symbol no live one trades, on a running instance",
        description="Start a strategy for SYMBOL, one of the symbols of the instance running "
        "with CONFIG that no live strategy trades (its task stopped, say). Refused while a "
        "strategy trades it or a quarantine holds it; paused in this run, it starts paused. "
        f"Needs ${CONTROL_TOKEN_ENV}, as the instance was started with.",
        epilog="Example: basis add ETH/USDT",
    )
    add.add_argument("symbol", metavar="SYMBOL", help="e.g. ETH/USDT")
    add_instance_arguments(add)
    add.set_defaults(handler=command_add)
    stop = commands.add_parser(
        "stop",
        help="stop a running instance (--flatten: unwind every position first)",
        description="Stop the instance running with CONFIG. With --flatten every strategy "
        "closes its position first, and the instance stops once all are flat; without it, "
        f"positions are kept, as with Ctrl-C. Needs ${CONTROL_TOKEN_ENV}.",
        epilog="Example: basis stop --flatten",
    )
    stop.add_argument("--flatten", action="store_true", help="unwind every position, then stop")
    add_instance_arguments(stop)
    stop.set_defaults(handler=command_stop)


def add_instance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="CONFIG", help="the instance's config (its port)")
    parser.add_argument("--port", type=port_number, help="the status port, instead of the config's")


def instance_port(args: argparse.Namespace, command: str) -> int:
    """The running instance's status port, from ``--port`` or the config."""
    port = given_port(args)
    if port is not None:
        return port
    config = load_system_config(args.config, command)
    if config is None:
        raise ControlFailed("")  # load_system_config has said why
    if config.http.port == 0:
        raise ControlFailed(
            "the config's [http] port is 0 (any free port): pass the port the instance "
            "logged ('status on http://127.0.0.1:PORT') with --port"
        )
    return config.http.port


def given_port(args: argparse.Namespace) -> int | None:
    """``--port``, if given; 0 (any free port, to a server) names no running instance."""
    if args.port == 0:
        raise ControlFailed(
            "--port 0 names no instance: pass the port it logged ('status on "
            "http://127.0.0.1:PORT')"
        )
    return args.port


def call(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Ask the instance on ``port``; its answer's JSON, or :class:`ControlFailed`."""
    token = os.environ.get(CONTROL_TOKEN_ENV)
    if not token:
        raise ControlFailed(
            f"{CONTROL_TOKEN_ENV} is not set: set it to the token the instance was started with"
        )
    headers = {"Authorization": f"Bearer {token}", OPERATOR_HEADER: operator()}
    try:
        reply = httpx.request(
            method, f"http://127.0.0.1:{port}{path}", json=body, headers=headers, timeout=120.0
        )
    except httpx.HTTPError as error:
        raise ControlFailed(
            f"no instance answers on 127.0.0.1:{port} ({error}); start basis run first, or "
            "pass its --port"
        ) from None
    try:
        answer = reply.json()
    except ValueError:
        answer = {"error": reply.text.strip() or f"HTTP {reply.status_code}"}
    if reply.status_code != 200:
        raise ControlFailed(str(answer.get("error", answer)))
    return answer


def operator() -> str:
    """Who asks: ``user@host``, in printable ASCII (what a header carries)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the user database
        user = "?"
    who = f"{user}@{socket.gethostname()}"
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in who)[:OPERATOR_MAX_CHARS]


def _run(command: str, action: Any) -> int:
    try:
        print(action())
    except ControlFailed as error:
        if str(error):
            print(f"basis {command}: {error}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def command_pause(args: argparse.Namespace) -> int:
    return _run(
        "pause",
        lambda: call(
            instance_port(args, "pause"), "POST", "/control/pause", {"symbol": args.symbol}
        )["result"],
    )


def command_resume(args: argparse.Namespace) -> int:
    return _run(
        "resume",
        lambda: call(
            instance_port(args, "resume"), "POST", "/control/resume", {"symbol": args.symbol}
        )["result"],
    )


def command_add(args: argparse.Namespace) -> int:
    return _run(
        "add",
        lambda: call(instance_port(args, "add"), "POST", "/control/add", {"symbol": args.symbol})[
            "result"
        ],
    )


def command_stop(args: argparse.Namespace) -> int:
    def stop() -> str:
        port = instance_port(args, "stop")
        result = call(port, "POST", "/control/stop", {"flatten": args.flatten})["result"]
        print(result, flush=True)
        gone_after = _wait_until_gone(port)
        return f"the instance has stopped ({gone_after:.0f} s)"

    return _run("stop", stop)


def _wait_until_gone(port: int) -> float:
    """Seconds until the instance on ``port`` stops answering (Ctrl-C stops waiting, not
    the instance)."""
    began = time.monotonic()
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5.0)
        except httpx.HTTPError:
            return time.monotonic() - began
        time.sleep(STOP_POLL_S)
