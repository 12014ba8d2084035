"""Mailboxes that belong to a supervisor and outlive the children that read them.

A :class:`Mailbox` is a child's single point of receipt, with two delivery disciplines:

* **FIFO** (:meth:`Mailbox.send`): bounded, ordered, never drops. When it is full the
  sender waits (backpressure); every such wait is counted and timed. Orders, fills and
  commands travel this way.
* **Conflating** (:meth:`Mailbox.put_latest`): keyed; a new value replaces an unread older
  value with the same key (the superseded value is counted), and the sender never waits.
  Quotes travel this way, so a slow reader always decides on the newest quote.

:meth:`Mailbox.receive` hands out FIFO messages before conflated ones, so an actor sees
the order updates it is owed before it looks at prices again. Conflated keys are served
oldest-first and a replaced value keeps its key's place in line.

The supervisor, not the child, holds the mailbox: messages sent while a child is down or
backing off wait for its next incarnation. Senders hold an :class:`Address`, which stays
valid across restarts and exposes only the sending side.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Any, final

import msgspec
import trio


class Stopping(BaseException):
    """Raised by :meth:`Mailbox.receive` once the supervisor has asked the reader to stop.

    It derives from :class:`BaseException` so that ``except Exception`` in actor code does
    not swallow it; the supervisor treats a child that ends with it as a normal exit.
    """


class MailboxClosed(Exception):
    """The mailbox's child was removed from its supervisor; nothing reads it any more."""


class MailboxStats(msgspec.Struct, frozen=True):
    """Counters of one mailbox, as shown in the supervision tree snapshot.

    ``depth`` is what waits to be read now (FIFO messages plus conflated keys); ``peak`` is
    the largest depth ever seen; ``superseded`` counts conflated values replaced before
    they were read (the only messages a mailbox ever drops); ``backpressure_waits`` and
    ``backpressure_wait_s`` count and time the sends that had to wait for room.
    """

    depth: int
    peak: int
    capacity: int
    sent: int
    received: int
    superseded: int
    backpressure_waits: int
    backpressure_wait_s: float


@final
class Mailbox:
    """A child's inbox: a bounded FIFO lane and a conflating lane, read by one receiver.

    ``capacity`` bounds the FIFO lane only; the conflating lane holds one value per key.
    """

    __slots__ = (
        "_backpressure_wait_s",
        "_backpressure_waits",
        "_closed",
        "_fifo",
        "_latest",
        "_peak",
        "_readers",
        "_received",
        "_reserved",
        "_senders",
        "_sent",
        "_stopping",
        "_superseded",
        "address",
        "capacity",
        "name",
    )

    def __init__(self, name: str, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox {name!r}: capacity must be at least 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self._fifo: deque[Any] = deque()
        self._latest: OrderedDict[Hashable, Any] = OrderedDict()
        self._readers: deque[trio.lowlevel.Task] = deque()
        """Receivers waiting for a message, the first woken first: a parking lot's duty,
        done without its generality because every message that finds its reader
        waiting wakes it here."""
        self._senders = trio.lowlevel.ParkingLot()
        # Slots promised to senders that were woken but have not run yet, so that a newly
        # arriving sender cannot take the room a parked one waited for.
        self._reserved = 0
        self._stopping = False
        self._closed = False
        self._peak = 0
        self._sent = 0
        self._received = 0
        self._superseded = 0
        self._backpressure_waits = 0
        self._backpressure_wait_s = 0.0
        self.address = Address(self)

    # ------------------------------------------------------------------ sending

    def send_nowait(self, message: Any) -> None:
        """Append ``message`` to the FIFO lane, or raise :class:`trio.WouldBlock` if full."""
        if self._closed:
            raise MailboxClosed(f"mailbox {self.name!r} is closed: its child was removed")
        if len(self._fifo) + self._reserved >= self.capacity or self._senders:
            raise trio.WouldBlock
        self._append(message)

    async def send(self, message: Any) -> None:
        """Append ``message`` to the FIFO lane, waiting for room if the lane is full.

        Never drops. Waits are counted and timed in :class:`MailboxStats`. Cancellation
        while waiting leaves the mailbox unchanged (the message was not sent).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise MailboxClosed(f"mailbox {self.name!r} is closed: its child was removed")
        if len(self._fifo) + self._reserved < self.capacity and not self._senders:
            self._append(message)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        self._backpressure_waits += 1
        began = trio.current_time()
        try:
            await self._senders.park()
        finally:
            self._backpressure_wait_s += trio.current_time() - began
        # Woken either by a receiver that reserved a slot for us or by close().
        if self._closed:
            raise MailboxClosed(f"mailbox {self.name!r} is closed: its child was removed")
        self._reserved -= 1
        self._append(message)

    @trio.lowlevel.enable_ki_protection
    def put_latest(self, key: Hashable, value: Any) -> None:
        """Offer ``value`` on the conflating lane under ``key``; never waits.

        An unread value under the same key is replaced (and counted as superseded).
        """
        if self._closed:
            raise MailboxClosed(f"mailbox {self.name!r} is closed: its child was removed")
        latest = self._latest
        if key in latest:
            self._superseded += 1
        self._sent += 1
        latest[key] = value
        depth = len(self._fifo) + len(latest)
        if depth > self._peak:
            self._peak = depth
        if self._readers:
            trio.lowlevel.reschedule(self._readers.popleft())

    @trio.lowlevel.enable_ki_protection
    def _append(self, message: Any) -> None:
        fifo = self._fifo
        fifo.append(message)
        self._sent += 1
        depth = len(fifo) + len(self._latest)
        if depth > self._peak:
            self._peak = depth
        if self._readers:
            trio.lowlevel.reschedule(self._readers.popleft())

    # ---------------------------------------------------------------- receiving

    def receive_nowait(self) -> Any:
        """Take the next message, or raise :class:`trio.WouldBlock` if there is none.

        Raises :class:`Stopping` once the supervisor has asked this incarnation to stop.
        """
        if self._stopping:
            raise Stopping
        if self._fifo:
            return self._take_fifo()
        if self._latest:
            self._received += 1
            return self._latest.popitem(last=False)[1]
        raise trio.WouldBlock

    async def receive(self) -> Any:
        """Take the next message, waiting for one: FIFO messages first, then conflated ones.

        Raises :class:`Stopping` once the supervisor has asked this incarnation to stop;
        unread messages then stay for the next incarnation.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        # Looked at before taking, not by catching WouldBlock: a reader that keeps up finds
        # its mailbox empty on nearly every message, and raising costs more than looking.
        if self._fifo or self._latest or self._stopping:
            message = self.receive_nowait()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return message
        while True:
            await self._wait_for_message()
            if self._fifo or self._latest or self._stopping:
                return self.receive_nowait()
            # another receiver took it first

    @trio.lowlevel.enable_ki_protection
    async def _wait_for_message(self) -> None:
        """Wait until a sender or a stop request wakes this reader (or it is cancelled)."""
        task = trio.lowlevel.current_task()
        readers = self._readers
        readers.append(task)

        def abort(_: Any) -> trio.lowlevel.Abort:
            readers.remove(task)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def __aiter__(self) -> Mailbox:
        return self

    async def __anext__(self) -> Any:
        """Iteration ends, instead of raising :class:`Stopping`, when a stop is requested."""
        try:
            return await self.receive()
        except Stopping:
            raise StopAsyncIteration from None

    def take_all_nowait(self) -> list[Any]:
        """Take every message waiting, FIFO lane first, even after a stop was requested.

        For a child that must finish its work before it stops (a writer flushing to
        disk): messages left unread otherwise wait for the next incarnation.
        """
        taken = [self._take_fifo() for _ in range(len(self._fifo))]
        taken.extend(self._latest.values())
        self._received += len(self._latest)
        self._latest.clear()
        return taken

    def _take_fifo(self) -> Any:
        message = self._fifo.popleft()
        self._received += 1
        if self._senders:
            self._reserved += 1
            self._senders.unpark()
        return message

    # ------------------------------------------------------- supervisor's side

    @trio.lowlevel.enable_ki_protection
    def request_stop(self) -> None:
        """Make the current reader's :meth:`receive` raise :class:`Stopping`."""
        self._stopping = True
        readers = self._readers
        while readers:
            trio.lowlevel.reschedule(readers.popleft())

    def resume(self) -> None:
        """Clear a stop request before a new incarnation starts reading."""
        self._stopping = False

    def close(self) -> int:
        """Refuse further messages, wake blocked senders; returns how many were unread."""
        self._closed = True
        self._senders.unpark_all()
        self.request_stop()
        unread = len(self._fifo) + len(self._latest)
        self._fifo.clear()
        self._latest.clear()
        return unread

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._fifo) + len(self._latest)

    def stats(self) -> MailboxStats:
        return MailboxStats(
            depth=len(self._fifo) + len(self._latest),
            peak=self._peak,
            capacity=self.capacity,
            sent=self._sent,
            received=self._received,
            superseded=self._superseded,
            backpressure_waits=self._backpressure_waits,
            backpressure_wait_s=self._backpressure_wait_s,
        )


@final
class Address:
    """The sending side of a :class:`Mailbox`: what other actors hold.

    An address stays valid across restarts of the child that reads the mailbox.
    """

    __slots__ = ("name", "put_latest", "send", "send_nowait")

    def __init__(self, mailbox: Mailbox) -> None:
        self.name = mailbox.name
        self.send = mailbox.send
        self.send_nowait = mailbox.send_nowait
        self.put_latest = mailbox.put_latest

    def __repr__(self) -> str:
        return f"<Address {self.name!r}>"
