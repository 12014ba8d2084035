"""Calling a venue again after it failed: one helper with one set of rules.

Every retry loop of the trading runtime (a router looking an order up, polling it,
sending a placement that never left, cancelling, loading the rules; a restored strategy
checking its positions) is :func:`retry` with its own errors, backoff and bound. For
example, asking at most five times and giving up with ``None``::

    try:
        return await retry(check, retry_on=VENUE_FAILURES, backoff=backoff, rng=rng,
                           attempts=5, on_failure=lambda error: log.warning(...))
    except VENUE_FAILURES:
        return None
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from protocols.venue import VenueError
from supervision import Backoff

T = TypeVar("T")


async def retry(
    operation: Callable[[], Awaitable[T]],
    *,
    retry_on: type[Exception] | tuple[type[Exception], ...],
    backoff: Backoff,
    rng: random.Random,
    attempts: int | None = None,
    on_failure: Callable[[Exception], object] | None = None,
) -> T:
    """Await ``operation()`` until it returns, and return what it returned.

    Which errors are retried: those that are instances of ``retry_on``, which names
    :class:`Exception` subclasses only, so that a cancellation is never retried.
    Anything else ``operation`` raises propagates at once, and so does an exception
    group, even one made only of ``retry_on`` errors: a group means concurrent work
    failed, which one call again would not undo.

    How long it waits: after the ``n``-th consecutive failure (``n`` from 1),
    ``backoff.delay(n - 1, rng)``; if the error is a :class:`~protocols.venue.VenueError`
    whose venue said how long to wait (``retry_after_s``), at least that.

    The bound: with ``attempts``, ``operation`` is called at most that many times, and
    the error of the last call propagates unchanged, without a wait after it. With
    ``None`` (the default) it is called until it returns.

    ``on_failure(error)`` is called for each failure of a ``retry_on`` kind, the last
    one included, before the wait (to log it, count it).

    Cancellation: this is a checkpoint only through ``operation`` and the waits; when
    cancelled during either, :exc:`trio.Cancelled` propagates and nothing more is
    attempted.

    Raises:
        ValueError: if ``attempts`` is below 1, or ``retry_on`` names a class that is not
            an :class:`Exception`.
    """
    if attempts is not None and attempts < 1:
        raise ValueError(
            f"attempts must be at least 1, not {attempts}: it counts calls, the first "
            "included (None for no bound)"
        )
    kinds = retry_on if isinstance(retry_on, tuple) else (retry_on,)
    for kind in kinds:
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            raise ValueError(
                f"retry_on must name Exception subclasses, not {kind!r}: cancellations "
                "and other BaseExceptions are never retried"
            )
    failures = 0
    while True:
        try:
            return await operation()
        except kinds as error:
            if isinstance(error, BaseExceptionGroup):
                raise
            failures += 1
            if on_failure is not None:
                on_failure(error)
            if attempts is not None and failures >= attempts:
                raise
            wait_s = backoff.delay(failures - 1, rng)
            if isinstance(error, VenueError) and error.retry_after_s:
                wait_s = max(wait_s, error.retry_after_s)
        await trio.sleep(wait_s)
