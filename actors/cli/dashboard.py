"""``basis dashboard hash``: the scrypt hash of a password for ``[dashboard]
password_hash`` or ``$BASIS_DASHBOARD_PASSWORD_HASH``; and how ``basis run`` sets the
dashboard up: its password, its session key and its port, each checked before anything
is written.

The password: the environment's hash, else the config's; paper mode without either makes
a random password once and keeps it in ``<data dir>/dashboard-password`` (readable by
this user only), reused by later runs; live mode without one is refused.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from actors.cli.user_error import UserError
from actors.dashboard.auth import (
    SCRYPT_N,
    BadHash,
    ScryptHash,
    make_hash,
    parse_hash,
    session_key,
)
from actors.dashboard.config import PASSWORD_HASH_ENV
from actors.dashboard.server import DashboardServer, claim_socket
from actors.system_config import SystemConfig

PASSWORD_FILE = "dashboard-password"
SECRET_ENV = "BASIS_DASHBOARD_SECRET"


def add_dashboard_commands(commands: argparse._SubParsersAction) -> None:
    dashboard = commands.add_parser(
        "dashboard",
        help="the live web dashboard's password hash",
        description="basis run serves a live dashboard where [dashboard] enable = true. "
        "hash prints the scrypt hash of a password for [dashboard] password_hash or "
        f"${PASSWORD_HASH_ENV}.",
        epilog=f"Example: export {PASSWORD_HASH_ENV}=$(basis dashboard hash)",
    )
    actions = dashboard.add_subparsers(dest="action", required=True, metavar="ACTION")
    hashing = actions.add_parser(
        "hash",
        help="print the scrypt hash of a password",
        description="Reads the password (asked for twice on a terminal, else one line of "
        "standard input) and prints its hash: scrypt$16384$8$1$<salt>$<hash>.",
        epilog="Example: basis dashboard hash",
    )
    hashing.set_defaults(handler=command_hash)


def command_hash(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("dashboard password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ; run basis dashboard hash again")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise UserError("the password is empty; give one (a line of standard input)")
    if "\x00" in password:
        raise UserError(
            "the password holds a NUL character, which scrypt cannot tell from none; choose another"
        )
    print(make_hash(password))
    return 0


def configured_hash(config: SystemConfig, env: Mapping[str, str]) -> tuple[ScryptHash, str] | None:
    """The password's hash the environment or the config gives, with where it came from;
    ``None`` for neither. A :class:`UserError` for a live instance without one, a bad
    hash in the environment or a session key too short."""
    try:
        session_key(env.get(SECRET_ENV))
    except ValueError as error:
        raise UserError(str(error)) from None
    text = env.get(PASSWORD_HASH_ENV)
    if text:
        try:
            return parse_hash(text, min_n=SCRYPT_N), f"the hash in ${PASSWORD_HASH_ENV}"
        except BadHash as error:
            raise UserError(
                f"{PASSWORD_HASH_ENV}: {error}; make one with basis dashboard hash"
            ) from None
    configured = config.dashboard.password_hash
    if configured is not None:
        return parse_hash(configured), "the hash in [dashboard] password_hash"
    if config.mode == "live":
        raise UserError(
            f"the dashboard of a live instance needs a password: set {PASSWORD_HASH_ENV} "
            "(or [dashboard] password_hash) to the line basis dashboard hash prints, or set "
            "[dashboard] enable = false"
        )
    return None


def paper_password(data_dir: Path) -> tuple[ScryptHash, str]:
    """The paper password kept in ``data_dir`` (made now if there is none), hashed."""
    path = data_dir / PASSWORD_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(12) + "\n")
    password = path.read_text(encoding="utf-8").strip()
    return parse_hash(make_hash(password)), f"in {path}"


def dashboard_server(
    config: SystemConfig, data_dir: Path, env: Mapping[str, str]
) -> tuple[DashboardServer, str] | None:
    """The dashboard ``config`` enables, on its port claimed now, and the line that tells
    where it is (never the password, only where it is kept); ``None`` if not enabled."""
    section = config.dashboard
    if not section.enable:
        return None
    found = configured_hash(config, env)
    listener = claim_socket(section.host, section.port)
    hashed, source = found if found is not None else paper_password(data_dir)
    server = DashboardServer(section, listener, hashed, session_key(env.get(SECRET_ENV)))
    host = f"[{section.host}]" if ":" in section.host else section.host
    return server, f"dashboard on http://{host}:{server.port}/ (password: {source})"
