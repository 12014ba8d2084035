"""A warning that a client can cause at will (a refused Host or Origin) is logged at most
once a minute, with how many like it were left out."""

from __future__ import annotations

import logging

from actors.dashboard.app import RareLog


def test_a_repeated_warning_is_logged_once_a_minute_with_how_many_were_left_out(caplog):
    now = [0.0]
    rare = RareLog(60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="basis.dashboard"):
        for n in range(50):
            now[0] = n * 1.0
            rare.warning("refused Host %r", f"h{n}")
        now[0] = 61.0
        rare.warning("refused Host %r", "late")
    assert [r.getMessage() for r in caplog.records] == [
        "refused Host 'h0'",
        "refused Host 'late' (and 49 more like it in the last 61 s)",
    ]
