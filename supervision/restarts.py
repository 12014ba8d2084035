"""How a supervisor reacts when a child exits: restart types, restart strategies, and
the restart intensity beyond which it gives up."""

from __future__ import annotations

import enum

import attrs


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


class RestartStrategy(enum.Enum):
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
