"""The retry helper on trio's MockClock: which errors, how long between, the bound,
Retry-After, cancellation."""

from __future__ import annotations

import itertools
import random

import pytest
import trio

from actors.runtime.retry import retry
from actors.venues.rest import VENUE_FAILURES, OutcomeUnknown, RequestNotSent
from protocols.venue import RateLimited, VenueUnavailable
from supervision import Backoff

STEADY = Backoff(min_s=1.0, max_s=8.0, jitter=0.0)
"""Waits 1, 2, 4, 8, 8, ... s after the 1st, 2nd, 3rd, ... consecutive failure."""


class Script:
    """An operation that fails with each of ``errors`` in turn, then returns ``"done"``;
    it notes when each call began."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls: list[float] = []

    async def __call__(self) -> str:
        self.calls.append(trio.current_time())
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def waits(calls: list[float]) -> list[float]:
    return [round(b - a, 9) for a, b in itertools.pairwise(calls)]


async def test_a_success_returns_at_once(autojump_clock):
    script = Script()
    assert await retry(script, retry_on=VENUE_FAILURES, backoff=STEADY, rng=random.Random(1)) == (
        "done"
    )
    assert script.calls == [0.0]


async def test_failures_of_the_kinds_named_are_retried_with_growing_waits(autojump_clock):
    script = Script(RequestNotSent("a"), OutcomeUnknown("b"), VenueUnavailable("x", 1, "c"))
    failed: list[Exception] = []
    result = await retry(
        script,
        retry_on=VENUE_FAILURES,
        backoff=STEADY,
        rng=random.Random(1),
        on_failure=failed.append,
    )
    assert result == "done"
    assert waits(script.calls) == [1.0, 2.0, 4.0]
    assert [str(error) for error in failed][:2] == ["a", "b"]
    assert len(failed) == 3


async def test_the_waits_follow_the_backoff_with_its_jitter(autojump_clock):
    backoff = Backoff(min_s=1.0, max_s=8.0, jitter=0.5)
    script = Script(*[RequestNotSent("down")] * 5)
    await retry(script, retry_on=RequestNotSent, backoff=backoff, rng=random.Random(7))
    for n, wait in enumerate(waits(script.calls)):
        low, high = backoff.bounds(n)
        assert low <= wait <= high


async def test_a_venues_retry_after_is_waited_at_least(autojump_clock):
    slow_down = RateLimited("x", 429, "slow down", 429, retry_after_s=5.0)
    brief = RateLimited("x", 429, "slow down", 429, retry_after_s=0.5)
    script = Script(slow_down, brief, RequestNotSent("a"))
    await retry(script, retry_on=VENUE_FAILURES, backoff=STEADY, rng=random.Random(1))
    # 5 s as the venue said (more than 1 s); then 2 s (more than the venue's 0.5 s); 4 s.
    assert waits(script.calls) == [5.0, 2.0, 4.0]


async def test_other_errors_propagate_at_once(autojump_clock):
    script = Script(RequestNotSent("a"), TypeError("a bug"))
    failed: list[Exception] = []
    with pytest.raises(TypeError, match="a bug"):
        await retry(
            script,
            retry_on=RequestNotSent,
            backoff=STEADY,
            rng=random.Random(1),
            on_failure=failed.append,
        )
    assert len(script.calls) == 2
    assert [type(error) for error in failed] == [RequestNotSent]


async def test_an_exception_group_is_not_retried(autojump_clock):
    group = ExceptionGroup("both failed", [RequestNotSent("a"), RequestNotSent("b")])
    script = Script(group)
    with pytest.RaisesGroup(RequestNotSent, RequestNotSent):
        await retry(script, retry_on=Exception, backoff=STEADY, rng=random.Random(1))
    assert len(script.calls) == 1


async def test_a_bound_gives_up_with_the_last_error_and_no_wait_after_it(autojump_clock):
    errors = [RequestNotSent(f"attempt {n}") for n in range(1, 6)]
    script = Script(*errors)
    failed: list[Exception] = []
    with pytest.raises(RequestNotSent) as raised:
        await retry(
            script,
            retry_on=VENUE_FAILURES,
            backoff=STEADY,
            rng=random.Random(1),
            attempts=3,
            on_failure=failed.append,
        )
    assert raised.value is errors[2]
    assert failed == errors[:3]
    assert waits(script.calls) == [1.0, 2.0]
    assert trio.current_time() == script.calls[-1]


async def test_a_bounded_check_that_gives_up_returns_none(autojump_clock):
    """The shape of a restored strategy's position check: a few attempts, each failure
    logged, ``None`` when the venues never answered."""

    async def check() -> float | None:
        try:
            return await retry(
                Script(*[VenueUnavailable("x", None, "down")] * 10),
                retry_on=VENUE_FAILURES,
                backoff=STEADY,
                rng=random.Random(1),
                attempts=4,
            )
        except VENUE_FAILURES:
            return None

    assert await check() is None
    assert trio.current_time() == 1.0 + 2.0 + 4.0


async def test_cancellation_while_waiting_stops_the_retries(autojump_clock):
    script = Script(*[RequestNotSent("down")] * 10)
    with trio.move_on_after(2.5) as scope:
        await retry(script, retry_on=RequestNotSent, backoff=STEADY, rng=random.Random(1))
    assert scope.cancelled_caught
    assert waits(script.calls) == [1.0]  # cancelled during the second wait (2 s)
    await trio.sleep(60)
    assert len(script.calls) == 2


async def test_cancellation_is_never_retried(autojump_clock):
    async def slow() -> None:
        await trio.sleep(10)

    with trio.move_on_after(1.0) as scope:
        await retry(slow, retry_on=Exception, backoff=STEADY, rng=random.Random(1))
    assert scope.cancelled_caught
    assert trio.current_time() == 1.0


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"attempts": 0}, "attempts must be at least 1"),
        ({"retry_on": trio.Cancelled}, "never retried"),
        ({"retry_on": (RequestNotSent, BaseException)}, "never retried"),
    ],
)
async def test_arguments_that_make_no_sense_are_refused(options, says):
    arguments = {"retry_on": RequestNotSent, **options}
    with pytest.raises(ValueError, match=says):
        await retry(Script(), backoff=STEADY, rng=random.Random(1), **arguments)
