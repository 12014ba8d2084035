"""``basis risk status|reduce|halt|resume``: the portfolio's risk mode on a running
instance, through its status port (as ``basis pause`` reaches it: ``actors.cli.control``).

``status`` reads ``/status`` (no token needed); the others post to the instance's
authenticated control endpoints with ``$BASIS_CONTROL_TOKEN``. Each mode is persisted by
the instance, so a restart comes back in it.
"""

from __future__ import annotations

import argparse
import time

from actors.cli.control import (
    ControlFailed,
    _run,
    add_instance_arguments,
    call,
    instance_port,
)
from actors.cli.run import read_status
from actors.runtime.ops.control_endpoints import CONTROL_TOKEN_ENV
from actors.runtime.ops.status import SystemStatus

MODES = {
    "reduce": "reducing: no new entries; exits, corrections and stops go on",
    "halt": "halted: nothing new is placed and every order in flight is cancelled",
    "resume": "active: entries allowed again; a tripped drawdown or daily stop is lifted and "
    "its high-water mark starts from the P&L now (the loss so far is accepted)",
}


def add_risk_commands(commands: argparse._SubParsersAction) -> None:
    risk = commands.add_parser(
        "risk",
        help="the portfolio's risk mode: status, reduce, halt, resume",
        description="Show or set the risk mode of the instance running with CONFIG. The "
        "mode applies to every strategy and is kept across restarts. Setting it needs "
        f"${CONTROL_TOKEN_ENV}, as the instance was started with.",
        epilog="Example: basis risk halt --reason 'venue maintenance'",
    )
    actions = risk.add_subparsers(dest="risk_action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="the mode, why and since when, the caps used, balances, liquidation distances",
    )
    add_instance_arguments(status)
    status.set_defaults(handler=command_risk_status)
    for action, meaning in MODES.items():
        parser = actions.add_parser(action, help=f"set {meaning}", description=f"Set {meaning}.")
        if action != "resume":
            parser.add_argument("--reason", help="why, as /status and the alerts show it")
        add_instance_arguments(parser)
        parser.set_defaults(handler=command_risk_set)


def command_risk_set(args: argparse.Namespace) -> int:
    action = args.risk_action
    body = {"reason": getattr(args, "reason", None), "via": f"basis risk {action}"}
    return _run(
        f"risk {action}",
        lambda: call(
            instance_port(args, f"risk {action}"), "POST", f"/control/risk/{action}", body
        )["result"],
    )


def command_risk_status(args: argparse.Namespace) -> int:
    return _run(
        "risk status", lambda: risk_report(read_status(instance_port(args, "risk status"))[0])
    )


def risk_report(status: SystemStatus) -> str:
    """The risk part of ``status`` as lines of text."""
    risk = status.risk
    if risk is None:
        raise ControlFailed("this instance reports no risk state; upgrade it")
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(risk.since))
    lines = [
        f"mode: {risk.mode} since {since}, set by {risk.set_by}: {risk.reason}",
        f"P&L: {risk.pnl_usdt:+.2f} USDT (high-water mark "
        + ("-" if risk.high_water_usdt is None else f"{risk.high_water_usdt:+.2f}")
        + f"); stop tripped: {risk.stop_tripped or 'none'}",
    ]
    lines += [
        f"cap {cap.cap}: {cap.used_usdt:.2f} of {cap.limit_usdt:g} USDT used" for cap in risk.caps
    ]
    read, left = risk.balances_read, risk.balances_left
    if read is None or left is None:
        lines.append(f"balances: not read yet{_why(risk.balances_error)}")
    else:
        for venue, free in {**read.spot_free_usdt, **read.futures_available_usdt}.items():
            after = {**left.spot_free_usdt, **left.futures_available_usdt}[venue]
            lines.append(f"balance {venue}: {free:.2f} USDT free, {after:.2f} after pending orders")
        if risk.balances_error:
            lines.append(f"balances: the last read failed ({risk.balances_error}); figures kept")
    for view in risk.liquidation:
        distance = "-" if view.distance_pct is None else f"{view.distance_pct:.1f}%"
        lines.append(
            f"liquidation {view.symbol}: {distance} away (mark {view.mark_price:g}, "
            f"liquidation {view.liq_price:g})"
        )
    for task in status.tasks:
        if task.last_skip_reason:
            lines.append(f"{task.symbol} last skipped: {task.last_skip_reason}")
    return "\n".join(lines)


def _why(error: str | None) -> str:
    return f" ({error})" if error else ""
