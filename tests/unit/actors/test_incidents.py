"""Incidents: one alert when a lasting condition opens, one when it resolves, never one
per observation; debounced both ways, rate-limited per incident, and continued across a
restart."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.context import VenueReduction
from actors.runtime.alerts.conditions import (
    ConditionWatch,
    FeedConnects,
    Observation,
    Signal,
    TaskExposure,
)
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.alerts.incidents import Condition, IncidentBook

STALE = Condition("feed:feed-mexc", "critical", "feed-mexc stale", "no data for 12 s")
TICK = 0.5


def book(**overrides: float) -> IncidentBook:
    values = {"open_after_s": 3.0, "resolve_after_s": 3.0, "max_alerts": 6, "window_s": 600.0}
    values.update(overrides)
    return IncidentBook(
        values["open_after_s"],
        values["resolve_after_s"],
        int(values["max_alerts"]),
        values["window_s"],
    )


def play(incidents: IncidentBook, presence: list[bool], start: float = 0.0) -> list[tuple]:
    """Observe ``STALE`` present or not at each tick; ``(time, kind)`` of each decision."""
    told = []
    for n, present in enumerate(presence):
        now = start + n * TICK
        for decision in incidents.observe(now, [STALE] if present else []):
            told.append((now, decision.kind))
    return told


def test_a_lasting_condition_opens_one_incident_and_its_end_resolves_it_once():
    incidents = book()
    told = play(incidents, [True] * 40 + [False] * 40)
    # Opened once it had lasted 3 s, resolved once it had been gone 3 s: two alerts in all.
    assert told == [(3.0, "opened"), (23.0, "resolved")]


def test_a_blip_shorter_than_open_after_s_is_no_incident():
    assert play(book(), [True] * 5 + [False] * 20 + [True] * 5 + [False] * 20) == []


def test_a_flicker_shorter_than_resolve_after_s_does_not_resolve_it():
    incidents = book()
    told = play(incidents, [True] * 10 + [False] * 4 + [True] * 10 + [False] * 10)
    assert [kind for _, kind in told] == ["opened", "resolved"]


def test_a_resolution_says_how_long_the_incident_lasted():
    incidents = book()
    decisions = []
    for n in range(60):
        decisions += incidents.observe(n * TICK, [STALE] if n < 30 else [])
    opened, resolved = decisions
    # Open from 3 s (it had lasted 3 s) to 18 s (it had been gone 3 s).
    assert (opened.lasted_s, resolved.lasted_s) == (None, 15.0)


def test_a_flapping_incident_sends_at_most_the_rate_limit_then_the_truth_once_allowed():
    incidents = book(max_alerts=4, window_s=120.0)
    # Present 5 s, gone 5 s, for 100 s: ten openings and ten resolutions.
    presence = ([True] * 10 + [False] * 10) * 10
    decisions = []
    for n, present in enumerate(presence):
        decisions += [
            (n * TICK, d) for d in incidents.observe(n * TICK, [STALE] if present else [])
        ]
    assert [d.kind for _, d in decisions] == ["opened", "resolved", "opened", "resolved"]
    assert [d.limited for _, d in decisions] == [False, False, False, True]
    # Later, still flapping, once the window has room: the state it is in, with the
    # changes nobody was told of.
    later = 130.0
    more = []
    for n in range(40):
        now = later + n * TICK
        more += incidents.observe(now, [STALE] if (n // 10) % 2 == 0 else [])
    assert more and more[0].kind == "opened"
    assert more[0].held_back > 0


def test_an_incident_open_before_a_restart_is_not_announced_again_while_present():
    incidents = book()
    incidents.restore(STALE, opened_at=-100.0, now=0.0)
    assert play(incidents, [True] * 40) == []
    assert incidents.open_incidents() == [STALE]


def test_an_incident_open_before_a_restart_and_gone_after_it_is_resolved_once():
    incidents = book()
    incidents.restore(STALE, opened_at=-100.0, now=0.0)
    decisions = []
    for n in range(40):
        decisions += incidents.observe(n * TICK, [])
    [resolved] = decisions
    assert resolved.kind == "resolved"
    assert resolved.lasted_s == 103.0
    assert incidents.open_incidents() == []


def test_a_condition_with_its_own_duration_opens_after_it():
    slow = Condition("unhedged:btc_1", "critical", "BTC unhedged", "", after_s=10.0)
    incidents = book()
    opened = [n * TICK for n in range(40) if incidents.observe(n * TICK, [slow])]
    assert opened == [10.0]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=400),
    st.floats(min_value=0.5, max_value=6.0),
    st.floats(min_value=0.5, max_value=6.0),
    st.integers(min_value=1, max_value=6),
)
def test_alerts_alternate_keep_to_the_rate_limit_and_end_on_the_truth(
    presence, open_after, resolve_after, max_alerts
):
    window = 60.0
    incidents = book(
        open_after_s=open_after,
        resolve_after_s=resolve_after,
        max_alerts=max_alerts,
        window_s=window,
    )
    told = play(incidents, presence)
    kinds = [kind for _, kind in told]
    # Opened, resolved, opened...: never two of a kind in a row.
    assert kinds == ["opened", "resolved"] * (len(kinds) // 2) + ["opened"] * (len(kinds) % 2)
    times = [t for t, _ in told]
    for n, t in enumerate(times):
        assert sum(1 for u in times[: n + 1] if t - u < window) <= max_alerts
    # Left alone long enough (the condition as it last was), the operator's last word
    # is the truth.
    last = presence[-1]
    end = len(presence) * TICK
    for n in range(int((window + 10.0) / TICK)):
        incidents.observe(end + n * TICK, [STALE] if last else [])
    assert (incidents.open_incidents() == [STALE]) == last


def exposure(**changes) -> TaskExposure:
    values = {
        "task_id": "btc_1",
        "symbol": "BTC/USDT",
        "unhedged_usdt": 0.0,
        "bound_usdt": 5.0,
        "orders_in_flight": (),
        "exit_reason": None,
        "position_opened_at": None,
        "funding_rate": None,
        "futures_qty": 0.0,
    }
    values.update(changes)
    return TaskExposure(**values)


def observation(tasks=(), feeds=(), signals=()) -> Observation:
    return Observation(tuple(signals), tuple(feeds), tuple(tasks))


def keys(watch: ConditionWatch, seen: Observation, now: float = 0.0, wall: float = 1e9) -> set:
    return {c.key for c in watch.conditions(seen, now, wall)}


def test_every_health_signal_is_a_condition_under_its_key_and_failing_is_critical():
    watch = ConditionWatch(AlertsSection())
    signals = [
        Signal("failing", "feed-mexc stale", "feed:feed-mexc"),
        Signal("degraded", "private stream down", "private-stream:router-mexc"),
    ]
    found = watch.conditions(observation(signals=signals), 0.0, 1e9)
    assert [(c.key, c.severity) for c in found] == [
        ("feed:feed-mexc", "critical"),
        ("private-stream:router-mexc", "warning"),
    ]


def test_legs_apart_by_more_than_the_smallest_order_are_unhedged_after_their_own_delay():
    watch = ConditionWatch(AlertsSection(unhedged_after_s=12.0))
    [unhedged] = watch.conditions(observation([exposure(unhedged_usdt=5.5)]), 0.0, 1e9)
    assert (unhedged.key, unhedged.after_s) == ("unhedged:btc_1", 12.0)
    assert keys(watch, observation([exposure(unhedged_usdt=4.9)])) == set()


def test_an_order_without_outcome_for_longer_than_its_bound_is_a_condition():
    watch = ConditionWatch(AlertsSection(order_unknown_after_s=30.0))
    young = observation([exposure(orders_in_flight=(("btc_1-7s", 1e9 - 29.0),))])
    old = observation([exposure(orders_in_flight=(("btc_1-7s", 1e9 - 31.0),))])
    assert keys(watch, young) == set()
    assert keys(watch, old) == {"order-unknown:btc_1-7s"}


def test_funding_against_an_open_short_is_a_condition_and_without_a_position_is_none():
    watch = ConditionWatch(AlertsSection())
    paying = observation([exposure(funding_rate=-0.0003, futures_qty=0.01)])
    flat = observation([exposure(funding_rate=-0.0003, futures_qty=0.0)])
    earning = observation([exposure(funding_rate=0.0003, futures_qty=0.01)])
    assert keys(watch, paying) == {"funding-against:btc_1"}
    assert keys(watch, flat) == keys(watch, earning) == set()


def test_more_connections_than_the_limit_within_a_minute_is_a_reconnect_storm():
    watch = ConditionWatch(AlertsSection(reconnects_per_minute=5))
    # One connection every 10 s is no storm; six within 30 s is, until they age out.
    found = [
        keys(watch, observation(feeds=[FeedConnects("feed-mexc", n, "")]), now=10.0 * n)
        for n in range(1, 7)
    ]
    assert found == [set()] * 6
    stormy = [
        keys(watch, observation(feeds=[FeedConnects("feed-mexc", 6 + n, "")]), now=60.0 + 5.0 * n)
        for n in range(1, 7)
    ]
    assert stormy[-1] == {"reconnect-storm:feed-mexc"}
    calm = keys(watch, observation(feeds=[FeedConnects("feed-mexc", 12, "")]), now=200.0)
    assert calm == set()


def test_an_exit_at_max_hours_is_one_event_per_position():
    watch = ConditionWatch(AlertsSection())
    timed_out = observation([exposure(exit_reason="timeout", position_opened_at=100.0)])
    assert [e.key for e in watch.events(timed_out)] == ["max-hours:btc_1"]
    assert watch.events(timed_out) == []
    profit = observation([exposure(exit_reason="profit", position_opened_at=200.0)])
    assert watch.events(profit) == []
    again = observation([exposure(exit_reason="timeout", position_opened_at=300.0)])
    assert len(watch.events(again)) == 1


def test_a_venue_reducing_a_short_is_one_critical_event_each_time_and_not_from_before():
    watch = ConditionWatch(AlertsSection(), since=1000.0)
    earlier = VenueReduction(999.0, "futures", 1.0, 0.5, "a position push")
    assert watch.events(observation([exposure(venue_reduction=earlier)])) == []
    reduced = VenueReduction(1001.0, "futures", 0.5, 0.0, "a position push", 2)
    [event] = watch.events(observation([exposure(venue_reduction=reduced)]))
    assert (event.key, event.severity) == ("venue-reduced:btc_1", "critical")
    assert "went from 0.5 to 0 without an order of ours" in event.detail
    assert "spot leg is being unwound" in event.detail
    assert watch.events(observation([exposure(venue_reduction=reduced)])) == []
    # Two more between two observations: one event, which counts the one before it.
    again = VenueReduction(1003.0, "futures", 0.3, 0.1, "the periodic position check", 4)
    [event] = watch.events(observation([exposure(venue_reduction=again)]))
    assert event.detail.endswith("(1 more before it since the last alert)")


def test_a_venue_reduction_while_halted_says_the_unwind_waits_for_the_mode():
    watch = ConditionWatch(AlertsSection(), since=1000.0)
    reduced = VenueReduction(1001.0, "futures", 0.5, 0.2, "a position push")
    [event] = watch.events(observation([exposure(venue_reduction=reduced, halted=True)]))
    assert "is being unwound" not in event.detail
    assert "will be unwound to match once the risk mode allows orders" in event.detail
