"""A picture of a supervision tree at one instant, cheap enough to take every second."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from supervision.mailbox import MailboxStats


class ChildState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    BACKING_OFF = "backing_off"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class ChildSnapshot(msgspec.Struct, frozen=True):
    name: str
    state: ChildState
    restart: str
    restarts: int
    last_error: str | None
    uptime_s: float
    mailbox: MailboxStats | None
    labels: dict[str, Any]
    subtree: SupervisorSnapshot | None = None


class SupervisorSnapshot(msgspec.Struct, frozen=True):
    name: str
    strategy: str
    state: str
    restarts_in_window: int
    give_ups: int
    last_give_up: str | None
    children: list[ChildSnapshot]

    def walk(self) -> list[tuple[str, ChildSnapshot]]:
        """Every child in the tree with its path (``root/feeds/feed-mexc``), depth first."""
        found: list[tuple[str, ChildSnapshot]] = []
        for child in self.children:
            path = f"{self.name}/{child.name}"
            found.append((path, child))
            if child.subtree is not None:
                found.extend((f"{self.name}/{sub}", snap) for sub, snap in child.subtree.walk())
        return found

    def gave_up_anywhere(self) -> list[str]:
        """Names of supervisors in this tree that have given up at least once."""
        return [supervisor.name for supervisor in self.given_up()]

    def given_up(self) -> list[SupervisorSnapshot]:
        """The supervisors in this tree that have given up at least once (each with the
        last time's reason and failures), depth first."""
        found = [self] if self.give_ups else []
        for child in self.children:
            if child.subtree is not None:
                found.extend(child.subtree.given_up())
        return found
