"""The persistence writer's own thread: one long-lived thread that carries out the
writer's calls on the store, one at a time, handed over more cheaply than by
``trio.to_thread.run_sync``.

A journal commit is on the tick-to-order path, and ``trio.to_thread.run_sync`` costs a
trip through trio's scheduler before the thread is even asked (it takes a slot of the
default thread limiter, which yields) and a cached thread's hand-over. Here the call goes
onto a queue the thread waits on, and the thread hands the outcome straight back to the
waiting task. Like ``trio.to_thread.run_sync`` (without ``abandon_on_cancel``), a call
that started is never abandoned: the task waits for it even when cancelled, and the
cancellation takes effect at its next checkpoint after the call.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import trio

T = TypeVar("T")


class _Call:
    __slots__ = ("args", "error", "fn", "task", "token", "value")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.task = trio.lowlevel.current_task()
        self.token = trio.lowlevel.current_trio_token()
        self.value: Any = None
        self.error: BaseException | None = None


class WorkerThread:
    """Started with the writer's incarnation, closed when it ends (``async with``)."""

    def __init__(self, name: str = "basis-writer") -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    async def __aenter__(self) -> WorkerThread:
        self._thread.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._calls.put(None)  # the thread ends after the call it may be in

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the thread; what it returns, or what it raises."""
        await trio.lowlevel.checkpoint_if_cancelled()
        call = _Call(fn, args)
        self._calls.put(call)
        await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.FAILED)
        if call.error is not None:
            raise call.error
        return call.value

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call.value = call.fn(*call.args)
            except BaseException as error:  # handed to the caller, as to_thread would
                call.error = error
            call.token.run_sync_soon(trio.lowlevel.reschedule, call.task)
