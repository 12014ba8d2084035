"""The progress bar stays out of the way: only on a terminal, only after a second."""

from __future__ import annotations

import io

from actors.cli import progress
from actors.cli.progress import ProgressBar


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar("backtest", stream)
    bar.update(5, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_drawn_after_a_second_then_erased(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    stream = io.StringIO()
    bar = ProgressBar("backtest", stream, force=True)
    clock.now += 0.5
    bar.update(1, 10)
    assert stream.getvalue() == ""  # short work shows nothing
    clock.now += 0.6
    bar.update(5, 10, "12 events")
    assert stream.getvalue() == "\rbacktest [" + "#" * 15 + "-" * 15 + "]  50.0% 12 events"
    clock.now += 0.01
    bar.update(6, 10)
    assert stream.getvalue().count("\r") == 1  # at most ten redraws a second
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[2K")
