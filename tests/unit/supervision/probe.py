"""Children whose lives a test controls, and a record of what happened to them."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from supervision import ChildSpec, ChildState, Incarnation, Restart, Supervisor


def child_state(supervisor: Supervisor, name: str) -> ChildState:
    """The state of ``supervisor``'s child ``name``, as its snapshot shows it."""
    (child,) = [child for child in supervisor.snapshot().children if child.name == name]
    return child.state


@attrs.frozen
class Happening:
    at: float
    what: str  # "start", "ready", "end"
    child: str
    restarts: int = 0
    detail: Any = None


class Probe:
    """Builds child specs and lets the test tell each running child what to do next."""

    def __init__(self) -> None:
        self.log: list[Happening] = []
        self._orders: dict[str, tuple[trio.Event, list[str]]] = {}
        self.incarnations: dict[str, list[Incarnation]] = {}

    def spec(
        self,
        name: str,
        restart: Restart = Restart.PERMANENT,
        *,
        ready_after: float = 0.0,
        shutdown_timeout_s: float = 5.0,
        start_timeout_s: float = 30.0,
        cooperative: bool = True,
        fail_on_start: bool = False,
        **kwargs: Any,
    ) -> ChildSpec:
        async def entry(inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            self.incarnations.setdefault(name, []).append(inc)
            self.record("start", name, inc.restarts, inc.last_failure)
            if ready_after:
                await trio.sleep(ready_after)
            if fail_on_start:
                raise RuntimeError(f"{name} cannot start")
            task_status.started()
            self.record("ready", name, inc.restarts)
            try:
                if cooperative:
                    with inc.cancel_on_stop():
                        order = await self._next_order(name)
                else:
                    order = await self._next_order(name)
            finally:
                self.record("end", name, inc.restarts)
            if order == "crash":
                raise RuntimeError(f"{name} crashed")
            # "exit": return normally

        return ChildSpec(
            name=name,
            entry=entry,
            restart=restart,
            shutdown_timeout_s=shutdown_timeout_s,
            start_timeout_s=start_timeout_s,
            **kwargs,
        )

    def record(self, what: str, child: str, restarts: int = 0, detail: Any = None) -> None:
        self.log.append(Happening(trio.current_time(), what, child, restarts, detail))

    async def _next_order(self, name: str) -> str:
        event, orders = self._orders.setdefault(name, (trio.Event(), []))
        if not orders:
            await event.wait()
        self._orders.pop(name, None)
        return orders[0]

    def order(self, name: str, what: str) -> None:
        """Tell child ``name`` to ``crash`` or ``exit`` (it must be waiting for orders)."""
        event, orders = self._orders.setdefault(name, (trio.Event(), []))
        orders.append(what)
        event.set()

    def crash(self, name: str) -> None:
        self.order(name, "crash")

    def exit(self, name: str) -> None:
        self.order(name, "exit")

    def events(self, what: str | None = None, child: str | None = None) -> list[Happening]:
        return [
            h
            for h in self.log
            if (what is None or h.what == what) and (child is None or h.child == child)
        ]

    def sequence(self, *whats: str) -> list[tuple[str, str]]:
        """(what, child) pairs in order, restricted to the given kinds of happening."""
        return [(h.what, h.child) for h in self.log if h.what in whats]

    def starts(self, child: str) -> int:
        return len(self.events("start", child))
