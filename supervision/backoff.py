"""Delays between restarts: exponential from a minimum to a maximum, with jitter."""

from __future__ import annotations

import random

import attrs


@attrs.frozen
class Backoff:
    """How long a supervisor waits before restarting a child.

    The ``n``-th consecutive restart (``n`` from 0) waits ``min_s * factor**n``, capped at
    ``max_s``, then spread by up to ``±jitter`` of itself so that children that failed
    together do not all come back in the same instant; the result never exceeds
    ``max_s``. With ``first_at_once``, the first restart of a run of failures waits
    nothing and the ``n``-th waits what the ``n - 1``-th would without it: one failure is
    repaired at once, and only repeated ones are spaced out. A child that ran for
    ``reset_after_s`` or longer before failing starts again from ``n = 0``.
    ``Backoff.none()`` restarts at once.

    The defaults are a supervisor's (with ``first_at_once``, see
    :data:`~supervision.supervisor.RESTART_BACKOFF`): 0.1 s doubling to 2 s keeps a
    child that fails as it starts from spinning, and 2 s is short enough that the
    default :class:`~supervision.restarts.Intensity` (10 restarts in 60 s) is reached
    (10 x 2 s < 60 s); a child that ran 5 s between failures did work, and its next
    failure is treated as a first one.
    """

    min_s: float = attrs.field(default=0.1, validator=attrs.validators.ge(0.0))
    max_s: float = attrs.field(default=2.0, validator=attrs.validators.ge(0.0))
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1.0))
    jitter: float = attrs.field(
        default=0.2, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    reset_after_s: float = attrs.field(default=5.0, validator=attrs.validators.ge(0.0))
    first_at_once: bool = False

    def __attrs_post_init__(self) -> None:
        if self.max_s < self.min_s:
            raise ValueError(f"backoff max_s ({self.max_s}) is below min_s ({self.min_s})")

    @classmethod
    def none(cls) -> Backoff:
        return cls(min_s=0.0, max_s=0.0, jitter=0.0)

    def base(self, attempt: int) -> float:
        """The delay before jitter for the ``attempt``-th consecutive restart."""
        if self.first_at_once:
            if attempt == 0:
                return 0.0
            attempt -= 1
        if self.min_s == 0.0:
            return 0.0
        # Cap the exponent so that a child failing for weeks cannot overflow the float.
        exponent = min(attempt, 1024)
        try:
            grown = self.min_s * self.factor**exponent
        except OverflowError:
            return self.max_s
        return min(self.max_s, grown)

    def bounds(self, attempt: int) -> tuple[float, float]:
        """The smallest and largest delay :meth:`delay` may return for ``attempt``."""
        base = self.base(attempt)
        return base * (1.0 - self.jitter), min(self.max_s, base * (1.0 + self.jitter))

    def delay(self, attempt: int, rng: random.Random) -> float:
        # The same shape as ``bounds``': float rounding then keeps the delay within them
        # (``base + base * jitter * u`` could round a hair above ``base * (1 + jitter)``).
        return min(self.max_s, self.base(attempt) * (1.0 + self.jitter * rng.uniform(-1.0, 1.0)))
