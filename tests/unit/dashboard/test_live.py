"""What a stream that fell behind is sent to catch up: the events it missed, in slices
that leave the event loop to the trading between them, or a snapshot where that is the
smaller."""

from __future__ import annotations

import json

from actors.dashboard.events import EventLog
from actors.dashboard.live import SLICE_BYTES, LiveStatus


def live_with(status: dict) -> LiveStatus:
    live = LiveStatus(EventLog(size=1000))
    live.replayed_below_bytes = 0  # every replay weighed against the snapshot
    live.publish(status, 1.0)
    return live


def frames(chunks: list[bytes]) -> list[dict]:
    return [
        {line.partition(": ")[0]: line.partition(": ")[2] for line in frame.split("\n")}
        for chunk in chunks
        for frame in chunk.decode().split("\n\n")
        if frame
    ]


def test_a_short_gap_is_replayed_and_a_long_one_is_a_snapshot():
    live = live_with({"tasks": [], "big": "x" * 2000})
    first = live.log.seq
    live.publish({"tasks": [{"task_id": "t1", "cycles": 1}], "big": "x" * 2000}, 2.0)
    chunks, sent = live.catch_up(first)
    assert [f["event"] for f in frames(chunks)] == ["task"] and sent == live.log.seq
    for n in range(40):  # more than the whole status weighs
        live.publish({"tasks": [{"task_id": "t1", "cycles": n + 2}], "big": "x" * 2000}, 3.0 + n)
    chunks, sent = live.catch_up(first)
    [snapshot] = frames(chunks)
    assert snapshot["event"] == "snapshot" and snapshot["id"] == f"{live.log.run}.{sent}"
    assert json.loads(snapshot["data"])["status"]["tasks"] == [{"task_id": "t1", "cycles": 41}]
    assert sent == live.log.seq
    assert live.catch_up(sent) == ([], sent)


def test_a_replay_comes_in_slices():
    live = live_with({"tasks": [], "big": "x" * (3 * SLICE_BYTES)})
    first = live.log.seq
    for n in range(40):  # 40 events of 16 KB: more than two slices, less than a snapshot
        live.publish({"tasks": [], "big": "x" * (3 * SLICE_BYTES), "note": f"{n:016384d}"}, n)
    chunks, sent = live.catch_up(first)
    assert len(chunks) == 3 and all(len(chunk) <= SLICE_BYTES + 17_000 for chunk in chunks)
    seqs = [int(f["id"].rsplit(".", 1)[1]) for f in frames(chunks)]
    assert seqs == list(range(first + 1, sent + 1)) and sent == live.log.seq


def test_a_stream_with_nothing_sent_yet_starts_from_a_snapshot():
    live = live_with({"tasks": []})
    [chunk], sent = live.catch_up(None)
    assert chunk == live.snapshot() and sent == live.log.seq
    assert live.snapshot() is chunk  # made once per sample, however many pages ask
