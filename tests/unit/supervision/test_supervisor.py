"""Supervisor behaviour, on trio's MockClock: every strategy, restart type and stop path."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from supervision import (
    Backoff,
    ChildNotRunning,
    ChildSpec,
    ChildStartFailed,
    ChildState,
    DuplicateChild,
    Incarnation,
    Intensity,
    Mailbox,
    MailboxClosed,
    Restart,
    RestartStrategy,
    StartTimeout,
    Supervisor,
    SupervisorGaveUp,
    SupervisorNotRunning,
    UnknownChild,
)
from tests.unit.supervision.probe import Probe, child_state

NO_BACKOFF = Backoff.none()
ROOMY = Intensity(max_restarts=100, period_s=1.0)


async def settle() -> None:
    """Let every task run until all are blocked (the autojump clock then stays put)."""
    await trio.testing.wait_all_tasks_blocked()


@pytest.fixture
def probe() -> Probe:
    return Probe()


async def start(nursery: trio.Nursery, supervisor: Supervisor) -> None:
    await nursery.start(supervisor.run)


def supervisor(probe: Probe, names: str, strategy: RestartStrategy, **kwargs: Any) -> Supervisor:
    return Supervisor(
        "sup",
        [probe.spec(name) for name in names],
        strategy=strategy,
        backoff=kwargs.pop("backoff", NO_BACKOFF),
        intensity=kwargs.pop("intensity", ROOMY),
        **kwargs,
    )


# ------------------------------------------------------------------ start and stop


async def test_children_start_in_order_each_after_the_previous_is_ready(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec(n, ready_after=1.0) for n in "abc"])
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        assert probe.sequence("start", "ready") == [
            ("start", "a"),
            ("ready", "a"),
            ("start", "b"),
            ("ready", "b"),
            ("start", "c"),
            ("ready", "c"),
        ]
        assert [h.at for h in probe.events("start")] == [0.0, 1.0, 2.0]
        sup.request_stop()


async def test_stop_request_stops_children_in_reverse_order_and_run_returns(probe, autojump_clock):
    sup = supervisor(probe, "abc", RestartStrategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        sup.request_stop()
    assert probe.sequence("end") == [("end", "c"), ("end", "b"), ("end", "a")]
    assert sup.state == "stopped"
    assert all(child_state(sup, n) is ChildState.STOPPED for n in "abc")


async def test_child_that_ignores_stop_is_cancelled_at_its_shutdown_timeout(probe, autojump_clock):
    sup = Supervisor(
        "sup",
        [
            probe.spec("polite"),
            probe.spec("stubborn", cooperative=False, shutdown_timeout_s=7.0),
        ],
    )
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        asked = trio.current_time()
        sup.request_stop()
    ends = {h.child: h.at - asked for h in probe.events("end")}
    assert ends == {"stubborn": 7.0, "polite": 7.0}  # polite stops right after, in order


async def test_zero_shutdown_timeout_cancels_at_once(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("x", cooperative=False, shutdown_timeout_s=0.0)])
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await trio.sleep(3)
        sup.request_stop()
    assert probe.events("end")[0].at == 3.0


async def test_mailbox_reader_stops_promptly_and_keeps_unread_messages(autojump_clock):
    mailbox = Mailbox("reader", capacity=10)
    seen: list[Any] = []

    async def reader(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for message in inc.mailbox:
            seen.append(message)
            await trio.sleep(10)

    sup = Supervisor("sup", [ChildSpec("reader", reader, shutdown_timeout_s=20, mailbox=mailbox)])
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        for m in range(3):
            sup.address("reader").send_nowait(m)
        await trio.sleep(1)  # reader took 0 and is busy with it
        began = trio.current_time()
        sup.request_stop()
    assert trio.current_time() - began == 9.0  # finished the message in hand, no more
    assert seen == [0]
    assert len(mailbox) == 2


async def test_stop_before_any_child_is_ready_still_stops_everything(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec(n, ready_after=5) for n in "ab"])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sup.run)
        await trio.sleep(1)
        sup.request_stop()
    assert probe.sequence("end") == [("end", "b"), ("end", "a")]


# ------------------------------------------------------------------------ strategies


async def test_one_for_one_restarts_only_the_failed_child(probe, autojump_clock):
    sup = supervisor(probe, "abc", RestartStrategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.crash("b")
        await settle()
        assert [probe.starts(n) for n in "abc"] == [1, 2, 1]
        assert all(child_state(sup, n) is ChildState.RUNNING for n in "abc")
        sup.request_stop()


async def test_one_for_all_stops_the_others_in_reverse_then_starts_all_in_order(
    probe, autojump_clock
):
    sup = supervisor(probe, "abc", RestartStrategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        del probe.log[:]
        probe.crash("b")
        await settle()
        assert probe.sequence("start", "end") == [
            ("end", "b"),
            ("end", "c"),
            ("end", "a"),
            ("start", "a"),
            ("start", "b"),
            ("start", "c"),
        ]
        snapshot = {c.name: c.restarts for c in sup.snapshot().children}
        assert snapshot == {"a": 1, "b": 1, "c": 1}
        sup.request_stop()


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
    probe, autojump_clock
):
    sup = supervisor(probe, "abcd", RestartStrategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        del probe.log[:]
        probe.crash("b")
        await settle()
        assert probe.sequence("start", "end") == [
            ("end", "b"),
            ("end", "d"),
            ("end", "c"),
            ("start", "b"),
            ("start", "c"),
            ("start", "d"),
        ]
        assert child_state(sup, "a") is ChildState.RUNNING
        sup.request_stop()


async def test_one_for_all_does_not_bring_back_a_temporary_sibling(probe, autojump_clock):
    sup = Supervisor(
        "sup",
        [probe.spec("a"), probe.spec("tmp", Restart.TEMPORARY), probe.spec("c")],
        strategy=RestartStrategy.ONE_FOR_ALL,
        backoff=NO_BACKOFF,
    )
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.crash("c")
        await settle()
        assert probe.starts("tmp") == 1
        assert child_state(sup, "tmp") is ChildState.STOPPED
        assert child_state(sup, "a") is ChildState.RUNNING
        sup.request_stop()


# --------------------------------------------------------------------- restart types


@pytest.mark.parametrize(
    ("restart", "order", "restarted", "final_state"),
    [
        (Restart.PERMANENT, "crash", True, ChildState.RUNNING),
        (Restart.PERMANENT, "exit", True, ChildState.RUNNING),
        (Restart.TRANSIENT, "crash", True, ChildState.RUNNING),
        (Restart.TRANSIENT, "exit", False, ChildState.STOPPED),
        (Restart.TEMPORARY, "crash", False, ChildState.FAILED),
        (Restart.TEMPORARY, "exit", False, ChildState.STOPPED),
    ],
)
async def test_restart_types_after_normal_and_abnormal_exit(
    probe, autojump_clock, restart, order, restarted, final_state
):
    sup = Supervisor("sup", [probe.spec("x", restart)], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.order("x", order)
        await settle()
        assert probe.starts("x") == (2 if restarted else 1)
        assert child_state(sup, "x") is final_state
        assert sup.state == "running"
        sup.request_stop()


async def test_restarted_child_is_told_how_many_restarts_and_the_last_failure(
    probe, autojump_clock
):
    sup = Supervisor("sup", [probe.spec("x")], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.crash("x")
        await settle()
        probe.exit("x")
        await settle()
        first, second, third = probe.incarnations["x"]
        assert (first.restarts, first.last_failure, first.is_restart) == (0, None, False)
        assert second.restarts == 1
        assert str(second.last_failure) == "x crashed"
        assert third.restarts == 2
        assert str(third.last_failure) == "x crashed"  # a normal exit is not a failure
        sup.request_stop()


# -------------------------------------------------------------------------- intensity


async def test_intensity_exceeded_escalates_through_two_levels(probe, autojump_clock):
    mid = Supervisor(
        "mid", [probe.spec("worker")], intensity=Intensity(2, 10.0), backoff=NO_BACKOFF
    )
    root = Supervisor(
        "root",
        [probe.spec("bystander"), mid.child_spec()],
        intensity=Intensity(1, 10.0),
        backoff=NO_BACKOFF,
    )

    async def crash_worker_forever() -> None:
        while True:
            await settle()
            probe.crash("worker")

    with pytest.RaisesGroup(SupervisorGaveUp) as raised:
        async with trio.open_nursery() as nursery:
            await start(nursery, root)
            nursery.start_soon(crash_worker_forever)
    (failure,) = raised.value.exceptions
    assert failure.supervisor == "root"
    # root restarted mid once; mid gave up after 3 worker crashes, then again at the
    # first crash of its second run: the first three were still within its window.
    assert probe.starts("worker") == 4
    assert [f.child for f in failure.failures] == ["mid", "mid"]
    inner = failure.failures[-1].error
    assert isinstance(inner, SupervisorGaveUp) and inner.supervisor == "mid"
    assert [str(f.error) for f in inner.failures] == ["worker crashed"] * 4
    text = str(failure).splitlines()
    assert text[0] == "supervisor 'root' gave up: more than 1 restart within 10 s"
    assert "  child 'mid' failed at" in text[1]
    assert any(line.strip().startswith("child 'worker' failed") for line in text)
    # every child of every level was stopped before the error surfaced
    assert probe.events("end", "bystander")
    assert root.state == "gave_up"


async def test_restarts_outside_the_window_do_not_count(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("x")], intensity=Intensity(2, 10.0), backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        for _ in range(6):  # 6 crashes, 6 s apart: never 3 within 10 s
            probe.crash("x")
            await trio.sleep(6)
        assert sup.state == "running"
        assert probe.starts("x") == 7
        sup.request_stop()


async def test_child_failing_during_initial_start_makes_the_supervisor_give_up(
    probe, autojump_clock
):
    sup = Supervisor("sup", [probe.spec("a"), probe.spec("b", fail_on_start=True)])
    with pytest.raises(SupervisorGaveUp) as raised:
        await sup.run()
    assert raised.value.reason == "child 'b' failed to start"
    assert str(raised.value.failures[0].error) == "b cannot start"
    assert probe.events("end", "a")


async def test_child_that_never_becomes_ready_times_out(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("slow", ready_after=100, start_timeout_s=5)])
    with pytest.raises(SupervisorGaveUp) as raised:
        await sup.run()
    assert isinstance(raised.value.failures[0].error, StartTimeout)
    assert trio.current_time() == 5.0


async def test_a_restart_that_fails_to_start_is_retried_with_backoff(autojump_clock):
    attempts: list[float] = []

    async def flaky(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        attempts.append(trio.current_time())
        if inc.restarts in (1, 2):
            raise OSError("port busy")
        task_status.started()
        if inc.restarts == 0:
            raise RuntimeError("first run dies")
        await trio.sleep_forever()

    backoff = Backoff(min_s=1.0, max_s=10.0, factor=2.0, jitter=0.0)
    sup = Supervisor(
        "sup", [ChildSpec("flaky", flaky)], backoff=backoff, intensity=Intensity(10, 120.0)
    )
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await trio.sleep(20)
        assert attempts == [0.0, 1.0, 3.0, 7.0]
        assert child_state(sup, "flaky") is ChildState.RUNNING
        sup.request_stop()


# ---------------------------------------------------------------------------- backoff


async def test_backoff_delays_follow_the_formula_and_reset_after_stable_running(
    probe, autojump_clock
):
    backoff = Backoff(min_s=0.5, max_s=4.0, factor=2.0, jitter=0.25, reset_after_s=30.0)
    sup = Supervisor(
        "sup",
        [probe.spec("x")],
        backoff=backoff,
        intensity=Intensity(100, 500.0),
        rng=random.Random(7),
    )
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        delays = []
        for attempt in range(6):
            probe.crash("x")
            crashed = trio.current_time()
            await trio.sleep(backoff.bounds(attempt)[1] + 0.01)
            delays.append(probe.events("start", "x")[-1].at - crashed)
        for attempt, delay in enumerate(delays):
            low, high = backoff.bounds(attempt)
            assert low <= delay <= high, (attempt, delay)
        assert delays[-1] >= backoff.bounds(2)[0]  # it grew, up to the cap
        await trio.sleep(30)  # stable for reset_after_s
        probe.crash("x")
        crashed = trio.current_time()
        await trio.sleep(backoff.bounds(0)[1] + 0.01)
        low, high = backoff.bounds(0)
        assert low <= probe.events("start", "x")[-1].at - crashed <= high
        sup.request_stop()


# ---------------------------------------------------------------------------- mailboxes


async def test_messages_sent_while_a_child_is_down_are_delivered_after_it_is_back(
    autojump_clock,
):
    mailbox = Mailbox("worker", capacity=100)
    handled: list[tuple[int, Any]] = []

    async def worker(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for message in inc.mailbox:
            if message == "boom":
                raise RuntimeError("boom")
            handled.append((inc.restarts, message))

    sup = Supervisor(
        "sup",
        [ChildSpec("worker", worker, mailbox=mailbox)],
        backoff=Backoff(min_s=5.0, max_s=5.0, jitter=0.0),
    )
    address = mailbox.address
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await address.send("a")
        await address.send("boom")
        await address.send("b")  # queued behind the crash
        await trio.sleep(1)
        assert child_state(sup, "worker") is ChildState.BACKING_OFF
        await address.send("c")  # sent while the child is down
        await trio.sleep(10)
        assert handled == [(0, "a"), (1, "b"), (1, "c")]
        sup.request_stop()


async def test_address_of_unknown_child_or_child_without_mailbox_is_an_error(probe):
    sup = Supervisor("sup", [probe.spec("x")])
    with pytest.raises(KeyError, match="no child named 'nope' under supervisor 'sup'"):
        sup.address("nope")
    with pytest.raises(ValueError, match="has no mailbox"):
        sup.address("x")


# --------------------------------------------------------------- dynamic children


async def test_children_added_and_removed_at_run_time(probe, autojump_clock):
    mailbox = Mailbox("late", capacity=4)
    sup = Supervisor("sup", [probe.spec("a")], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await sup.add_child(probe.spec("late", mailbox=mailbox))
        assert sup.children == ["a", "late"]
        assert child_state(sup, "late") is ChildState.RUNNING
        with pytest.raises(DuplicateChild):
            await sup.add_child(probe.spec("late"))
        with pytest.raises(ChildStartFailed, match="'broken' failed to start"):
            await sup.add_child(probe.spec("broken", fail_on_start=True))
        assert sup.children == ["a", "late"]
        mailbox.address.send_nowait("unread")
        await sup.remove_child("late")
        assert sup.children == ["a"]
        assert probe.events("end", "late")
        with pytest.raises(MailboxClosed):
            mailbox.address.send_nowait("too late")
        sup.request_stop()


async def test_a_request_queued_behind_a_stop_fails_clearly(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("a")])
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        sup.request_stop()
        with pytest.raises(SupervisorNotRunning, match="supervisor 'sup' stopped"):
            await sup.add_child(probe.spec("b"))
    assert probe.starts("b") == 0


async def test_a_child_added_to_a_one_for_all_supervisor_joins_its_restarts(probe, autojump_clock):
    sup = supervisor(probe, "a", RestartStrategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await sup.add_child(probe.spec("b"))
        probe.crash("a")
        await settle()
        assert [probe.starts("a"), probe.starts("b")] == [2, 2]
        sup.request_stop()


# ------------------------------------------------------------- exceptions and cancels


async def test_failure_inside_a_childs_own_nursery_is_reported_as_that_childs_error(
    autojump_clock,
):
    async def parent(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if inc.restarts:
            await trio.sleep_forever()

        async def helper() -> None:
            raise ValueError("helper broke")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(helper)
            await trio.sleep_forever()

    sup = Supervisor("sup", [ChildSpec("parent", parent)], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await settle()
        (child,) = sup.snapshot().children
        assert child.restarts == 1
        assert child.last_error == "ValueError: helper broke"
        sup.request_stop()


async def test_keyboard_interrupt_in_a_child_is_never_swallowed(autojump_clock):
    async def rude(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        raise KeyboardInterrupt

    sup = Supervisor("sup", [ChildSpec("rude", rude)], backoff=NO_BACKOFF)
    with pytest.raises(BaseExceptionGroup) as raised:
        await sup.run()
    assert raised.value.subgroup(KeyboardInterrupt) is not None


async def test_cancelling_run_cancels_every_child(probe, autojump_clock):
    sup = supervisor(probe, "ab", RestartStrategy.ONE_FOR_ONE)
    with trio.move_on_after(5):
        await sup.run()
    assert {h.child for h in probe.events("end")} == {"a", "b"}
    assert trio.current_time() == 5.0
    assert probe.starts("a") == 1  # a cancelled child is not "failed" and not restarted
    assert [c.state for c in sup.snapshot().children] == [ChildState.STOPPED] * 2


# ------------------------------------------------------------------- fault injection


async def test_a_crashed_child_is_restarted_with_the_injected_error_as_its_failure(
    probe, autojump_clock
):
    sup = Supervisor("sup", [probe.spec("x")], backoff=NO_BACKOFF)
    injected = ValueError("chaos")
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        await trio.sleep(2)
        sup.crash_child("x", injected)
        await settle()
        assert probe.incarnations["x"][1].last_failure is injected
        assert probe.events("end", "x")[0].at == 2.0
        (child,) = sup.snapshot().children
        assert (child.state, child.restarts) == (ChildState.RUNNING, 1)
        assert child.last_error == "ValueError: chaos"
        assert sup.snapshot().restarts_in_window == 1
        sup.request_stop()


async def test_a_child_in_a_sub_supervisor_is_found_and_crashed_by_its_own_supervisor(
    probe, autojump_clock
):
    inner = Supervisor("inner", [probe.spec("leaf")], backoff=NO_BACKOFF)
    root = Supervisor("root", [probe.spec("top"), inner.child_spec()], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, root)
        root.crash_child("leaf", RuntimeError("deep chaos"))
        await settle()
        assert str(probe.incarnations["leaf"][1].last_failure) == "deep chaos"
        top, inner_child = root.snapshot().children
        assert (top.restarts, inner_child.restarts) == (0, 0)
        (leaf,) = inner_child.subtree.children
        assert (leaf.state, leaf.restarts) == (ChildState.RUNNING, 1)
        root.request_stop()


async def test_unread_messages_survive_a_crash_and_reach_the_next_incarnation(autojump_clock):
    mailbox = Mailbox("worker", capacity=10)
    handled: list[tuple[int, Any]] = []

    async def worker(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for message in inc.mailbox:
            handled.append((inc.restarts, message))
            await trio.sleep(10)

    sup = Supervisor("sup", [ChildSpec("worker", worker, mailbox=mailbox)], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        for m in range(3):
            sup.address("worker").send_nowait(m)
        await trio.sleep(1)  # the worker took 0 and is busy with it
        sup.crash_child("worker", RuntimeError("chaos"))
        await trio.sleep(30)
        assert handled == [(0, 0), (1, 1), (1, 2)]  # 0 was in hand, as in a real crash
        sup.request_stop()


async def test_a_crashed_child_unwinds_its_finally_blocks_and_context_managers(autojump_clock):
    unwound: list[str] = []

    @contextlib.asynccontextmanager
    async def resource() -> AsyncIterator[None]:
        try:
            yield
        finally:
            unwound.append("resource closed")

    async def child(inc: Incarnation, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        if inc.restarts:
            await trio.sleep_forever()
        try:
            async with resource():
                await trio.sleep_forever()
        finally:
            unwound.append("finally ran")

    sup = Supervisor("sup", [ChildSpec("child", child)], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        sup.crash_child("child", RuntimeError("chaos"))
        await settle()
        assert unwound == ["resource closed", "finally ran"]
        sup.request_stop()


async def test_crashing_an_unknown_or_not_running_child_is_an_error(probe, autojump_clock):
    sup = Supervisor(
        "sup",
        [probe.spec("x", ready_after=5), probe.spec("t", Restart.TRANSIENT)],
        backoff=Backoff(min_s=10, max_s=10, jitter=0),
        intensity=Intensity(1, 60.0),
    )
    with pytest.raises(UnknownChild, match="no child named 'nope' under supervisor 'sup'"):
        sup.crash_child("nope", RuntimeError("chaos"))
    with pytest.raises(SupervisorNotRunning, match="supervisor 'sup' is stopped"):
        sup.crash_child("x", RuntimeError("chaos"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sup.run)
        await trio.sleep(1)
        with pytest.raises(ChildNotRunning, match="child 'x' of supervisor 'sup' is starting"):
            sup.crash_child("x", RuntimeError("chaos"))
        await trio.sleep(5)
        assert child_state(sup, "x") is ChildState.RUNNING  # the refused crash did nothing
        probe.crash("x")
        probe.exit("t")
        await settle()
        with pytest.raises(ChildNotRunning, match=r"'x' .* is backing off, not running"):
            sup.crash_child("x", RuntimeError("chaos"))
        with pytest.raises(ChildNotRunning, match=r"'t' .* is stopped, not running") as raised:
            sup.crash_child("t", RuntimeError("chaos"))
        assert raised.value.state is ChildState.STOPPED
        sup.request_stop()


async def test_the_first_exit_wins_over_later_or_repeated_crash_requests(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("x")], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.crash("x")  # wakes the child, which raises before its next checkpoint
        sup.crash_child("x", ValueError("too late"))
        await settle()
        assert str(probe.incarnations["x"][1].last_failure) == "x crashed"
        first = ValueError("first")
        sup.crash_child("x", first)
        sup.crash_child("x", ValueError("second"))
        await settle()
        assert probe.incarnations["x"][2].last_failure is first
        assert probe.starts("x") == 3
        sup.request_stop()


async def test_crashing_beyond_the_intensity_makes_the_supervisor_give_up(probe, autojump_clock):
    sup = Supervisor("sup", [probe.spec("x")], intensity=Intensity(2, 10.0), backoff=NO_BACKOFF)
    with pytest.RaisesGroup(SupervisorGaveUp) as raised:
        async with trio.open_nursery() as nursery:
            await start(nursery, sup)
            for n in range(3):
                sup.crash_child("x", RuntimeError(f"chaos {n}"))
                await settle()
    (gave_up,) = raised.value.exceptions
    assert gave_up.reason == "more than 2 restarts within 10 s"
    assert [str(f.error) for f in gave_up.failures] == ["chaos 0", "chaos 1", "chaos 2"]
    assert sup.state == "gave_up"
    assert probe.starts("x") == 3


async def test_under_rest_for_one_a_crash_restarts_the_later_siblings_too(probe, autojump_clock):
    sup = supervisor(probe, "abcd", RestartStrategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        del probe.log[:]
        sup.crash_child("b", RuntimeError("chaos"))
        await settle()
        assert probe.sequence("start", "end") == [
            ("end", "b"),
            ("end", "d"),
            ("end", "c"),
            ("start", "b"),
            ("start", "c"),
            ("start", "d"),
        ]
        children = {c.name: (c.restarts, c.last_error) for c in sup.snapshot().children}
        assert children == {
            "a": (0, None),
            "b": (1, "RuntimeError: chaos"),
            "c": (1, None),
            "d": (1, None),
        }
        sup.request_stop()


# ---------------------------------------------------------------------- introspection


async def test_snapshot_shows_states_restarts_errors_uptime_and_mailboxes(probe, autojump_clock):
    inner = Supervisor("inner", [probe.spec("leaf")], backoff=NO_BACKOFF)
    sup = Supervisor(
        "root",
        [probe.spec("box", mailbox=Mailbox("box", 8), labels={"venue": "sim"}), inner.child_spec()],
        backoff=Backoff(min_s=30, max_s=30, jitter=0),
        intensity=Intensity(1, 60.0),
    )
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        sup.address("box").send_nowait(1)
        sup.address("box").put_latest("k", 1)
        sup.address("box").put_latest("k", 2)
        await trio.sleep(4)
        probe.crash("leaf")
        probe.crash("box")
        await settle()
        snap = sup.snapshot()
        box, inner_child = snap.children
        assert box.state is ChildState.BACKING_OFF
        assert box.last_error == "RuntimeError: box crashed"
        assert box.labels == {"venue": "sim"}
        assert (box.mailbox.depth, box.mailbox.superseded) == (2, 1)
        assert inner_child.state is ChildState.RUNNING
        assert inner_child.uptime_s == 4.0
        leaf = inner_child.subtree.children[0]
        assert (leaf.name, leaf.restarts, leaf.state) == ("leaf", 1, ChildState.RUNNING)
        assert [path for path, _ in snap.walk()] == ["root/box", "root/inner", "root/inner/leaf"]
        assert snap.gave_up_anywhere() == []
        sup.request_stop()


async def test_lifecycle_is_logged_as_structured_events(probe, autojump_clock, caplog):
    caplog.set_level(logging.INFO, logger="supervision")
    sup = Supervisor("sup", [probe.spec("x")], intensity=Intensity(0, 5.0), backoff=NO_BACKOFF)
    with pytest.RaisesGroup(SupervisorGaveUp):
        async with trio.open_nursery() as nursery:
            await start(nursery, sup)
            probe.crash("x")
    events = [r.event for r in caplog.records]
    assert events == ["child_started", "child_failed", "supervisor_gave_up"]
    failed = caplog.records[1]
    assert failed.fields == {"supervisor": "sup", "child": "x", "error": "RuntimeError: x crashed"}


async def test_restart_and_stop_events_are_logged(probe, autojump_clock, caplog):
    caplog.set_level(logging.INFO, logger="supervision")
    sup = Supervisor("sup", [probe.spec("x")], backoff=NO_BACKOFF)
    async with trio.open_nursery() as nursery:
        await start(nursery, sup)
        probe.exit("x")
        await settle()
        sup.request_stop()
    assert [r.event for r in caplog.records] == [
        "child_started",
        "child_exited",
        "child_restarting",
        "child_started",
        "supervisor_stopping",
        "child_stopped",
    ]


async def test_a_supervisor_can_be_run_again_after_it_stopped(probe, autojump_clock):
    sup = supervisor(probe, "a", RestartStrategy.ONE_FOR_ONE)
    for _ in range(2):
        async with trio.open_nursery() as nursery:
            await start(nursery, sup)
            with pytest.raises(RuntimeError, match="supervisor 'sup' is already running"):
                await sup.run()
            sup.request_stop()
    assert probe.starts("a") == 2
