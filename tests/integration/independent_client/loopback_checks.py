"""What the independent clients' check scripts share: checks that fail with a reason,
values one check hands to the next, and a process that reaches nothing but 127.0.0.1.
Imported by the scripts beside it, which run as programs of their own."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


class CheckFailed(Exception):
    """A call answered, but not with what a client relies on."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@dataclass
class Needed:
    """A value an earlier check produced, or the name of the check that failed to."""

    check: str
    value: Any = None
    ok: bool = False

    def get(self) -> Any:
        if not self.ok:
            raise CheckFailed(f"needs '{self.check}', which failed")
        return self.value


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise PermissionError(f"refused to reach {url}: these checks talk to {LOOPBACK} only")


def resolve_nothing_but_loopback() -> None:
    """Name resolution in this process answers only for 127.0.0.1, so nothing a client
    does behind the URL checks (a default URL, a redirect) reaches another host."""
    resolve = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (LOOPBACK, LOOPBACK.encode()):
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: only {LOOPBACK} resolves here")
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = loopback_only
