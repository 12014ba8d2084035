"""The chaos invariants, on made-up ledgers and records: each passes what it should and
names what broke when it fails."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.chaos import invariants as inv
from actors.sim.ledger import Deleveraged, FillExecuted, Liquidated, OrderAccepted, OrderRefused
from actors.sim.records import AutoDeleverage, Liquidation, VenueFill, VenueOrder
from protocols.messages import TradeRecord
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


def test_a_fee_the_spot_venue_takes_in_the_coin_is_no_gap_however_many_cycles():
    # Binance without BNB: a buy of 1 leaves 0.999 held, and the exit sells what is held.
    # Counted as bought, the 0.001 left over each cycle would pass 1 USDT in seven.
    def cycle(n: int) -> list:
        bought = filled("binance", Side.BUY, 1.0, 10.0 * n, 150.0).fill
        bought = msgspec.structs.replace(bought, fee=0.001, fee_asset="BTC")
        return [FillExecuted(0, bought), filled("binance", Side.SELL, 0.999, 10.0 * n + 5.0, 150.0)]

    spot = [entry for n in range(100) for entry in cycle(n)]
    short = [
        filled("gateio", side, 1.0, 10.0 * n + offset, 150.0)
        for n in range(100)
        for side, offset in ((Side.SELL, 0.0), (Side.BUY, 5.0))
    ]
    found = inv.excursions(inv.leg_fills({"binance": spot, "gateio": short}), lambda *_: 1.0, 1e3)
    assert [e for e in found if e.lasted_s > 0.0] == []  # the legs of each order: together


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
        "btc_1-as-ctfs": (10.0, "mexc", ("mexc", "gateio")),
        "btc_1-bf-ctfs": (10.0, "gateio", ("mexc", "gateio")),
    }
    decided = inv.EntryDecision(["btc_1-as-ctfs", "btc_1-bf-ctfs"], 10.0, 0.01, 0.02, 2.0)
    outage = inv.DataOutage("mexc", 5.0, 20.0)
    result = inv.no_stale_entries(ledgers, [decided], [outage], STOP_S)
    assert not result.passed and "btc_1-as-ctfs reached mexc" in result.detail


def test_an_outage_at_another_pairs_venue_is_no_entrys_concern():
    # Several pairs in one instance: ETH trades at Binance and its perpetuals, BTC at
    # MEXC and Gate.io; Binance's outage says nothing of BTC's entry at MEXC and Gate.io.
    ledgers = {
        **entry_ledgers(10.0),
        "binance": [accepted("binance", "eth_1-1s", Side.BUY, 10.0)],
        "binance_futures": [accepted("binance_futures", "eth_1-2f", Side.SELL, 10.0)],
    }
    decided = [decision(), inv.EntryDecision(["eth_1-1s", "eth_1-2f"], 10.0, 0.01, 0.02, 2.0)]
    outage = inv.DataOutage("binance", 5.0, 20.0)
    result = inv.no_stale_entries(ledgers, decided, [outage], STOP_S)
    assert not result.passed
    assert "eth_1-1s reached binance" in result.detail
    assert "eth_1-2f reached binance_futures" in result.detail
    assert "btc" not in result.detail


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


def test_a_give_up_only_the_final_status_of_a_process_showed_is_named():
    # It ended before any health sample could see it.
    ended = inv.ProcessExit(2, 1, asked=None, gave_up=["root", "strategies"])
    detail = inv.supervisors_held([inv.HealthSample(1.0, True, "ok", [])], [ended]).detail
    assert "gave up: root; strategies" in detail and "ended by itself (run 2: exit 1)" in detail


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


# ------------------------------------------------------------------- risk modes


def switch(at: float, mode: str, set_after_s: float | None = 0.1) -> inv.ModeSwitch:
    return inv.ModeSwitch(at, None if set_after_s is None else at + set_after_s, mode)


def test_an_entry_reaching_a_venue_while_reducing_or_halted_fails():
    switches = [switch(10.0, "reducing"), switch(20.0, "active"), switch(30.0, "halted")]
    for at in (12.0, 19.9, 32.0, 500.0):  # past the grace, before the resume (or none)
        result = inv.no_entry_while_reducing(entry_ledgers(at), switches, grace_s=1.5)
        assert not result.passed and "btc_1-1s reached mexc" in result.detail, at
    for at in (9.0, 11.5, 20.0, 25.0, 31.5):  # before, within the grace, once resumed
        assert inv.no_entry_while_reducing(entry_ledgers(at), switches, grace_s=1.5).passed, at


def test_a_mode_the_instance_did_not_set_holds_nothing_back():
    refused = [switch(10.0, "halted", set_after_s=None)]
    assert inv.no_entry_while_reducing(entry_ledgers(15.0), refused, grace_s=1.5).passed


def test_exits_and_corrections_while_reducing_are_no_entries():
    exit_legs = {
        "mexc": [accepted("mexc", "btc_1-3s", Side.SELL, 15.0)],
        "gateio": [accepted("gateio", "btc_1-4f", Side.BUY, 15.0, reduce_only=True)],
    }
    assert inv.no_entry_while_reducing(exit_legs, [switch(10.0, "halted")], 1.5).passed


def test_a_mode_lost_across_a_kill_fails_and_one_kept_passes():
    kept = [inv.ModeAfterKill(1.0, "halted", "halted"), inv.ModeAfterKill(2.0, "active", "active")]
    assert inv.mode_survives_kill(kept).passed
    lost = [*kept, inv.ModeAfterKill(3.0, "reducing", "active")]
    result = inv.mode_survives_kill(lost)
    assert not result.passed and "killed reducing, came back active" in result.detail
    unread = inv.mode_survives_kill([inv.ModeAfterKill(3.0, "halted", None)])
    assert not unread.passed and "came back unread" in unread.detail
    # Nothing read before the kill: nothing to hold it to.
    assert inv.mode_survives_kill([inv.ModeAfterKill(3.0, None, "active")]).passed


# ------------------------------------------------------------------ liquidation


def liquidated(ts: float) -> Liquidated:
    liquidation = Liquidation(
        "gateio", BTC, ts, "liq-1", -30, -0.03, 10.0, 150.0, 50_000.0, 54_100.0, 54_100.0,
        54_300.0,
    )  # fmt: skip
    return Liquidated(0, liquidation)


def deleveraged(ts: float, contracts: int, left: int) -> Deleveraged:
    adl = AutoDeleverage(
        "gateio", BTC, ts, "adl-1", 1.0, 50_000.0, 51_000.0, contracts, contracts * 0.001, left
    )
    return Deleveraged(0, adl)


def test_a_liquidation_on_the_simulated_venue_fails_and_an_auto_deleveraging_does_not():
    assert inv.no_liquidation({"gateio": [deleveraged(2.0, 10, -20)]}).passed
    result = inv.no_liquidation({"gateio": [deleveraged(2.0, 10, -20), liquidated(5.0)]})
    assert not result.passed and "BTC/USDT -30 contracts at 54300" in result.detail


def test_a_short_the_venue_deleveraged_is_unhedged_until_the_spot_leg_is_sold():
    ledgers = {
        "mexc": [filled("mexc", Side.BUY, 0.03, 1.0), filled("mexc", Side.SELL, 0.01, 6.0)],
        "gateio": [filled("gateio", Side.SELL, 0.03, 1.0), deleveraged(3.0, 10, -20)],
    }
    found = inv.excursions(inv.leg_fills(ledgers), threshold, end=10.0)
    (excursion,) = [e for e in found if e.lasted_s > 0.0]  # the entry's legs: together
    assert (excursion.start, excursion.end) == (3.0, 6.0)
    assert excursion.usdt_s == pytest.approx(0.01 * 51_000.0 * 3.0)


# --------------------------------------------------------------------- balances


def refused(venue: str, client_id: str, side: Side, ts: float) -> OrderRefused:
    spelled = f"t-{client_id}" if venue == "gateio" else client_id
    return OrderRefused(0, ts, BTC, side, 0.01, None, spelled, "InsufficientBalance", "short")


def test_an_entry_leg_placed_while_its_partner_is_refused_for_the_balance_fails():
    one_leg = {
        "mexc": [accepted("mexc", "btc_1-1s", Side.BUY, 12.0)],
        "gateio": [refused("gateio", "btc_1-2f", Side.SELL, 12.0)],
    }
    shortfall = [inv.Shortfall("gateio", 5.0, 20.0)]
    result = inv.no_one_leg_entry_on_shortfall(one_leg, shortfall, grace_s=6.5, after_refusal_s=2.0)
    assert not result.passed and "btc_1-2f refused at gateio 7.00 s" in result.detail
    # Within the grace (the balances not read since), or at the other venue: not judged.
    assert inv.no_one_leg_entry_on_shortfall(
        one_leg, shortfall, grace_s=7.5, after_refusal_s=2.0
    ).passed
    other = [inv.Shortfall("mexc", 5.0, 20.0)]
    assert inv.no_one_leg_entry_on_shortfall(
        one_leg, other, grace_s=6.5, after_refusal_s=2.0
    ).passed


def test_a_one_leg_entry_later_than_a_reading_after_the_first_refusal_fails():
    """The first refusal is how the system learns of a shortfall before its next reading:
    entries repeated past a reading after it are late."""
    first = {
        "mexc": [accepted("mexc", "btc_1-1s", Side.BUY, 6.0)],
        "gateio": [refused("gateio", "btc_1-2f", Side.SELL, 6.0)],
    }
    shortfall = [inv.Shortfall("gateio", 5.0, 20.0)]
    assert inv.no_one_leg_entry_on_shortfall(first, shortfall, 6.5, after_refusal_s=2.0).passed
    again = {
        "mexc": [*first["mexc"], accepted("mexc", "btc_1-3s", Side.BUY, 8.5)],
        "gateio": [*first["gateio"], refused("gateio", "btc_1-4f", Side.SELL, 8.5)],
    }
    result = inv.no_one_leg_entry_on_shortfall(again, shortfall, 6.5, after_refusal_s=2.0)
    assert not result.passed and "btc_1-4f refused at gateio 3.50 s" in result.detail
    assert "btc_1-2f" not in result.detail
    assert inv.no_one_leg_entry_on_shortfall(again, shortfall, 6.5, after_refusal_s=3.0).passed


def test_a_spot_leg_refused_for_the_balance_with_its_short_placed_fails():
    one_leg = {
        "mexc": [refused("mexc", "btc_1-1s", Side.BUY, 12.0)],
        "gateio": [accepted("gateio", "btc_1-2f", Side.SELL, 12.0)],
    }
    shortfall = [inv.Shortfall("mexc", 1.0, 20.0)]
    assert not inv.no_one_leg_entry_on_shortfall(
        one_leg, shortfall, grace_s=6.5, after_refusal_s=2.0
    ).passed


def test_an_entry_refused_on_both_legs_placed_nothing_to_unwind():
    both = {
        "mexc": [refused("mexc", "btc_1-1s", Side.BUY, 12.0)],
        "gateio": [refused("gateio", "btc_1-2f", Side.SELL, 12.0)],
    }
    shortfall = [inv.Shortfall("mexc", 1.0, 20.0), inv.Shortfall("gateio", 1.0, 20.0)]
    assert inv.no_one_leg_entry_on_shortfall(
        both, shortfall, grace_s=6.5, after_refusal_s=2.0
    ).passed


# ------------------------------------------------------------------ 12. history


def _cycle(task_id: str, cycle: int, basis: float, fees: tuple[float, float]) -> TradeRecord:
    spot_fee, futures_fee = fees
    pnl = basis - spot_fee - futures_fee
    return TradeRecord(
        "BTC/USDT", 1.0, 2.0, 1.0, 100.0, 100.0, 100.0, 100.0, pnl, pnl, "profit",
        spot_fee + futures_fee, 0.0, task_id=task_id, cycle=cycle, basis_usdt=basis,
        spot_fees_usdt=spot_fee, futures_fees_usdt=futures_fee,
    )  # fmt: skip


def test_history_adds_up_when_every_cycle_decomposes_with_its_fills_fees():
    cycles = [_cycle("t1", 1, 450.0, (50.175, 49.7)), _cycle("t2", 1, 3.0, (0.1, 0.1))]
    fees = {("t1", 1): 50.175 + 49.7, ("t2", 1): 0.2}
    result = inv.history_adds_up(cycles, fees)
    assert result.passed and result.detail == "2 cycles, each adding up"


def test_history_that_lost_or_doubled_a_fill_or_misses_a_part_is_caught():
    doubled = inv.history_adds_up([_cycle("t1", 1, 450.0, (50.175, 49.7))], {("t1", 1): 149.75})
    assert not doubled.passed and "stored fills' fees 149.75, the cycle's 99.875" in doubled.detail
    lost = inv.history_adds_up([_cycle("t1", 2, 450.0, (50.175, 49.7))], {})
    assert not lost.passed and "t1 cycle 2: stored fills' fees 0" in lost.detail
    wrong = msgspec.structs.replace(_cycle("t1", 1, 450.0, (0.0, 0.0)), pnl_usdt=449.0)
    broken = inv.history_adds_up([wrong], {("t1", 1): 0.0})
    assert not broken.passed and "parts sum to 450, P&L 449" in broken.detail
