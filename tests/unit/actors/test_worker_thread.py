"""The writer's own thread: calls carried out there one at a time, their outcome handed
back, and a call never abandoned by a cancelled caller."""

from __future__ import annotations

import threading

import pytest
import trio

from actors.runtime.persistence.worker_thread import WorkerThread


async def test_calls_run_on_one_thread_of_their_own_and_return_or_raise():
    async with WorkerThread() as thread:
        first = await thread.run_sync(threading.get_ident)
        second = await thread.run_sync(threading.get_ident)
        assert first == second != threading.get_ident()
        assert await thread.run_sync(divmod, 7, 2) == (3, 1)
        with pytest.raises(ZeroDivisionError):
            await thread.run_sync(divmod, 1, 0)
        assert await thread.run_sync(pow, 2, 10) == 1024  # still serving after a failure


async def test_a_cancelled_caller_waits_for_its_call_to_end():
    may_end, ended = threading.Event(), threading.Event()
    token = trio.lowlevel.current_trio_token()
    started = trio.Event()

    def slow() -> None:
        token.run_sync_soon(started.set)
        may_end.wait(5)
        ended.set()

    scope = trio.CancelScope()
    returned = trio.Event()

    async def call(thread: WorkerThread) -> None:
        with scope:
            await thread.run_sync(slow)
            returned.set()
            await trio.lowlevel.checkpoint()  # where the cancellation takes effect
            raise AssertionError("not cancelled")

    async with WorkerThread() as thread, trio.open_nursery() as nursery:
        nursery.start_soon(call, thread)
        await started.wait()
        scope.cancel()
        # Cancelled, the caller is still waiting: the call is running.
        await trio.testing.wait_all_tasks_blocked()
        assert not returned.is_set() and not ended.is_set()
        may_end.set()
        with trio.fail_after(5):
            await returned.wait()
    assert ended.is_set() and scope.cancelled_caught
