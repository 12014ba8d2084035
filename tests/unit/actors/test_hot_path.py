"""The hot path's trace stamps nothing while off, and each mark in order while on."""

from __future__ import annotations

from actors import hot_path


def test_marks_are_stamped_only_between_start_and_stop():
    hot_path.mark("quote", "before")
    hot_path.start()
    hot_path.mark("quote", "spot")
    hot_path.mark("decision")
    taken = hot_path.stop()
    hot_path.mark("committed")
    assert [(name, tag) for name, tag, _ in taken] == [("quote", "spot"), ("decision", None)]
    assert taken[0][2] <= taken[1][2]
    hot_path.start()
    assert hot_path.stop() == []
