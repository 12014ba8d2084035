"""The dashboard's event stream, pure: the log of numbered events a reconnecting page
replays, and the differ that turns two samples of ``/status`` into events.

Statuses are handled as plain data (``msgspec.to_builtins`` of the ``/status`` object),
field by field, so that a field added to it is carried without a change here. The events
of one sample come in this order: ``health`` (top-level keys other than ``tasks``,
``totals``, ``uptime_s`` and ``recent_fills``; ``alerts`` without its ``recent`` list),
then per task ``task`` or ``quote`` (only quote-driven fields changed) followed by
``transition`` when its state changed, ``task_removed``, ``order`` and ``order_done``,
``fill``, ``alert``, and ``totals``. :func:`apply` is what a page does with them: applied
in order to a snapshot's status they give the newest sample's, as :func:`steady` has it.

What changes at every sample without anything happening (the uptimes, and the mailbox
counters of every actor in the supervision tree) is left out of the samples
(:func:`steady`): sent on, it would be most of the stream for nothing a page shows. One
such value stays, because the page shows it: each feed's ``last_data_age_s`` (how long
since it last heard from its venue), which makes every sample of a running system carry
a ``health`` event.
"""

from __future__ import annotations

import copy
import secrets
from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Any

import attrs
import msgspec

LOG_SIZE = 20_000
"""How many of the newest events the log keeps for pages that reconnect."""
RECENT_KEEP = 100
"""How many fills and alerts the status lists (its newest)."""

QUOTE_FIELDS = frozenset(
    {
        "spot_bid",
        "spot_ask",
        "futures_bid",
        "futures_ask",
        "entry_cost_pct",
        "unrealized_pnl_usdt",
        "total_pnl_usdt",
        "pnl_pct",
        "net_delta_usdt",
    }
)
"""A task's fields that only quotes move: a change of these alone is a ``quote`` event."""
NOT_HEALTH = frozenset({"tasks", "totals", "uptime_s", "recent_fills"})

Status = dict[str, Any]
_encode = msgspec.json.Encoder().encode


@attrs.frozen
class Event:
    seq: int
    frame: bytes
    """The event as the stream sends it: ``id``, ``event`` and ``data`` lines."""
    ends_at: int
    """How many bytes the log's frames, from the first this process sent, add up to
    with this one: what a replay from one event to another weighs is a subtraction."""


def frame_of(run: str, seq: int, kind: str, data: Any) -> bytes:
    return b"id: %s.%d\nevent: %s\ndata: %s\n\n" % (
        run.encode(),
        seq,
        kind.encode(),
        _encode(data),
    )


def parse_event_id(text: str | None) -> tuple[str, int] | None:
    """``(run, seq)`` of a ``Last-Event-ID``; ``None`` for none or one not of that form."""
    if not text:
        return None
    run, dot, seq = text.strip().rpartition(".")
    if not dot or not run or not seq.isdigit():
        return None
    return run, int(seq)


@attrs.define(eq=False)
class EventLog:
    """The newest ``size`` events of this process (``run``: a random token per process
    start), numbered from 1."""

    run: str = attrs.field(factory=lambda: secrets.token_hex(6))
    size: int = LOG_SIZE
    seq: int = 0
    """The newest event's number (0 before the first)."""
    sent_bytes: int = 0
    """The size of every frame this log was given, added up."""
    events: deque[Event] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.events = deque(maxlen=self.size)

    def append(self, kind: str, data: dict[str, Any]) -> Event:
        self.seq += 1
        frame = frame_of(self.run, self.seq, kind, data)
        self.sent_bytes += len(frame)
        event = Event(self.seq, frame, self.sent_bytes)
        self.events.append(event)
        return event

    def extend(self, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for kind, data in events:
            self.append(kind, data)

    def after(self, run: str, seq: int) -> list[Event] | None:
        """Every event after ``run``'s ``seq``; ``None`` when a snapshot is needed instead:
        ``run`` is another process's, or events after ``seq`` are no longer kept (or
        ``seq`` is one this log never reached)."""
        if run != self.run or seq > self.seq:
            return None
        if seq == self.seq:
            return []
        oldest = self.events[0].seq if self.events else self.seq + 1
        if seq < oldest - 1:
            return None
        return list(islice(self.events, seq - oldest + 1, None))

    def bytes_after(self, run: str, seq: int) -> int | None:
        """How many bytes the frames after ``run``'s ``seq`` add up to (what
        :meth:`after` gives, weighed without being gathered); ``None`` where it gives
        ``None``."""
        if run != self.run or seq > self.seq:
            return None
        if seq == self.seq:
            return 0
        oldest = self.events[0].seq if self.events else self.seq + 1
        if seq < oldest - 1:
            return None
        first = self.events[seq - oldest + 1]
        return self.sent_bytes - (first.ends_at - len(first.frame))


# --------------------------------------------------------------------------- the differ


def steady(status: Status) -> Status:
    """``status`` without what moves at every sample by itself: ``uptime_s``, and each
    supervised child's ``uptime_s`` and ``mailbox`` counters (its state, restarts and
    last error stay)."""
    kept = {key: value for key, value in status.items() if key != "uptime_s"}
    if isinstance(kept.get("tree"), dict):
        kept["tree"] = _steady_tree(kept["tree"])
    return kept


def _steady_tree(tree: dict[str, Any]) -> dict[str, Any]:
    children = []
    for child in tree.get("children", ()):
        child = {k: v for k, v in child.items() if k not in _VOLATILE_CHILD}
        if isinstance(child.get("subtree"), dict):
            child["subtree"] = _steady_tree(child["subtree"])
        children.append(child)
    return {**tree, "children": children}


_VOLATILE_CHILD = frozenset({"uptime_s", "mailbox"})


def diff(before: Status, after: Status, at: float) -> list[tuple[str, dict[str, Any]]]:
    """The events that take a page from the status ``before`` to ``after`` (sampled at
    ``at``), in the order the module's docstring gives."""
    events: list[tuple[str, dict[str, Any]]] = []
    changes = {
        key: _health_value(key, value)
        for key, value in after.items()
        if key not in NOT_HEALTH
        and _health_value(key, value) != _health_value(key, before.get(key, _MISSING))
    }
    if changes:
        events.append(("health", {"at": at, "changes": changes}))
    old_tasks = {task["task_id"]: task for task in before.get("tasks", ())}
    new_tasks = {task["task_id"]: task for task in after.get("tasks", ())}
    for task_id, task in new_tasks.items():
        old = old_tasks.get(task_id)
        if old is None:
            fields = {k: ([] if k == "orders" else v) for k, v in task.items()}
            events.append(("task", {"at": at, "task_id": task_id, "changes": fields}))
            continue
        fields = {k: v for k, v in task.items() if k != "orders" and old.get(k, _MISSING) != v}
        if fields:
            kind = "quote" if fields.keys() <= QUOTE_FIELDS else "task"
            events.append((kind, {"at": at, "task_id": task_id, "changes": fields}))
        if "state" in fields:
            events.append(
                (
                    "transition",
                    {
                        "at": at,
                        "task_id": task_id,
                        "symbol": task.get("symbol"),
                        "from": old.get("state"),
                        "to": task["state"],
                    },
                )
            )
    events += [
        ("task_removed", {"at": at, "task_id": task_id})
        for task_id in old_tasks
        if task_id not in new_tasks
    ]
    for task_id, task in new_tasks.items():
        old_orders = {o["client_id"]: o for o in old_tasks.get(task_id, {}).get("orders", ())}
        new_orders = task.get("orders", ())
        events += [
            ("order", {"at": at, "task_id": task_id, "order": order})
            for order in new_orders
            if old_orders.get(order["client_id"]) != order
        ]
        kept = {order["client_id"] for order in new_orders}
        events += [
            ("order_done", {"at": at, "task_id": task_id, "client_id": client_id})
            for client_id in old_orders
            if client_id not in kept
        ]
    seen = {fill["fill_id"] for fill in before.get("recent_fills", ())}
    events += [
        ("fill", {"at": at, "fill": fill})
        for fill in after.get("recent_fills", ())
        if fill["fill_id"] not in seen
    ]
    raised = {alert["id"] for alert in _recent_alerts(before)}
    events += [
        ("alert", {"at": at, "alert": alert})
        for alert in _recent_alerts(after)
        if alert["id"] not in raised
    ]
    if "totals" in after and after["totals"] != before.get("totals", _MISSING):
        events.append(("totals", {"at": at, "totals": after["totals"]}))
    return events


_MISSING: Any = object()


def _health_value(key: str, value: Any) -> Any:
    """A top-level value as a ``health`` event carries it: ``alerts`` without ``recent``."""
    if key == "alerts" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "recent"}
    return value


def _recent_alerts(status: Status) -> list[dict[str, Any]]:
    alerts = status.get("alerts")
    return alerts.get("recent", []) if isinstance(alerts, dict) else []


# ------------------------------------------------------------------ applying the events


def apply(status: Status, kind: str, data: dict[str, Any]) -> None:
    """Apply one event to ``status`` in place, as a page does to its model."""
    if kind == "snapshot":
        status.clear()
        status.update(copy.deepcopy(data["status"]))
    elif kind == "health":
        for key, value in data["changes"].items():
            if key == "alerts" and isinstance(value, dict):
                # The page keeps the alerts it has; a status that had none starts a list.
                old = status.get("alerts")
                if not isinstance(old, dict):
                    value = {**value, "recent": []}
                elif "recent" in old:
                    value = {**value, "recent": old["recent"]}
            status[key] = copy.deepcopy(value)
    elif kind in ("task", "quote"):
        tasks = status.setdefault("tasks", [])
        task = next((t for t in tasks if t["task_id"] == data["task_id"]), None)
        if task is None:
            task = {}
            tasks.append(task)
        task.update(copy.deepcopy(data["changes"]))
    elif kind == "task_removed":
        status["tasks"] = [t for t in status.get("tasks", []) if t["task_id"] != data["task_id"]]
    elif kind in ("order", "order_done"):
        task = next(t for t in status["tasks"] if t["task_id"] == data["task_id"])
        orders = task.setdefault("orders", [])
        client_id = data["order"]["client_id"] if kind == "order" else data["client_id"]
        orders[:] = [o for o in orders if o["client_id"] != client_id]
        if kind == "order":
            orders.append(copy.deepcopy(data["order"]))
            orders.sort(key=lambda o: (o.get("created_ts", 0.0), o["client_id"]))
    elif kind == "fill":
        fills = status.setdefault("recent_fills", [])
        fills.append(copy.deepcopy(data["fill"]))
        del fills[:-RECENT_KEEP]
    elif kind == "alert":
        recent = status["alerts"].setdefault("recent", [])
        recent.append(copy.deepcopy(data["alert"]))
        del recent[:-RECENT_KEEP]
    elif kind == "totals":
        status["totals"] = copy.deepcopy(data["totals"])
    # ``transition`` only tells of a state its ``task`` event already set; ``bye`` ends.
