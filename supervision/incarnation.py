"""One run of a child, as the child sees it."""

from __future__ import annotations

from typing import final

import trio

from supervision.mailbox import Mailbox


@final
class Incarnation:
    """What a child's entry point is given each time it is started.

    ``restarts`` is 0 on the first start and counts restarts after that;
    ``last_failure`` is the exception that ended the previous incarnation abnormally
    (``None`` if it never failed), so a restarted child can recover its state before it
    resumes. ``mailbox`` is the supervisor-owned inbox (``None`` if the spec has none).

    Stopping is cooperative first: :attr:`stopping` is set, :meth:`cancel_on_stop`
    scopes are cancelled and the mailbox's :meth:`~Mailbox.receive` raises
    :class:`~supervision.mailbox.Stopping`; a child still running after its shutdown
    timeout is cancelled outright.
    """

    __slots__ = ("_stop_scopes", "last_failure", "mailbox", "name", "restarts", "stopping")

    def __init__(
        self,
        name: str,
        restarts: int,
        last_failure: BaseException | None,
        mailbox: Mailbox | None,
    ) -> None:
        self.name = name
        self.restarts = restarts
        self.last_failure = last_failure
        self.mailbox = mailbox
        self.stopping = trio.Event()
        self._stop_scopes: list[trio.CancelScope] = []

    @property
    def is_restart(self) -> bool:
        return self.restarts > 0

    def cancel_on_stop(self) -> trio.CancelScope:
        """A cancel scope that is cancelled when this incarnation is asked to stop.

        Wrap waits that have nothing to finish (a socket read, a sleep) in it so a stop
        takes effect at once; leave outside it the work that should complete.
        """
        scope = trio.CancelScope()
        if self.stopping.is_set():
            scope.cancel()
        else:
            self._stop_scopes.append(scope)
        return scope

    def request_stop(self) -> None:
        """Called by the supervisor; idempotent."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        for scope in self._stop_scopes:
            scope.cancel()
        self._stop_scopes.clear()
        if self.mailbox is not None:
            self.mailbox.request_stop()
