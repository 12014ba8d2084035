"""Matching the tick bench's trace to the venue's stamps, and the segments' arithmetic."""

from __future__ import annotations

from bench.tick_segments import SEGMENTS, split
from protocols.model import Leg

ORDER = (b"POST", b"/api/v3/order?symbol=BTCUSDT")
TRADES = (b"GET", b"/api/v3/myTrades?symbol=BTCUSDT")


def is_order(tag: object) -> bool:
    return tag == ORDER


def test_a_decision_is_split_at_its_marks_and_the_segments_add_up_to_its_path():
    stamps = [
        ("quote", Leg.SPOT, 130),
        ("decision", None, 160),
        ("committed", None, 400),
        ("wire", ORDER, 450),
    ]
    matched, unmatched = split([(100, 500)], stamps, Leg.SPOT, is_order)
    assert unmatched == 0
    assert matched == [(30, 30, 240, 50, 50)]
    assert len(matched[0]) == len(SEGMENTS)
    assert sum(matched[0]) == 500 - 100


def test_futures_quotes_and_other_requests_inside_a_window_are_passed_over():
    stamps = [
        ("quote", Leg.FUTURES, 110),  # the venue's futures push, before the spot quote
        ("wire", TRADES, 120),  # the previous decision's trades asked for
        ("quote", Leg.SPOT, 130),
        ("quote", Leg.FUTURES, 140),
        ("decision", None, 160),
        ("wire", TRADES, 300),
        ("committed", None, 400),
        ("wire", ORDER, 450),
        ("wire", (b"POST", b"/api/v4/futures/usdt/orders"), 460),
    ]
    matched, unmatched = split([(100, 500)], stamps, Leg.SPOT, is_order)
    assert (matched, unmatched) == ([(30, 30, 240, 50, 50)], 0)


def test_marks_outside_a_window_belong_to_no_decision_and_a_missing_mark_is_counted():
    stamps = [
        ("quote", Leg.SPOT, 50),  # before the first window: not its quote
        ("quote", Leg.SPOT, 130),
        ("decision", None, 160),
        ("committed", None, 400),
        # this window's order request was never written: the decision lacks a mark,
        ("wire", ORDER, 600),  # and this one, after the window, is not taken for it
        ("quote", Leg.SPOT, 1010),
        ("decision", None, 1020),
        ("committed", None, 1030),
        ("wire", ORDER, 1040),
    ]
    windows = [(100, 500), (1000, 1100)]
    matched, unmatched = split(windows, stamps, Leg.SPOT, is_order)
    assert (matched, unmatched) == ([(10, 10, 10, 10, 60)], 1)


def test_marks_out_of_the_path_s_order_do_not_match():
    stamps = [
        ("quote", Leg.SPOT, 130),
        ("committed", None, 150),  # a previous decision's commit, before this decision
        ("decision", None, 160),
        ("wire", ORDER, 450),
    ]
    assert split([(100, 500)], stamps, Leg.SPOT, is_order) == ([], 1)


def test_the_bench_takes_only_the_spot_order_placement_for_the_path_s_end():
    from bench.tick_bench import is_spot_order

    assert is_spot_order((b"POST", b"/api/v3/order?symbol=BTCUSDT&side=BUY"))
    assert not is_spot_order((b"GET", b"/api/v3/order?symbol=BTCUSDT"))
    assert not is_spot_order((b"GET", b"/api/v3/myTrades?symbol=BTCUSDT"))
    assert not is_spot_order((b"POST", b"/api/v4/futures/usdt/orders"))
