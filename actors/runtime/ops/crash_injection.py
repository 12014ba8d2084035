"""Crashing the trading system's own actors on request, for chaos runs.

``basis run --allow-crash-injection`` makes the status endpoint accept
``POST /faults/crash`` with ``{"actor": NAME}``: the named actor (``writer``,
``router-mexc``, ``feed-gateio_futures``, ``strategy-<task id>``, ...) fails with
:class:`InjectedCrash` wherever it is at that moment, as under a real bug, and its
supervisor restarts it as it would after any failure. Without the flag the route does not
exist, so nothing reaching a production status port can crash anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from supervision import ChildNotRunning, UnknownChild

if TYPE_CHECKING:
    from actors.runtime.system import TradingSystem


class InjectedCrash(Exception):
    """The failure a chaos run injects into an actor."""


class CrashRequest(msgspec.Struct, forbid_unknown_fields=True):
    actor: str


class CrashRefused(Exception):
    """The crash cannot be injected; the message says why."""


def crash_actor(system: TradingSystem, body: bytes) -> str:
    """Crash the actor a ``POST /faults/crash`` body names; returns its name."""
    try:
        request = msgspec.json.decode(body or b"{}", type=CrashRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise CrashRefused(f'the body must be {{"actor": NAME}}: {error}') from None
    try:
        system.root.crash_child(request.actor, InjectedCrash(f"injected crash of {request.actor}"))
    except UnknownChild:
        raise CrashRefused(f"no actor {request.actor!r}; /status lists the tree") from None
    except ChildNotRunning as error:
        raise CrashRefused(str(error)) from None
    return request.actor
