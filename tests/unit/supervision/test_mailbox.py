"""Mailboxes: FIFO never drops and applies backpressure; conflation keeps the newest."""

from __future__ import annotations

from collections import OrderedDict, deque

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from supervision import Mailbox, MailboxClosed, Stopping


async def test_fifo_keeps_order_and_never_drops_under_backpressure(autojump_clock):
    mailbox = Mailbox("m", capacity=2)
    received: list[int] = []

    async def slow_reader() -> None:
        for _ in range(10):
            received.append(await mailbox.receive())
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow_reader)
        for n in range(10):
            await mailbox.address.send(n)
    assert received == list(range(10))
    stats = mailbox.stats()
    assert (stats.sent, stats.received, stats.superseded) == (10, 10, 0)
    assert stats.backpressure_waits > 0
    assert stats.backpressure_wait_s > 0
    assert stats.peak == 2


async def test_blocked_senders_are_served_in_arrival_order(autojump_clock):
    mailbox = Mailbox("m", capacity=1)
    mailbox.send_nowait("first")
    async with trio.open_nursery() as nursery:
        for name in ("s1", "s2", "s3"):
            nursery.start_soon(mailbox.send, name)
            await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.WouldBlock):
            mailbox.send_nowait("barging in")
        got = [await mailbox.receive() for _ in range(4)]
    assert got == ["first", "s1", "s2", "s3"]
    assert mailbox.stats().backpressure_waits == 3


async def test_a_cancelled_blocked_send_sends_nothing(autojump_clock):
    mailbox = Mailbox("m", capacity=1)
    mailbox.send_nowait(1)
    with trio.move_on_after(5):
        await mailbox.send(2)
    assert mailbox.receive_nowait() == 1
    with pytest.raises(trio.WouldBlock):
        mailbox.receive_nowait()
    mailbox.send_nowait(3)  # the slot is free again
    assert mailbox.receive_nowait() == 3


async def test_conflation_keeps_only_the_newest_value_per_key_in_first_arrival_order():
    mailbox = Mailbox("quotes")
    address = mailbox.address
    address.put_latest("BTC", 1)
    address.put_latest("ETH", 10)
    address.put_latest("BTC", 2)
    address.put_latest("BTC", 3)
    assert [await mailbox.receive(), await mailbox.receive()] == [3, 10]
    stats = mailbox.stats()
    assert (stats.superseded, stats.sent, stats.received, stats.depth) == (2, 4, 2, 0)


async def test_fifo_messages_are_received_before_conflated_ones():
    mailbox = Mailbox("m")
    mailbox.put_latest("q", "quote")
    mailbox.send_nowait("fill")
    assert mailbox.receive_nowait() == "fill"
    assert mailbox.receive_nowait() == "quote"


async def test_a_waiting_reader_is_woken_by_either_lane(autojump_clock):
    mailbox = Mailbox("m")
    async with trio.open_nursery() as nursery:
        got: list[str] = []

        async def read_two() -> None:
            got.append(await mailbox.receive())
            got.append(await mailbox.receive())

        nursery.start_soon(read_two)
        await trio.sleep(1)
        mailbox.put_latest("k", "quote")
        await trio.sleep(1)
        await mailbox.send("fill")
    assert got == ["quote", "fill"]


async def test_waiting_readers_are_woken_in_turn_and_a_cancelled_one_is_skipped(autojump_clock):
    mailbox = Mailbox("m")
    got: list[tuple[str, str]] = []

    async def read(name: str, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            got.append((name, await mailbox.receive()))

    async with trio.open_nursery() as nursery:
        await nursery.start(read, "first")
        second = await nursery.start(read, "second")
        await nursery.start(read, "third")
        await trio.sleep(1)
        second.cancel()
        await trio.sleep(1)
        mailbox.put_latest("k", "a")
        await trio.sleep(1)
        await mailbox.send("b")
    assert got == [("first", "a"), ("third", "b")]
    assert len(mailbox) == 0


async def test_stop_request_ends_reading_and_keeps_messages_for_the_next_reader(autojump_clock):
    mailbox = Mailbox("m")
    async with trio.open_nursery() as nursery:

        async def reader() -> None:
            with pytest.raises(Stopping):
                await mailbox.receive()

        nursery.start_soon(reader)
        await trio.sleep(1)
        mailbox.request_stop()
    mailbox.send_nowait("kept")
    seen = [m async for m in mailbox]  # iteration ends at once: still stopping
    assert seen == []
    mailbox.resume()
    assert mailbox.receive_nowait() == "kept"


async def test_closing_refuses_new_messages_and_wakes_blocked_senders(autojump_clock):
    mailbox = Mailbox("gone", capacity=1)
    mailbox.send_nowait(1)
    async with trio.open_nursery() as nursery:

        async def blocked_sender() -> None:
            with pytest.raises(MailboxClosed, match="mailbox 'gone' is closed"):
                await mailbox.send(2)

        nursery.start_soon(blocked_sender)
        await trio.sleep(1)
        assert mailbox.close() == 1
    with pytest.raises(MailboxClosed):
        mailbox.put_latest("k", 1)
    assert mailbox.closed


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="mailbox 'm': capacity must be at least 1, got 0"):
        Mailbox("m", capacity=0)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 1000)),
        st.tuples(st.just("put"), st.tuples(st.sampled_from("abc"), st.integers(0, 1000))),
        st.tuples(st.just("receive"), st.none()),
    ),
    max_size=60,
)


@given(capacity=st.integers(1, 4), ops=operations)
def test_mailbox_matches_a_simple_model(capacity, ops):
    """Any interleaving of non-blocking operations behaves like a deque plus a dict."""
    mailbox = Mailbox("m", capacity=capacity)
    fifo: deque[int] = deque()
    latest: OrderedDict[str, int] = OrderedDict()
    superseded = 0
    for op, arg in ops:
        if op == "send":
            if len(fifo) < capacity:
                mailbox.send_nowait(arg)
                fifo.append(arg)
            else:
                with pytest.raises(trio.WouldBlock):
                    mailbox.send_nowait(arg)
        elif op == "put":
            key, value = arg
            superseded += key in latest
            latest[key] = value
            mailbox.put_latest(key, value)
        elif fifo:
            assert mailbox.receive_nowait() == fifo.popleft()
        elif latest:
            assert mailbox.receive_nowait() == latest.popitem(last=False)[1]
        else:
            with pytest.raises(trio.WouldBlock):
                mailbox.receive_nowait()
        assert len(mailbox) == len(fifo) + len(latest)
    assert mailbox.stats().superseded == superseded


async def test_take_all_nowait_empties_both_lanes_even_when_stopping():
    mailbox = Mailbox("writer", capacity=4)
    mailbox.send_nowait("a")
    mailbox.address.put_latest("k", 1)
    mailbox.address.put_latest("k", 2)
    mailbox.send_nowait("b")
    mailbox.request_stop()
    assert mailbox.take_all_nowait() == ["a", "b", 2]
    assert len(mailbox) == 0
    assert mailbox.stats().received == 3
