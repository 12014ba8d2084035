"""What a supervisor is told about each child, and how it reacts to failures."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from supervision.mailbox import Mailbox

if TYPE_CHECKING:
    from supervision.supervisor import Supervisor


class Restart(enum.Enum):
    """When a child is restarted (Erlang/OTP meanings)."""

    PERMANENT = "permanent"
    """Always restarted, whether it failed or returned."""
    TRANSIENT = "transient"
    """Restarted only after an abnormal exit (an exception); returning ends it for good."""
    TEMPORARY = "temporary"
    """Never restarted."""

    def wants_restart(self, failed: bool) -> bool:
        return self is Restart.PERMANENT or (self is Restart.TRANSIENT and failed)


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them has to be restarted."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that exited."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: the others are stopped (in reverse order) and all start again in order."""
    REST_FOR_ONE = "rest_for_one"
    """The child that exited and every child started after it."""


@attrs.frozen
class Intensity:
    """At most ``max_restarts`` restarts within ``period_s`` seconds.

    One more, and the supervisor stops its children and fails to its parent.
    """

    max_restarts: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    period_s: float = attrs.field(default=60.0, validator=attrs.validators.gt(0.0))


def _non_empty(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError(f"child spec: {attribute.name} must not be empty")


EntryPoint = Callable[..., Awaitable[None]]
"""``async def entry(incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None``.

The child calls ``task_status.started()`` once it is ready; the supervisor starts the next
child only then.
"""


@attrs.frozen
class ChildSpec:
    """A child as its supervisor sees it.

    ``shutdown_timeout_s`` is how long a stop request is given before the child is
    cancelled (``0`` cancels at once; ``math.inf`` waits for ever, the right choice for a
    supervisor child). ``start_timeout_s`` bounds the time to readiness; a child that
    takes longer counts as failed. ``mailbox`` is owned by the supervisor for the whole
    life of the child, across restarts.
    """

    name: str = attrs.field(validator=_non_empty)
    entry: EntryPoint
    restart: Restart = Restart.PERMANENT
    shutdown_timeout_s: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))
    start_timeout_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0.0))
    mailbox: Mailbox | None = None
    subtree: Supervisor | None = attrs.field(default=None, eq=False, repr=False)
    """Set when the child is itself a supervisor, so snapshots can descend into it."""
    labels: dict[str, Any] = attrs.field(factory=dict, eq=False)
    """Free-form facts shown in snapshots (a strategy's symbol, a feed's venue)."""
