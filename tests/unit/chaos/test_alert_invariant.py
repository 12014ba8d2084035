"""The chaos run's check of alerts against the health signals ``/status`` listed: each
window long enough to be an incident told once opened and once resolved, in time."""

from __future__ import annotations

from actors.chaos.invariants import (
    HealthSample,
    ReceivedAlert,
    alerts_follow_incidents,
    incident_windows,
)

KEY = "feed:feed-mexc"
EVERY = 0.25


def samples(until: float, listed: list[tuple[float, float]], gaps=()) -> list[HealthSample]:
    """A sample every 0.25 s up to ``until``, listing ``KEY`` within ``listed`` spans,
    none within ``gaps`` (the process down)."""
    found = []
    n = 0
    while n * EVERY <= until:
        at = n * EVERY
        n += 1
        if any(a <= at < b for a, b in gaps):
            continue
        keys = [KEY] if any(a <= at < b for a, b in listed) else []
        found.append(HealthSample(at, not keys, "", [], keys))
    return found


def told(*alerts: tuple[float, str]) -> list[ReceivedAlert]:
    return [ReceivedAlert(at, f"a{n}", KEY, kind) for n, (at, kind) in enumerate(alerts)]


def check(found, alerts):
    return alerts_follow_incidents(found, alerts, open_after_s=3.0, resolve_after_s=3.0)


def test_a_window_told_once_opened_and_once_resolved_in_time_passes():
    found = samples(60.0, [(10.0, 20.0)])
    result, delays = check(found, told((13.5, "opened"), (23.5, "resolved")))
    assert result.passed, result.detail
    assert delays == [3.5, 3.5]
    assert "1 incident(s)" in result.detail


def test_a_window_with_no_alert_or_two_openings_fails_naming_the_key():
    found = samples(60.0, [(10.0, 20.0)])
    result, _ = check(found, told((23.5, "resolved")))
    assert not result.passed and KEY in result.detail and "['resolved']" in result.detail
    twice = told((13.5, "opened"), (14.0, "opened"), (23.5, "resolved"))
    assert not check(found, twice)[0].passed


def test_an_alert_later_than_five_seconds_fails():
    found = samples(60.0, [(10.0, 20.0)])
    result, _ = check(found, told((15.5, "opened"), (23.5, "resolved")))
    assert not result.passed and "opened 5.5 s after it was detectable" in result.detail


def test_a_resolution_may_take_resolve_after_s_longer_for_a_flicker_the_samples_missed():
    found = samples(60.0, [(10.0, 20.0)])
    assert check(found, told((13.5, "opened"), (27.0, "resolved")))[0].passed
    result, _ = check(found, told((13.5, "opened"), (28.5, "resolved")))
    assert not result.passed and "told ['opened']" in result.detail


def test_a_short_gap_is_bridged_and_a_blip_or_a_window_across_a_kill_is_not_checked():
    found = samples(80.0, [(10.0, 15.0), (16.0, 25.0), (40.0, 41.0)])
    [bridged, blip] = incident_windows(found, 4.0)
    assert (bridged.start, bridged.end, bridged.gaps) == (10.0, 25.0, (1.0,))
    result, _ = check(found, told((13.5, "opened"), (28.5, "resolved")))
    assert result.passed, result.detail
    assert blip.end == 41.0
    across_a_kill = samples(80.0, [(10.0, 30.0)], gaps=[(20.0, 24.0)])
    result, delays = check(across_a_kill, [])
    assert result.passed and delays == []
