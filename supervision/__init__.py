"""A generic actor runtime on trio with Erlang/OTP-style supervision.

Children are async functions started by a :class:`Supervisor` in order, each signalling
readiness through trio's ``task_status``; the supervisor restarts them by its
:class:`RestartStrategy` and each child's :class:`Restart` type, with :class:`Backoff` between
restarts and an :class:`Intensity` limit beyond which it gives up and fails to its
parent. Mailboxes belong to the supervisor, so senders keep one :class:`Address` across
restarts. This package knows nothing about trading.
"""

from supervision.backoff import Backoff
from supervision.errors import (
    ChildFailure,
    ChildNotRunning,
    ChildStartFailed,
    DuplicateChild,
    StartTimeout,
    SupervisorGaveUp,
    UnknownChild,
    describe,
    leaves,
)
from supervision.incarnation import Incarnation
from supervision.mailbox import Address, Mailbox, MailboxClosed, MailboxStats, Stopping
from supervision.restarts import Intensity, Restart, RestartStrategy
from supervision.snapshot import ChildSnapshot, ChildState, SupervisorSnapshot
from supervision.supervisor import ChildSpec, Supervisor, SupervisorNotRunning

__all__ = [
    "Address",
    "Backoff",
    "ChildFailure",
    "ChildNotRunning",
    "ChildSnapshot",
    "ChildSpec",
    "ChildStartFailed",
    "ChildState",
    "DuplicateChild",
    "Incarnation",
    "Intensity",
    "Mailbox",
    "MailboxClosed",
    "MailboxStats",
    "Restart",
    "RestartStrategy",
    "StartTimeout",
    "Stopping",
    "Supervisor",
    "SupervisorGaveUp",
    "SupervisorNotRunning",
    "SupervisorSnapshot",
    "UnknownChild",
    "describe",
    "leaves",
]
