"""The chaos invariants, on made-up ledgers and records: each passes what it should and
names what broke when it fails."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.chaos import invariants as inv
from actors.sim.ledger import FillExecuted, OrderAccepted, OrderRefused
from actors.sim.records import VenueFill, VenueOrder
from protocols.model import OrderStatus, OrderType, Side, Symbol, TimeInForce

BTC = Symbol("BTC", "USDT")


def accepted(venue: str, client_id: str, side: Side, ts: float = 1.0, reduce_only=False):
    spelled = f"t-{client_id}" if venue == "gateio" else client_id
    order = VenueOrder(
        venue, f"v-{client_id}", spelled, BTC, side, OrderType.LIMIT, TimeInForce.IOC,
        0.01, 50_000.0, OrderStatus.NEW, 0.0, 0.0, 0.0, ts, ts, reduce_only,
    )  # fmt: skip
    return OrderAccepted(0, order)


def filled(venue: str, side: Side, qty: float, ts: float, price: float = 50_000.0):
    fill = VenueFill(venue, f"f{ts}", "v", "c", BTC, side, qty, price, 0.0, False, ts)
    return FillExecuted(0, fill)


# ------------------------------------------------------------------ orders once


def test_orders_each_sent_once_and_journaled_pass_with_gateio_prefixes_read():
    ledgers = {
        "mexc": [accepted("mexc", "btc_1-1s", Side.BUY)],
        "gateio": [accepted("gateio", "btc_1-2f", Side.SELL)],
    }
    assert inv.orders_once(ledgers, {"btc_1-1s", "btc_1-2f"}).passed


def test_a_client_id_accepted_twice_or_refused_as_a_duplicate_fails():
    twice = {"mexc": [accepted("mexc", "a-1s", Side.BUY), accepted("mexc", "a-1s", Side.BUY)]}
    result = inv.orders_once(twice, {"a-1s"})
    assert not result.passed and "a-1s more than once" in result.detail
    refused = OrderRefused(2, 1.0, BTC, Side.BUY, 0.01, 1.0, "a-1s", "DuplicateClientId", "dup")
    result = inv.orders_once({"mexc": [accepted("mexc", "a-1s", Side.BUY), refused]}, {"a-1s"})
    assert not result.passed and "sent twice" in result.detail


def test_a_venue_order_the_system_never_journaled_fails():
    result = inv.orders_once({"mexc": [accepted("mexc", "a-1s", Side.BUY)]}, set())
    assert not result.passed and "never journaled" in result.detail


# -------------------------------------------------------------------- unhedged


def threshold(symbol: str, price: float) -> float:
    return 5.0


def test_a_leg_filled_two_seconds_before_the_other_is_one_two_second_excursion():
    spot_at_1 = filled("mexc", Side.BUY, 0.01, 1.0)
    short_at_3 = filled("gateio", Side.SELL, 0.01, 3.0)
    fills = inv.leg_fills({"mexc": [spot_at_1], "gateio": [short_at_3]})
    (excursion,) = inv.excursions(fills, threshold, end=10.0)
    assert (excursion.start, excursion.end, excursion.peak_usdt) == (1.0, 3.0, 500.0)
    assert inv.unhedged_bounded([excursion], bound_s=2.0).passed
    assert not inv.unhedged_bounded([excursion], bound_s=1.9).passed


def test_an_imbalance_still_open_at_the_end_lasts_until_the_end():
    fills = [inv.LegFill(4.0, "BTC/USDT", "spot", 0.01, 50_000.0)]
    (excursion,) = inv.excursions(fills, threshold, end=10.0)
    assert excursion.lasted_s == 6.0


def test_an_imbalance_below_the_threshold_is_not_an_excursion():
    fills = [inv.LegFill(4.0, "BTC/USDT", "spot", 0.00009, 50_000.0)]  # 4.5 USDT
    assert inv.excursions(fills, threshold, end=10.0) == []


@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 100.0),
            st.sampled_from(["BTC/USDT", "ETH/USDT"]),
            st.sampled_from(["spot", "futures"]),
            st.floats(-1.0, 1.0),
        ),
        max_size=40,
    )
)
@settings(max_examples=200)
def test_excursions_never_overlap_per_symbol_and_stay_inside_the_run(raw):
    fills = sorted(
        (inv.LegFill(ts, symbol, leg, qty, 100.0) for ts, symbol, leg, qty in raw),
        key=lambda f: f.ts,
    )
    found = inv.excursions(fills, threshold, end=100.0)
    for symbol in ("BTC/USDT", "ETH/USDT"):
        mine = sorted((e for e in found if e.symbol == symbol), key=lambda e: e.start)
        assert all(0.0 <= e.start <= e.end <= 100.0 for e in mine)
        assert all(a.end <= b.start for a, b in itertools.pairwise(mine))
        assert all(e.peak_usdt >= 5.0 * (1 - 1e-9) for e in mine)


@given(st.lists(st.tuples(st.floats(0.0, 100.0), st.floats(0.001, 1.0)), max_size=30))
def test_legs_filled_together_are_never_unhedged(pairs):
    fills = []
    for ts, qty in sorted(pairs):
        fills += [
            inv.LegFill(ts, "BTC/USDT", "spot", qty, 100.0),
            inv.LegFill(ts, "BTC/USDT", "futures", -qty, 100.0),
        ]
    found = inv.excursions(fills, threshold, end=100.0)
    # Within one timestamp the second leg closes what the first opened.
    assert all(e.lasted_s == 0.0 for e in found)


# ------------------------------------------------------------------- staleness


def entry_ledgers(accepted_at: float) -> dict:
    return {
        "mexc": [accepted("mexc", "btc_1-1s", Side.BUY, accepted_at)],
        "gateio": [accepted("gateio", "btc_1-2f", Side.SELL, accepted_at)],
    }


def decision(age: float | None = 0.01, max_age_s: float = 2.0) -> inv.EntryDecision:
    return inv.EntryDecision(["btc_1-1s", "btc_1-2f"], 10.0, age, 0.02, max_age_s)


STOP_S = 2.0
"""The defaults' ``live_within_s`` (1 s) plus ``entry_send_within_s`` (1 s)."""


def test_entries_on_fresh_quotes_outside_outages_pass():
    result = inv.no_stale_entries(entry_ledgers(10.0), [decision()], [], STOP_S)
    assert result.passed, result.detail
    assert "1 found at the venues" in result.detail


def test_an_entry_decided_on_an_old_quote_fails():
    result = inv.no_stale_entries(entry_ledgers(10.0), [decision(age=2.5)], [], STOP_S)
    assert not result.passed and "2.500 s old" in result.detail


def test_an_entry_reaching_a_venue_deep_into_a_data_outage_fails():
    outage = inv.DataOutage("gateio", 5.0, 20.0)
    result = inv.no_stale_entries(entry_ledgers(10.0), [decision()], [outage], STOP_S)
    assert not result.passed and "into a gateio data outage" in result.detail
    # Just after the outage began, a quote received before it is still young enough.
    early = inv.DataOutage("gateio", 9.0, 20.0)
    assert inv.no_stale_entries(entry_ledgers(10.0), [decision()], [early], STOP_S).passed


def test_an_entry_past_the_liveness_gate_fails_on_young_quotes():
    # 3 s into the outage: the quotes (allowed 10 s) are young, but the connection has
    # been silent past its liveness bound and the legs' send deadline.
    outage = inv.DataOutage("mexc", 7.0, 20.0)
    result = inv.no_stale_entries(entry_ledgers(10.0), [decision(max_age_s=10.0)], [outage], STOP_S)
    assert not result.passed and "3.00 s into a mexc data outage" in result.detail
    # Within the bound and the grace (2.5 s), it passes.
    later = inv.DataOutage("mexc", 7.6, 20.0)
    assert inv.no_stale_entries(
        entry_ledgers(10.0), [decision(max_age_s=10.0)], [later], STOP_S
    ).passed


def test_entries_are_found_by_the_ids_the_strategy_writes():
    # Order numbers in base 36 and the instance's suffix, as a running system writes
    # them (the 10th and 11th orders: "a" and "b").
    ledgers = {
        "mexc": [accepted("mexc", "btc_1-as-ctfs", Side.BUY, 10.0)],
        "gateio": [accepted("gateio", "btc_1-bf-ctfs", Side.SELL, 10.0)],
    }
    assert inv.venue_entries(ledgers) == {
        "btc_1-as-ctfs": (10.0, "mexc"),
        "btc_1-bf-ctfs": (10.0, "gateio"),
    }
    decided = inv.EntryDecision(["btc_1-as-ctfs", "btc_1-bf-ctfs"], 10.0, 0.01, 0.02, 2.0)
    outage = inv.DataOutage("mexc", 5.0, 20.0)
    result = inv.no_stale_entries(ledgers, [decided], [outage], STOP_S)
    assert not result.passed and "btc_1-as-ctfs reached mexc" in result.detail


def test_an_entry_at_the_venues_with_no_logged_decision_fails():
    result = inv.no_stale_entries(entry_ledgers(10.0), [], [], STOP_S)
    assert not result.passed and "no logged decision" in result.detail


def test_an_exit_or_a_correction_is_not_taken_for_an_entry():
    ledgers = {
        "mexc": [accepted("mexc", "btc_1-3s", Side.SELL)],
        "gateio": [accepted("gateio", "btc_1-4f", Side.BUY, reduce_only=True)],
    }
    assert inv.venue_entries(ledgers) == {}


# ----------------------------------------------------------------- supervisors


def test_a_give_up_fails_even_when_reported_and_an_unreported_one_is_named():
    reported = inv.HealthSample(1.0, False, "supervisor gave up: routers: ...", ["routers"])
    result = inv.supervisors_held([reported], [])
    assert not result.passed and "gave up: routers" in result.detail
    hidden = inv.HealthSample(1.0, True, "ok", ["routers"])
    assert "did not" in inv.supervisors_held([hidden], []).detail


def test_a_process_that_ended_by_itself_or_stopped_uncleanly_fails():
    killed = inv.ProcessExit(1, -9, asked="kill")
    stopped = inv.ProcessExit(2, 0, asked="stop")
    assert inv.supervisors_held([], [killed, stopped]).passed
    by_itself = inv.ProcessExit(3, 0, asked=None)
    assert "ended by itself (run 3: exit 0)" in inv.supervisors_held([], [by_itself]).detail
    unclean = inv.ProcessExit(4, 1, asked="stop")
    assert "did not end cleanly (run 4: exit 1)" in inv.supervisors_held([], [unclean]).detail


# ---------------------------------------------------------------------- memory


def samples(minutes: float, mb_per_hour: float) -> list[inv.MemorySample]:
    return [
        inv.MemorySample(s, 1, 100.0 + mb_per_hour * s / 3600.0)
        for s in range(0, int(minutes * 60), 2)
    ]


def test_memory_growing_within_the_allowance_passes_and_a_leak_fails():
    assert inv.memory_flat(samples(30, 4.0), allowance_mb=16.0, per_hour_mb=8.0).passed
    leak = inv.memory_flat(samples(30, 120.0), allowance_mb=16.0, per_hour_mb=8.0)
    assert not leak.passed and "MB over" in leak.detail


def test_a_run_too_short_to_judge_says_so():
    result = inv.memory_flat(samples(2, 500.0), allowance_mb=16.0, per_hour_mb=8.0)
    assert result.passed and result.detail.startswith("not judged")


@pytest.mark.parametrize("kills_every_min", [1.0, 2.5])
def test_memory_is_judged_on_the_longest_lived_process(kills_every_min):
    runs = []
    for n in range(4):
        runs += [
            inv.MemorySample(n * 1000 + s, n, 100.0 + s)  # each short run "grows" fast
            for s in range(0, int(kills_every_min * 60))
        ]
    long = [inv.MemorySample(10_000 + s, 9, 150.0) for s in range(0, 600, 2)]
    growth = inv.memory_growth(runs + long)
    assert growth is not None and growth[0] == pytest.approx(0.0)


def test_an_incidents_unhedged_notional_seconds_are_each_value_held_until_the_next_fill():
    fills = [
        inv.LegFill(1.0, "BTC/USDT", "spot", 0.02, 50_000.0),  # 1000 USDT apart for 2 s
        inv.LegFill(3.0, "BTC/USDT", "futures", -0.01, 50_000.0),  # then 500 for 1 s
        inv.LegFill(4.0, "BTC/USDT", "futures", -0.01, 50_000.0),
    ]
    (excursion,) = inv.excursions(fills, threshold, end=10.0)
    assert excursion.usdt_s == pytest.approx(2500.0)
    assert inv.unhedged_notional_bounded([excursion], bound_usdt_s=2500.0).passed
    assert not inv.unhedged_notional_bounded([excursion], bound_usdt_s=2499.0).passed
    # One entry's legs (1000 USDT) apart for a 2 s time bound fits; doubled, it does not.
    assert inv.unhedged_notional_bound(2.0, 1000.0) >= 2000.0
    assert inv.unhedged_notional_bound(2.0, 1000.0) < 4000.0


def test_an_incident_still_open_at_the_end_counts_until_the_end():
    fills = [inv.LegFill(4.0, "BTC/USDT", "spot", 0.01, 50_000.0)]
    (excursion,) = inv.excursions(fills, threshold, end=10.0)
    assert excursion.usdt_s == pytest.approx(3000.0)
    assert inv.unhedged_notional_bounded([], bound_usdt_s=0.0).passed


@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 100.0), st.sampled_from(["spot", "futures"]), st.floats(-1.0, 1.0)
        ),
        max_size=40,
    )
)
@settings(max_examples=100)
def test_no_incident_costs_more_than_its_peak_for_its_length(raw):
    fills = sorted(
        (inv.LegFill(ts, "BTC/USDT", leg, qty, 100.0) for ts, leg, qty in raw), key=lambda f: f.ts
    )
    for excursion in inv.excursions(fills, threshold, end=100.0):
        assert (
            0.0 <= excursion.usdt_s <= excursion.peak_usdt * excursion.lasted_s * (1 + 1e-9) + 1e-9
        )
