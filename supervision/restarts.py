"""How a supervisor reacts when a child exits: restart types, restart strategies, and
the restart intensity beyond which it gives up."""

from __future__ import annotations

import enum

import attrs

from supervision.backoff import Backoff


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

    One more, and the supervisor stops its children and fails to its parent. The limit
    must be within reach of the supervisor's :class:`Backoff` (:meth:`check_reachable`):
    a child that fails as soon as it starts must make its supervisor give up, not be
    restarted for ever at the backoff's longest delay.
    """

    max_restarts: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    period_s: float = attrs.field(default=60.0, validator=attrs.validators.gt(0.0))

    def escalation_bound_s(self, backoff: Backoff) -> float:
        """The longest a child that fails as soon as it starts keeps a supervisor with
        this limit and ``backoff`` restarting it: ``max_restarts`` waits of at most
        ``backoff.max_s`` each; its next failure is one too many (given the limit is
        reachable)."""
        return self.max_restarts * backoff.max_s

    def check_reachable(self, backoff: Backoff, supervisor: str) -> None:
        """Raise ``ValueError`` unless ``max_restarts + 1`` failures, each at once after
        a restart that waited the backoff's longest delay, fall within ``period_s``.

        Whatever the backoff has grown to, the failures of a child that fails as it
        starts are then at most ``backoff.max_s`` apart, so ``max_restarts + 1`` of them
        fit in the window and the supervisor gives up within
        :meth:`escalation_bound_s` of the first. (A child that runs ``r`` seconds
        before each failure escalates while ``max_restarts x (backoff.max_s + r)`` is
        under ``period_s``: the margin left is what such children may take.)"""
        bound = self.escalation_bound_s(backoff)
        if bound >= self.period_s:
            raise ValueError(
                f"supervisor {supervisor!r}: its restart limit ({self.max_restarts} in "
                f"{self.period_s:g} s) is out of reach of its backoff (up to "
                f"{backoff.max_s:g} s between restarts), so a child failing on every start "
                f"would be restarted for ever; make max_restarts x backoff max_s "
                f"({bound:g} s) less than period_s"
            )
