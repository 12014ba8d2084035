"""Supervisors: start children in order, restart them by strategy, stop them in reverse.

A :class:`Supervisor` runs its children as tasks in its own nursery. One loop task owns
all decisions (restarts, stops, additions, removals), so they happen one at a time in a
well-defined order; children report their exits to it through an internal channel, and
backoff delays run as timers that post back to it, so a child backing off never holds up
the others.

Exception groups are handled on purpose: a child whose own nursery fails is reported
with that group as its error, while cancellation, ``KeyboardInterrupt`` and
``SystemExit`` always propagate, inside a group or not.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, final

import attrs
import trio

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
)
from supervision.incarnation import Incarnation
from supervision.mailbox import Address, Mailbox, Stopping
from supervision.restarts import Intensity, Restart, RestartStrategy
from supervision.snapshot import ChildSnapshot, ChildState, SupervisorSnapshot

log = logging.getLogger("supervision")

RESTART_BACKOFF = Backoff(first_at_once=True)
"""A supervisor's backoff unless it is given one: the first restart at once (a single
failure costs nothing), then 0.1 s doubling to 2 s (see :class:`Backoff` for why)."""


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


class SupervisorNotRunning(RuntimeError):
    """The supervisor stopped (or gave up) before it could carry out the request."""


class _Readiness:
    """Stands in for the child's ``task_status`` so the supervisor knows if it was used."""

    __slots__ = ("_task_status", "signalled")

    def __init__(self, task_status: trio.TaskStatus[Any]) -> None:
        self._task_status = task_status
        self.signalled = False

    def started(self, value: Any = None) -> None:
        self.signalled = True
        self._task_status.started(value)


@attrs.define(eq=False)
class _Run:
    """One incarnation's handles, private to the supervisor."""

    generation: int
    incarnation: Incarnation
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    done: trio.Event = attrs.field(factory=trio.Event)
    start_error: BaseException | None = None
    injected_error: Exception | None = None
    """Set by :meth:`Supervisor.crash_child` when it cancels ``scope``."""


@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    state: ChildState = ChildState.STOPPED
    generation: int = 0
    restarts: int = 0
    consecutive_restarts: int = 0
    last_error: BaseException | None = None
    started_at: float | None = None
    run: _Run | None = None
    ticket: int | None = None
    """Set while the child waits, with others holding the same ticket, to be restarted."""


@attrs.frozen(eq=False)
class _Exited:
    child: _Child
    generation: int
    error: BaseException | None


@attrs.frozen(eq=False)
class _RestartDue:
    ticket: int


@attrs.define(eq=False)
class _Call:
    operation: Callable[[], Awaitable[Any]]
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    error: BaseException | None = None


class _StopRequested:
    pass


def _failure_of(error: BaseException) -> BaseException | None:
    """What a child's exception means: a failure, a normal stop (None), or re-raise it."""
    if isinstance(error, Stopping):
        return None
    if isinstance(error, Exception):  # includes groups made only of Exceptions
        return error
    if isinstance(error, BaseExceptionGroup):
        _, rest = error.split(Stopping)
        if rest is None:
            return None
        if isinstance(rest, Exception):
            return rest
    raise error


@final
class Supervisor:
    """Starts, watches, restarts and stops a list of children.

    ``run()`` starts the children in order, each only after the previous one signalled
    readiness, then supervises them until :meth:`request_stop` (children are stopped in
    reverse order and ``run()`` returns) or until the restart ``intensity`` is exceeded
    (children are stopped and ``run()`` raises :class:`SupervisorGaveUp`). A child that
    fails to start during ``run()``'s initial start makes the supervisor give up at once.

    To nest, add ``supervisor.child_spec()`` to a parent. A supervisor object may be run
    again after it stopped or gave up (that is how a parent restarts it); its children's
    mailboxes and restart counts carry over, and so do the restarts still within its
    intensity window.

    ``intensity`` must be reachable with ``backoff`` (:meth:`Intensity.check_reachable`,
    ``ValueError`` otherwise): a child that fails each time it starts makes its
    supervisor give up within :meth:`Intensity.escalation_bound_s`, and each level above
    gives up within its own bound after that.
    """

    def __init__(
        self,
        name: str,
        children: Iterable[ChildSpec] = (),
        *,
        strategy: RestartStrategy = RestartStrategy.ONE_FOR_ONE,
        intensity: Intensity | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.strategy = strategy
        self.intensity = intensity or Intensity()
        self.backoff = backoff or RESTART_BACKOFF
        self.intensity.check_reachable(self.backoff, name)
        self._rng = rng or random.Random()
        self._children: list[_Child] = []
        self._by_name: dict[str, _Child] = {}
        for spec in children:
            self._register(spec)
        self._state = "stopped"
        self._nursery: trio.Nursery | None = None
        self._events: trio.MemorySendChannel[Any] | None = None
        self._restart_times: deque[float] = deque()
        self._recent_failures: deque[ChildFailure] = deque()
        self._next_ticket = 0
        self._give_ups = 0
        self._last_give_up: SupervisorGaveUp | None = None

    # ------------------------------------------------------------- public face

    @property
    def state(self) -> str:
        """``starting``, ``running``, ``stopping``, ``stopped`` or ``gave_up``."""
        return self._state

    @property
    def children(self) -> list[str]:
        return [child.spec.name for child in self._children]

    def address(self, name: str) -> Address:
        """The address of a child's mailbox; valid across the child's restarts."""
        mailbox = self._child(name).spec.mailbox
        if mailbox is None:
            raise ValueError(f"child {name!r} of supervisor {self.name!r} has no mailbox")
        return mailbox.address

    def child_spec(self, restart: Restart = Restart.PERMANENT) -> ChildSpec:
        """A spec that runs this supervisor as a child of another one."""
        return ChildSpec(
            name=self.name,
            entry=self._run_as_child,
            restart=restart,
            shutdown_timeout_s=math.inf,
            start_timeout_s=math.inf,
            subtree=self,
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Supervise until stopped (returns) or until giving up (raises SupervisorGaveUp).

        Signals readiness once every initial child has. Cancelling ``run()`` cancels every
        child at once, with no ordered shutdown; use :meth:`request_stop` for that.
        """
        await self._serve(None, task_status)

    def request_stop(self) -> None:
        """Ask ``run()`` to stop every child in reverse order and return. Idempotent."""
        if self._state in ("starting", "running"):
            self._post(_StopRequested())

    def crash_child(self, name: str, error: Exception) -> None:
        """Make the running child ``name`` fail with ``error``, as if it raised it where it is.

        For chaos tests of a running tree. ``name`` is looked up among this supervisor's
        children first, then depth first through the subtrees of its supervisor children
        (:attr:`ChildSpec.subtree`), in start order; the supervisor that owns the first
        match carries out the crash.

        The child's current incarnation is cancelled, so it unwinds as under a real crash:
        its ``finally`` blocks and ``async with`` exits run, and unread messages stay in
        its mailbox for the next incarnation. When its entry point has ended by that
        cancellation, the exit is reported with ``error`` and handled like any failure:
        by strategy, restart type, backoff and intensity, counting the restart, setting
        the child's ``last_error`` and the next incarnation's ``last_failure`` to
        ``error``, and giving up (:class:`SupervisorGaveUp`) if the intensity is exceeded.
        If the child ends on its own before the cancellation reaches it (it returns or
        raises before its next checkpoint, or raises another exception while unwinding),
        that exit is what is reported. Calling it again before the supervisor has dealt
        with the exit has no further effect: the first error stands.

        It does not wait and only cancels a cancel scope, so any task of the trio run the
        supervisor runs in may call it (not another thread).

        Raises :class:`UnknownChild` if no child in the tree has that name,
        :class:`SupervisorNotRunning` if the owning supervisor is not starting or running,
        :class:`ChildNotRunning` if the child is starting, backing off, stopping, stopped
        or failed, and :class:`TypeError` if ``error`` is not an :class:`Exception`.
        """
        if not isinstance(error, Exception):
            raise TypeError(f"crash_child() needs an Exception, got {type(error).__name__}")
        found = self._find(name)
        if found is None:
            raise UnknownChild(name, self.name)
        owner, child = found
        if owner._state not in ("starting", "running"):
            raise SupervisorNotRunning(f"supervisor {owner.name!r} is {owner._state}")
        if child.state is not ChildState.RUNNING:
            raise ChildNotRunning(name, owner.name, child.state)
        run = child.run
        assert run is not None  # a running child has a current incarnation
        if run.injected_error is not None:
            return
        run.injected_error = error
        run.scope.cancel()
        text = describe(error)
        owner._say(
            logging.WARNING, "child_crash_injected", name, f"crashing it with {text}", error=text
        )

    async def add_child(self, spec: ChildSpec) -> None:
        """Add a child after the others; while running, start it and wait for readiness.

        Raises :class:`ChildStartFailed` (and keeps nothing) if it fails to start, and
        :class:`DuplicateChild` if the name is taken.
        """
        if self._state == "stopped" or self._state == "gave_up":
            self._register(spec)
            return
        await self._call(lambda: self._add_running(spec))

    async def remove_child(self, name: str) -> None:
        """Stop a child (gracefully, within its shutdown timeout) and forget it.

        Its mailbox is closed: senders get :class:`~supervision.mailbox.MailboxClosed`.
        """
        if self._state == "stopped" or self._state == "gave_up":
            self._unregister(self._child(name))
            return
        await self._call(lambda: self._remove_running(name))

    def subtrees(self) -> list[Supervisor]:
        """The supervisors among this one's children, in start order."""
        return [c.spec.subtree for c in self._children if c.spec.subtree is not None]

    def snapshot(self) -> SupervisorSnapshot:
        """The state of this supervisor and everything below it, right now."""
        try:
            now = trio.current_time()
        except RuntimeError:  # outside trio: uptimes are not meaningful
            now = None
        return SupervisorSnapshot(
            name=self.name,
            strategy=self.strategy.value,
            state=self._state,
            restarts_in_window=self._restarts_in_window(now),
            give_ups=self._give_ups,
            last_give_up=str(self._last_give_up) if self._last_give_up else None,
            children=[self._child_snapshot(child, now) for child in self._children],
        )

    # --------------------------------------------------------------- the loop

    async def _run_as_child(
        self, incarnation: Incarnation, *, task_status: trio.TaskStatus[None]
    ) -> None:
        await self._serve(incarnation.stopping, task_status)

    async def _serve(self, stop_signal: trio.Event | None, task_status: Any) -> None:
        if self._state not in ("stopped", "gave_up"):
            raise RuntimeError(f"supervisor {self.name!r} is already {self._state}")
        self._begin_run()
        send, receive = trio.open_memory_channel[Any](math.inf)
        self._events = send
        gave_up: SupervisorGaveUp | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if stop_signal is not None:
                    nursery.start_soon(self._forward_stop, stop_signal)
                gave_up = await self._start_initial()
                if gave_up is None:
                    self._state = "running"
                    task_status.started()
                    gave_up = await self._loop(receive)
                # Every child has stopped; what is left are backoff timers and the forwarder.
                nursery.cancel_scope.cancel()
        finally:
            self._events = None
            self._nursery = None
            self._fail_pending_calls(receive)
            self._state = "gave_up" if gave_up is not None else "stopped"
            for child in self._children:  # after a cancellation, nothing is left running
                if child.state not in (ChildState.STOPPED, ChildState.FAILED):
                    child.state = ChildState.STOPPED
                    child.started_at = None
        if gave_up is not None:
            raise gave_up

    def _begin_run(self) -> None:
        # The restarts within the intensity window are kept: a supervisor its parent
        # restarts after it gave up gives up again at its next failure until the storm
        # has left the window, so its parent counts the storm too and gives up in turn
        # (otherwise each level would retry for ever at the pace of the one below).
        self._state = "starting"
        for child in self._children:
            child.state = ChildState.STOPPED
            child.ticket = None
            child.consecutive_restarts = 0

    async def _forward_stop(self, stop_signal: trio.Event) -> None:
        await stop_signal.wait()
        self._post(_StopRequested())

    async def _start_initial(self) -> SupervisorGaveUp | None:
        for child in list(self._children):
            error = await self._start_child(child)
            if error is not None:
                self._note_failure(child, error)
                return await self._give_up(f"child {child.spec.name!r} failed to start")
        return None

    async def _loop(self, receive: trio.MemoryReceiveChannel[Any]) -> SupervisorGaveUp | None:
        async for event in receive:
            if isinstance(event, _Exited):
                gave_up = await self._on_exit(event)
            elif isinstance(event, _RestartDue):
                gave_up = await self._on_restart_due(event.ticket)
            elif isinstance(event, _Call):
                await self._on_call(event)
                gave_up = None
            else:
                self._state = "stopping"
                self._say(logging.INFO, "supervisor_stopping", None, "stopping")
                await self._stop_all()
                return None
            if gave_up is not None:
                return gave_up
        raise AssertionError("the supervisor's event channel cannot close while it runs")

    def _post(self, event: object) -> None:
        if self._events is not None:
            self._events.send_nowait(event)

    async def _call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        call = _Call(operation)
        if self._events is None:
            raise SupervisorNotRunning(f"supervisor {self.name!r} is {self._state}")
        self._events.send_nowait(call)
        await call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    async def _on_call(self, call: _Call) -> None:
        try:
            call.result = await call.operation()
        except Exception as error:
            call.error = error
        finally:
            call.done.set()

    def _fail_pending_calls(self, receive: trio.MemoryReceiveChannel[Any]) -> None:
        while True:
            try:
                event = receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(event, _Call):
                event.error = SupervisorNotRunning(f"supervisor {self.name!r} stopped")
                event.done.set()
        receive.close()

    # -------------------------------------------------------- starting a child

    async def _start_child(self, child: _Child) -> BaseException | None:
        """Start one incarnation and wait for readiness; returns the error if it failed."""
        assert self._nursery is not None
        spec = child.spec
        child.generation += 1
        child.state = ChildState.STARTING
        if spec.mailbox is not None:
            spec.mailbox.resume()
        run = _Run(
            generation=child.generation,
            incarnation=Incarnation(spec.name, child.restarts, child.last_error, spec.mailbox),
        )
        child.run = run
        with trio.move_on_after(spec.start_timeout_s) as start_timer:
            await self._nursery.start(self._run_incarnation, child, run)
        if start_timer.cancelled_caught:
            error: BaseException | None = StartTimeout(
                f"child {spec.name!r} did not signal readiness within {spec.start_timeout_s} s"
            )
        else:
            error = run.start_error
        if error is not None:
            child.state = ChildState.FAILED
            child.started_at = None
            return error
        child.state = ChildState.RUNNING
        child.started_at = trio.current_time()
        again = f" (restart {child.restarts})" if child.restarts else ""
        self._say(
            logging.INFO, "child_started", spec.name, "started" + again, restarts=child.restarts
        )
        return None

    async def _run_incarnation(
        self, child: _Child, run: _Run, *, task_status: trio.TaskStatus[None]
    ) -> None:
        ready = _Readiness(task_status)
        error: BaseException | None = None
        try:
            with run.scope:
                await child.spec.entry(run.incarnation, task_status=ready)
        except BaseException as raised:
            error = _failure_of(raised)  # re-raises cancellation and interrupts
        else:
            if run.scope.cancelled_caught:
                # Cancelled by crash_child() (or by _stop_child(), which injects nothing).
                error = run.injected_error
        finally:
            run.done.set()
        if not ready.signalled:
            task_status.started()
            if error is not None:
                run.start_error = error
                return
        self._post(_Exited(child, run.generation, error))

    # ------------------------------------------------------ reacting to exits

    async def _on_exit(self, event: _Exited) -> SupervisorGaveUp | None:
        child = event.child
        current = (
            child.generation == event.generation and self._by_name.get(child.spec.name) is child
        )
        if not current or child.state is not ChildState.RUNNING:
            if current and event.error is not None:
                error = describe(event.error)
                self._say(
                    logging.WARNING,
                    "child_failed_while_stopping",
                    child.spec.name,
                    f"failed while stopping: {error}",
                    error=error,
                )
            return None
        return await self._after_exit(child, event.error)

    def _note_failure(self, child: _Child, error: BaseException) -> None:
        now = trio.current_time()
        child.last_error = error
        self._recent_failures.append(ChildFailure(child.spec.name, now, error))
        text = describe(error)
        self._say(logging.WARNING, "child_failed", child.spec.name, f"failed: {text}", error=text)

    async def _after_exit(
        self, child: _Child, error: BaseException | None
    ) -> SupervisorGaveUp | None:
        """Decide what an exit (or a failed start) of ``child`` leads to."""
        now = trio.current_time()
        failed = error is not None
        ran_for = now - child.started_at if child.started_at is not None else 0.0
        child.started_at = None
        if error is not None:
            self._note_failure(child, error)
        else:
            self._say(logging.INFO, "child_exited", child.spec.name, "exited normally")
        if not child.spec.restart.wants_restart(failed):
            child.state = ChildState.FAILED if failed else ChildState.STOPPED
            return None

        self._restart_times.append(now)
        if self._restarts_in_window(now) > self.intensity.max_restarts:
            child.state = ChildState.FAILED if failed else ChildState.STOPPED
            limit = self.intensity.max_restarts
            return await self._give_up(
                f"more than {limit} restart{'' if limit == 1 else 's'} within "
                f"{self.intensity.period_s:g} s"
            )

        if ran_for >= self.backoff.reset_after_s:
            child.consecutive_restarts = 0
        delay = self.backoff.delay(child.consecutive_restarts, self._rng)
        child.consecutive_restarts += 1

        group = self._restart_group(child)
        for member in reversed(group):
            if member is not child and member.state in (ChildState.RUNNING, ChildState.STARTING):
                await self._stop_child(member)
        ticket = self._next_ticket = self._next_ticket + 1
        for member in group:
            if member is child or member.spec.restart is not Restart.TEMPORARY:
                member.state = ChildState.BACKING_OFF
                member.ticket = ticket
        restarting = [m.spec.name for m in group if m.ticket == ticket]
        self._say(
            logging.INFO,
            "child_restarting",
            None,
            f"restarting {', '.join(map(repr, restarting))} in {delay:.3f} s",
            child=child.spec.name,
            delay_s=delay,
            group=restarting,
        )
        if delay > 0:
            assert self._nursery is not None
            self._nursery.start_soon(self._restart_timer, delay, ticket)
        else:
            self._post(_RestartDue(ticket))
        return None

    def _restart_group(self, child: _Child) -> list[_Child]:
        """The child plus the siblings the strategy restarts with it, in start order.

        Siblings that already ended for good (stopped or failed) stay as they are;
        siblings already waiting for a restart join this one so that start order holds.
        """
        if self.strategy is RestartStrategy.ONE_FOR_ONE:
            return [child]
        index = self._children.index(child)
        candidates = (
            self._children
            if self.strategy is RestartStrategy.ONE_FOR_ALL
            else (self._children[index:])
        )
        live = (ChildState.RUNNING, ChildState.STARTING, ChildState.BACKING_OFF)
        return [m for m in candidates if m is child or m.state in live]

    async def _restart_timer(self, delay: float, ticket: int) -> None:
        await trio.sleep(delay)
        self._post(_RestartDue(ticket))

    async def _on_restart_due(self, ticket: int) -> SupervisorGaveUp | None:
        for member in [c for c in self._children if c.ticket == ticket]:
            if member.ticket != ticket:
                break  # a failure earlier in this group re-planned the rest
            member.ticket = None
            member.restarts += 1
            error = await self._start_child(member)
            if error is not None:
                return await self._after_exit(member, error)
        return None

    def _restarts_in_window(self, now: float | None) -> int:
        if now is None:
            return len(self._restart_times)
        horizon = now - self.intensity.period_s
        while self._restart_times and self._restart_times[0] <= horizon:
            self._restart_times.popleft()
        while self._recent_failures and self._recent_failures[0].at <= horizon:
            self._recent_failures.popleft()
        return len(self._restart_times)

    async def _give_up(self, reason: str) -> SupervisorGaveUp:
        error = SupervisorGaveUp(self.name, reason, tuple(self._recent_failures))
        self._say(
            logging.ERROR,
            "supervisor_gave_up",
            None,
            "\n".join(["gave up: " + reason, *error.render()[1:]]),
            reason=reason,
            failures=[describe(f.error) for f in error.failures],
        )
        self._state = "stopping"
        await self._stop_all()
        self._give_ups += 1
        self._last_give_up = error
        return error

    # -------------------------------------------------------- stopping a child

    async def _stop_child(self, child: _Child) -> None:
        """Ask the child to stop; cancel it if it is still running after its timeout."""
        run = child.run
        if run is None or child.state not in (ChildState.RUNNING, ChildState.STARTING):
            return
        spec = child.spec
        child.state = ChildState.STOPPING
        run.incarnation.request_stop()
        if spec.shutdown_timeout_s > 0:
            with trio.move_on_after(spec.shutdown_timeout_s):
                await run.done.wait()
            if not run.done.is_set():
                self._say(
                    logging.WARNING,
                    "child_killed",
                    spec.name,
                    f"did not stop within {spec.shutdown_timeout_s:g} s; cancelling it",
                )
        run.scope.cancel()
        await run.done.wait()
        child.state = ChildState.STOPPED
        child.started_at = None
        self._say(logging.INFO, "child_stopped", spec.name, "stopped")

    async def _stop_all(self) -> None:
        for child in reversed(self._children):
            if child.state is ChildState.BACKING_OFF:
                child.state = ChildState.STOPPED
                child.ticket = None
            await self._stop_child(child)

    # ------------------------------------------------ adding and removing

    def _register(self, spec: ChildSpec) -> _Child:
        if spec.name in self._by_name:
            raise DuplicateChild(
                f"supervisor {self.name!r} already has a child named {spec.name!r}"
            )
        child = _Child(spec)
        self._children.append(child)
        self._by_name[spec.name] = child
        return child

    def _unregister(self, child: _Child) -> None:
        self._children.remove(child)
        del self._by_name[child.spec.name]
        if child.spec.mailbox is not None:
            unread = child.spec.mailbox.close()
            if unread:
                self._say(
                    logging.WARNING,
                    "mailbox_discarded",
                    child.spec.name,
                    f"removed with {unread} unread messages",
                    unread=unread,
                )

    def _find(self, name: str) -> tuple[Supervisor, _Child] | None:
        """The child ``name`` in this tree and the supervisor that owns it (see crash_child)."""
        child = self._by_name.get(name)
        if child is not None:
            return self, child
        for member in self._children:
            if member.spec.subtree is not None:
                found = member.spec.subtree._find(name)
                if found is not None:
                    return found
        return None

    def _child(self, name: str) -> _Child:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownChild(name, self.name) from None

    async def _add_running(self, spec: ChildSpec) -> None:
        child = self._register(spec)
        error = await self._start_child(child)
        if error is not None:
            self._children.remove(child)
            del self._by_name[spec.name]
            raise ChildStartFailed(spec.name, error)

    async def _remove_running(self, name: str) -> None:
        child = self._child(name)
        child.ticket = None
        await self._stop_child(child)
        self._unregister(child)
        self._say(logging.INFO, "child_removed", name, "removed")

    # ------------------------------------------------------------ logging

    def _say(self, level: int, event: str, child: str | None, text: str, /, **fields: Any) -> None:
        """Log one structured event: ``supervisor 'x': 'child' text`` plus its fields."""
        if not log.isEnabledFor(level):
            return
        prefix = f"supervisor {self.name!r}: " + (f"{child!r} " if child else "")
        context = {"supervisor": self.name} | ({"child": child} if child else {})
        log.log(level, prefix + text, extra={"event": event, "fields": context | fields})

    # ------------------------------------------------------------ snapshots

    def _child_snapshot(self, child: _Child, now: float | None) -> ChildSnapshot:
        spec = child.spec
        uptime = 0.0
        if now is not None and child.started_at is not None:
            uptime = now - child.started_at
        return ChildSnapshot(
            name=spec.name,
            state=child.state,
            restart=spec.restart.value,
            restarts=child.restarts,
            last_error=describe(child.last_error) if child.last_error is not None else None,
            uptime_s=uptime,
            mailbox=spec.mailbox.stats() if spec.mailbox is not None else None,
            labels=spec.labels,
            subtree=spec.subtree.snapshot() if spec.subtree is not None else None,
        )
