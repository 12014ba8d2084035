"""Errors a supervisor raises, and the record of a child's failure they carry."""

from __future__ import annotations

import attrs

from supervision.snapshot import ChildState


def describe(error: BaseException) -> str:
    """One line naming an exception: ``ValueError: bad quote``.

    An exception group is described by its leaves, so a child whose own nursery failed
    reports the error that actually happened rather than "1 sub-exception".
    """
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(leaf) for leaf in leaves(error))
    text = error.headline if isinstance(error, SupervisorGaveUp) else str(error)
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def leaves(group: BaseExceptionGroup) -> list[BaseException]:
    """Every exception in ``group``, in order, found through the groups nested in it.

    An error that reached its handler through nurseries arrives wrapped once per nursery
    it crossed; ``except*`` picks the kind, this lists them all (never just the first).
    """
    found: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found.extend(leaves(error))
        else:
            found.append(error)
    return found


@attrs.frozen
class ChildFailure:
    """A child's abnormal exit: who, when (trio clock), and the exception itself."""

    child: str
    at: float
    error: BaseException = attrs.field(eq=False)

    def render(self, indent: str = "") -> list[str]:
        lines = [f"{indent}child {self.child!r} failed at t={self.at:.3f}s: {describe(self.error)}"]
        if isinstance(self.error, SupervisorGaveUp):
            lines.extend(self.error.render(indent)[1:])
        return lines


class SupervisorGaveUp(Exception):
    """A supervisor exceeded its restart intensity (or a child could not start).

    It stopped all its children before raising. ``failures`` are the child failures that
    led to it, oldest first; a failure whose error is itself a ``SupervisorGaveUp`` carries
    the next level of the chain. ``str()`` renders the whole chain, one line per failure.
    """

    def __init__(self, supervisor: str, reason: str, failures: tuple[ChildFailure, ...]):
        self.supervisor = supervisor
        self.reason = reason
        self.failures = failures
        super().__init__(supervisor, reason, failures)

    @property
    def headline(self) -> str:
        return f"supervisor {self.supervisor!r} gave up: {self.reason}"

    def render(self, indent: str = "") -> list[str]:
        lines = [indent + self.headline]
        for failure in self.failures:
            lines.extend(failure.render(indent + "  "))
        return lines

    def __str__(self) -> str:
        return "\n".join(self.render())


class ChildStartFailed(Exception):
    """A child added at run time failed before it signalled readiness; it was not added."""

    def __init__(self, child: str, error: BaseException):
        self.child = child
        self.error = error
        super().__init__(f"child {child!r} failed to start: {describe(error)}")


class StartTimeout(Exception):
    """A child did not signal readiness within its spec's ``start_timeout_s``."""


class UnknownChild(KeyError):
    """No child of that name is supervised here."""

    def __str__(self) -> str:
        return f"no child named {self.args[0]!r} under supervisor {self.args[1]!r}"


class ChildNotRunning(RuntimeError):
    """The child is not running (``state`` says what it is instead), so it cannot be crashed."""

    def __init__(self, child: str, supervisor: str, state: ChildState):
        self.child = child
        self.supervisor = supervisor
        self.state = state
        super().__init__(
            f"child {child!r} of supervisor {supervisor!r} is "
            f"{state.value.replace('_', ' ')}, not running"
        )


class DuplicateChild(ValueError):
    """A child of that name is already supervised here."""
