"""The event log and the status differ: events applied to a snapshot give the newest
status exactly, however the statuses between changed; a reconnect replays exactly what
it missed."""

from __future__ import annotations

import copy
import itertools
import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.dashboard.events import RECENT_KEEP, EventLog, apply, diff, parse_event_id, steady
from actors.runtime.ops.status import status_of
from tests.unit.actors.sample_statistics import T0, statistics, strategy

STATES = ["idle", "entering", "position_open", "exiting", "stopped"]
QUOTE = ["spot_bid", "spot_ask", "futures_bid", "futures_ask", "entry_cost_pct", "pnl_pct"]
OTHER = ["cycles", "realized_pnl_usdt", "paused_reason", "position_qty", "restarts"]
prices = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


def base_status(with_orders: bool) -> dict:
    return {
        "mode": "paper",
        "uptime_s": 0.0,
        "healthy": True,
        "health": "ok",
        "tasks": [],
        "totals": {"realized_pnl_usdt": 0.0, "open_positions": 0},
        "feeds": [{"name": "feed-mexc", "state": "fresh"}],
        "tree": {"name": "basis", "children": [child("writer", 0.0)]},
        "recent_fills": [],
        "alerts": {"open": 0, "recent": []},
        "_with_orders": with_orders,
    }


def child(name: str, uptime_s: float, depth: int = 0, restarts: int = 0) -> dict:
    """A supervised child as the tree shows it: its uptime and mailbox counters move by
    themselves, its state and restarts only when something happens."""
    mailbox = {"depth": depth, "sent": int(uptime_s * 10), "received": int(uptime_s * 10)}
    return {
        "name": name,
        "state": "running",
        "restarts": restarts,
        "uptime_s": uptime_s,
        "mailbox": mailbox,
        "subtree": None,
    }


def new_task(n: int, with_orders: bool) -> dict:
    task = {"task_id": f"t{n}", "symbol": f"S{n}/USDT", "state": "idle", "cycles": 0}
    task.update(dict.fromkeys(QUOTE + OTHER[1:], None))
    if with_orders:
        task["orders"] = []
    return task


@st.composite
def histories(draw) -> list[dict]:
    with_orders = draw(st.booleans())
    status = base_status(with_orders)
    statuses = [copy.deepcopy(status)]
    counter: dict = {"task": 0, "fill": 0, "alert": 0, "order": 0}
    for step in range(draw(st.integers(1, 12))):
        status = copy.deepcopy(status)
        status["uptime_s"] = float(step)
        writer = status["tree"]["children"][0]
        writer.update(child("writer", float(step), draw(st.integers(0, 3)), writer["restarts"]))
        for _ in range(draw(st.integers(0, 6))):
            change = draw(
                st.sampled_from(
                    [
                        "add",
                        "remove",
                        "quote",
                        "field",
                        "state",
                        "order",
                        "fills",
                        "alerts",
                        "health",
                        "totals",
                        "alerts_none",
                    ]
                )
            )
            tasks = status["tasks"]
            if change == "add" or (not tasks and change in ("remove", "quote", "field", "state")):
                counter["task"] += 1
                tasks.append(new_task(counter["task"], with_orders))
            elif change == "remove":
                tasks.pop(draw(st.integers(0, len(tasks) - 1)))
            elif change in ("quote", "field", "state"):
                task = tasks[draw(st.integers(0, len(tasks) - 1))]
                if change == "quote":
                    task[draw(st.sampled_from(QUOTE))] = draw(prices)
                elif change == "field":
                    task[draw(st.sampled_from(OTHER))] = draw(prices)
                else:
                    task["state"] = draw(st.sampled_from(STATES))
            elif change == "order" and with_orders and tasks:
                task = tasks[draw(st.integers(0, len(tasks) - 1))]
                orders = task["orders"]
                what = draw(st.sampled_from(["new", "fill", "leave"]))
                if what == "new" or not orders:
                    counter["order"] += 1
                    orders.append(
                        {
                            "client_id": f"c{counter['order']}",
                            "leg": "spot",
                            "qty": 1.0,
                            "filled_qty": 0.0,
                            "status": "open",
                            "created_ts": float(draw(st.integers(0, 5))),
                        }
                    )
                    orders.sort(key=lambda o: (o["created_ts"], o["client_id"]))
                elif what == "fill":
                    order = orders[draw(st.integers(0, len(orders) - 1))]
                    order["filled_qty"] = draw(st.floats(0, 1))
                else:
                    orders.pop(draw(st.integers(0, len(orders) - 1)))
            elif change == "fills":
                for _ in range(draw(st.sampled_from([1, 3, 99, 150]))):
                    counter["fill"] += 1
                    status["recent_fills"].append({"fill_id": f"f{counter['fill']}", "qty": 1.0})
                del status["recent_fills"][:-RECENT_KEEP]
            elif change == "alerts" and status["alerts"] is not None:
                recent = status["alerts"]["recent"]
                for _ in range(draw(st.sampled_from([1, 2, 120]))):
                    counter["alert"] += 1
                    recent.append({"id": f"a{counter['alert']}", "title": "x"})
                del recent[:-RECENT_KEEP]
                status["alerts"]["open"] += 1
            elif change == "alerts_none":
                # An alert actor's list only grows: back, it lists what it had.
                if status["alerts"] is None:
                    status["alerts"] = counter.pop("alerts_away")
                else:
                    counter["alerts_away"] = status["alerts"]
                    status["alerts"] = None
            elif change == "health":
                status["healthy"] = not status["healthy"]
                status["tree"]["children"][0]["restarts"] += draw(st.integers(0, 1))
                status["feeds"][0]["state"] = draw(st.sampled_from(["fresh", "stale"]))
            elif change == "totals":
                status["totals"]["realized_pnl_usdt"] = draw(prices)
        statuses.append(copy.deepcopy(status))
    for status in statuses:
        del status["_with_orders"]
    return statuses


def replayed(log: EventLog, snapshot: dict, run: str, seq: int) -> dict:
    """``snapshot`` with the log's events after ``seq`` applied, read off their frames
    as a page reads them."""
    model = copy.deepcopy(snapshot)
    events = log.after(run, seq)
    assert events is not None
    for event in events:
        lines = event.frame.decode().split("\n")
        assert lines[0] == f"id: {log.run}.{event.seq}"
        kind = lines[1].removeprefix("event: ")
        apply(model, kind, json.loads(lines[2].removeprefix("data: ")))
    return model


@settings(max_examples=200, deadline=None)
@given(histories())
def test_events_applied_to_the_first_snapshot_give_the_last_status(statuses):
    samples = [steady(status) for status in statuses]
    log = EventLog()
    for n, (before, after) in enumerate(itertools.pairwise(samples)):
        log.extend(diff(before, after, float(n)))
    assert replayed(log, samples[0], log.run, 0) == samples[-1]


@settings(max_examples=100, deadline=None)
@given(histories(), st.data())
def test_a_reconnect_replays_exactly_what_it_missed(statuses, data):
    """A page that got a snapshot at some sample and reconnects later gets the events
    after it, and ends where the server is."""
    samples = [steady(status) for status in statuses]
    log = EventLog()
    seqs = [0]
    for n, (before, after) in enumerate(itertools.pairwise(samples)):
        log.extend(diff(before, after, float(n)))
        seqs.append(log.seq)
    k = data.draw(st.integers(0, len(samples) - 1))
    assert replayed(log, samples[k], log.run, seqs[k]) == samples[-1]


def test_what_moves_by_itself_makes_no_event_and_what_happens_does():
    """Uptimes and mailbox counters are left out of the samples; a restart is not."""
    before = base_status(with_orders=False)
    later = copy.deepcopy(before)
    later["uptime_s"] = 60.0
    later["tree"]["children"][0] = child("writer", 60.0, depth=3)
    assert diff(steady(before), steady(later), 1.0) == []
    later["tree"]["children"][0]["restarts"] = 1
    [(kind, data)] = diff(steady(before), steady(later), 1.0)
    assert kind == "health"
    assert data["changes"]["tree"]["children"] == [
        {"name": "writer", "state": "running", "restarts": 1, "subtree": None}
    ]


def test_the_events_come_in_the_order_of_the_table():
    before = base_status(with_orders=True)
    del before["_with_orders"]
    before["tasks"] = [new_task(1, True), new_task(2, True)]
    before["tasks"][0]["orders"] = [{"client_id": "c1", "created_ts": 1.0, "filled_qty": 0.0}]
    after = copy.deepcopy(before)
    after["healthy"] = False
    after["tasks"][0]["state"] = "entering"
    after["tasks"][0]["orders"] = [{"client_id": "c2", "created_ts": 2.0, "filled_qty": 0.0}]
    del after["tasks"][1]
    after["tasks"].append(new_task(3, True))
    after["tasks"][1]["spot_bid"] = 1.0
    after["recent_fills"] = [{"fill_id": "c1:1"}]
    after["alerts"]["recent"] = [{"id": "a1"}]
    after["totals"] = {"realized_pnl_usdt": 1.0, "open_positions": 0}
    kinds = [kind for kind, _ in diff(before, after, 5.0)]
    assert kinds == [
        "health",
        "task",
        "transition",
        "task",
        "task_removed",
        "order",
        "order_done",
        "fill",
        "alert",
        "totals",
    ]
    events = dict(diff(before, after, 5.0)[:3][1:])
    assert events["transition"] == {
        "at": 5.0,
        "task_id": "t1",
        "symbol": "S1/USDT",
        "from": "idle",
        "to": "entering",
    }


def test_quote_fields_alone_make_a_quote_event_and_health_leaves_out_what_has_its_own():
    before = base_status(with_orders=False)
    del before["_with_orders"]
    before["tasks"] = [new_task(1, False)]
    after = copy.deepcopy(before)
    after["tasks"][0]["spot_bid"] = 100.0
    after["tasks"][0]["pnl_pct"] = 0.1
    after["uptime_s"] = 9.0
    after["alerts"]["recent"] = [{"id": "a1"}]
    events = diff(before, after, 1.0)
    assert events == [
        ("quote", {"at": 1.0, "task_id": "t1", "changes": {"spot_bid": 100.0, "pnl_pct": 0.1}}),
        ("alert", {"at": 1.0, "alert": {"id": "a1"}}),
    ]
    after["tasks"][0]["cycles"] = 1
    assert diff(before, after, 1.0)[0][0] == "task"
    assert diff(after, after, 2.0) == []


def test_the_log_keeps_the_newest_and_asks_for_a_snapshot_beyond_them():
    log = EventLog(size=5)
    for n in range(8):
        log.append("totals", {"n": n})
    assert [e.seq for e in log.after(log.run, 3)] == [4, 5, 6, 7, 8]
    assert log.after(log.run, 2) is None  # event 3 is gone: a gap
    assert log.after(log.run, 8) == []
    assert log.after(log.run, 9) is None  # never reached: another process's numbering
    assert log.after("another-run", 8) is None
    assert log.events[-1].frame == b'id: %s.8\nevent: totals\ndata: {"n":7}\n\n' % (
        log.run.encode()
    )
    assert EventLog().after(EventLog().run, 0) is None


def test_event_ids_parse_or_are_none():
    assert parse_event_id("ab12.17") == ("ab12", 17)
    for bad in (None, "", "17", "ab12.", "ab12.x", ".5", "ab.-1"):
        assert parse_event_id(bad) is None


def test_a_status_struct_goes_through_as_plain_data():
    """The sampler hands the differ ``msgspec.to_builtins`` of the status structs."""
    stats = statistics(strategies=[strategy("btc_1"), strategy("eth_1", "ETH/USDT")])
    first = steady(msgspec.to_builtins(status_of(stats, T0 + 100.0)))
    stats = statistics(strategies=[strategy("btc_1", state="exiting")])
    later = steady(msgspec.to_builtins(status_of(stats, T0 + 200.0)))
    events = diff(first, later, T0 + 200.0)
    assert [kind for kind, _ in events] == [
        "health",
        "task",
        "transition",
        "task_removed",
        "totals",
    ]
    model = copy.deepcopy(first)
    for kind, data in events:
        apply(model, kind, msgspec.json.decode(msgspec.json.encode(data)))
    assert model == later


def test_what_a_replay_weighs_is_what_it_sends():
    log = EventLog(size=5)
    for n in range(8):
        log.append("totals", {"n": "x" * n})
    for seq in range(3, 9):
        sent = b"".join(event.frame for event in log.after(log.run, seq))
        assert log.bytes_after(log.run, seq) == len(sent)
    for seq, run in ((2, log.run), (9, log.run), (8, "another-run")):
        assert log.bytes_after(run, seq) is None
