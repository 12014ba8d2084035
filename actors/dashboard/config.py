"""The ``[dashboard]`` table: whether ``basis run`` serves the live dashboard, where, and
who may open it."""

from __future__ import annotations

from typing import Annotated

import msgspec

from actors.dashboard.auth import SCRYPT_N, BadHash, parse_hash

PASSWORD_HASH_ENV = "BASIS_DASHBOARD_PASSWORD_HASH"
"""The password's scrypt hash from the environment; it wins over ``password_hash``."""


class DashboardSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enable: bool = False
    host: str = "127.0.0.1"
    """The address it listens on. Anything but loopback exposes the login page to the
    network: reach it from elsewhere through an SSH tunnel instead."""
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8788
    """0 picks any free port."""
    password_hash: str | None = None
    """``scrypt$16384$8$1$<salt>$<hash>`` as ``basis dashboard hash`` prints it; the
    environment's ``BASIS_DASHBOARD_PASSWORD_HASH`` wins. Paper mode without one makes a
    password once and keeps it in the data directory."""
    allowed_hosts: tuple[str, ...] = ()
    """More names the browser may reach it by (a reverse proxy's), besides 127.0.0.1,
    localhost, ::1 and ``host``: any other ``Host`` is refused (DNS rebinding)."""
    sample_s: Annotated[float, msgspec.Meta(ge=0.05, le=10.0)] = 0.2
    """How often the status is sampled into events: quotes reach the page at most this
    often per symbol."""
    session_hours: Annotated[float, msgspec.Meta(gt=0.0, le=24.0 * 30)] = 12.0
    """How long a login lasts."""
    secure_cookie: bool = False
    """Mark the session cookie ``Secure`` (sent over https only). The dashboard itself
    serves plain http; set it where a TLS proxy in front serves the page over https."""

    def __post_init__(self) -> None:
        if not self.host or any(c in self.host for c in " /[]@"):
            raise ValueError(
                f"dashboard.host {self.host!r} is not an address to listen on; "
                'use "127.0.0.1" (the default) or another of this machine\'s addresses'
            )
        for name in self.allowed_hosts:
            if not name or any(c in name for c in " /:@"):
                raise ValueError(
                    f"dashboard.allowed_hosts: {name!r} is not a host name; list names as a "
                    'browser sends them in Host, without scheme or port, like "basis.example.org"'
                )
        if self.password_hash is not None:
            try:
                parse_hash(self.password_hash, min_n=SCRYPT_N)
            except BadHash as error:
                raise ValueError(
                    f"dashboard.password_hash: {error}; make one with basis dashboard hash"
                ) from None
