"""What ``basis record`` writes of the funding it hears."""

from __future__ import annotations

from actors.backtest.quote_files import QuoteFile, QuoteFileWriter
from actors.cli.record import FUNDING_RECORD_EVERY_S, Recording
from protocols.messages import FundingRateUpdate, MarketQuote
from protocols.model import Leg, Quote, Symbol

BTC = Symbol("BTC", "USDT")


def quote_at(ts: float) -> MarketQuote:
    return MarketQuote(Leg.SPOT, Quote(BTC, 100.0, 1.0, 100.1, 1.0, ts, ts))


def recorded(tmp_path, updates, with_ts=False):
    path = tmp_path / "q.csv"
    with QuoteFileWriter(path) as writer:
        recording = Recording(writer)
        for update in updates:
            recording.funding_rate(BTC, update)
    with QuoteFile(path) as source:
        return [row if with_ts else row[1:] for row in source]


def test_a_drifting_rate_is_written_now_and_then_a_sign_change_at_once(tmp_path):
    rows = recorded(
        tmp_path,
        [
            FundingRateUpdate(10.0, 0.0001, 3600.0, 3600.0),
            FundingRateUpdate(11.0, 0.00011, 3600.0, 3600.0),  # drift: not yet
            FundingRateUpdate(12.0, -0.00002, 3600.0, 3600.0),  # the short would pay
            FundingRateUpdate(12.0 + FUNDING_RECORD_EVERY_S, -0.00003, 3600.0, 3600.0),
        ],
    )
    assert rows == [
        ("funding_rate", "BTC/USDT", 0.0001, 3600.0, 3600.0, 0.0),
        ("funding_rate", "BTC/USDT", -0.00002, 3600.0, 3600.0, 0.0),
        ("funding_rate", "BTC/USDT", -0.00003, 3600.0, 3600.0, 0.0),
    ]


def test_a_settlement_time_that_moves_on_writes_the_settlement_at_the_rate_before_it(tmp_path):
    rows = recorded(
        tmp_path,
        [
            FundingRateUpdate(3590.0, 0.0002, 3600.0, 3600.0),
            FundingRateUpdate(3601.0, 0.00005, 3600.0, 7200.0),
        ],
        with_ts=True,
    )
    assert rows == [
        (3_590_000, "funding_rate", "BTC/USDT", 0.0002, 3600.0, 3600.0, 0.0),
        # At its own time, before the update that told of it.
        (3_600_000, "funding_settled", "BTC/USDT", 0.0002, 0.0, 0.0, 0.0),
        (3_601_000, "funding_rate", "BTC/USDT", 0.00005, 3600.0, 7200.0, 0.0),
    ]


def test_a_settlement_is_written_at_its_own_time_once_a_row_passes_it(tmp_path):
    path = tmp_path / "q.csv"
    with QuoteFileWriter(path) as writer:
        recording = Recording(writer)
        recording.funding_rate(BTC, FundingRateUpdate(3500.0, 0.0002, 3600.0, 3600.0))
        recording.funding_rate(BTC, FundingRateUpdate(3550.0, 0.0003, 3600.0, 3600.0))
        recording.quote(quote_at(3599.5))
        recording.quote(quote_at(3600.25))  # passes the settlement: written before it
        # The venue still names the settlement just made: it is not made again.
        recording.funding_rate(BTC, FundingRateUpdate(3600.5, 0.0003, 3600.0, 3600.0))
        recording.quote(quote_at(3601.0))
        recording.funding_rate(BTC, FundingRateUpdate(3602.0, 0.0001, 3600.0, 7200.0))
    with QuoteFile(path) as source:
        rows = [(row[0], row[1], row[3]) for row in source]
    assert rows == [
        (3_500_000, "funding_rate", 0.0002),
        (3_599_500, "spot", 100.0),
        (3_600_000, "funding_settled", 0.0003),  # the rate last heard before it
        (3_600_250, "spot", 100.0),
        (3_600_500, "funding_rate", 0.0003),  # a minute since the last: written again
        (3_601_000, "spot", 100.0),
        (3_602_000, "funding_rate", 0.0001),
    ]


def test_a_venue_that_moves_on_before_this_clock_settles_at_the_time_heard(tmp_path):
    rows = recorded(
        tmp_path,
        [
            FundingRateUpdate(3590.0, 0.0002, 3600.0, 3600.0),
            FundingRateUpdate(3599.0, 0.00005, 3600.0, 7200.0),  # this clock is behind
        ],
        with_ts=True,
    )
    assert rows == [
        (3_590_000, "funding_rate", "BTC/USDT", 0.0002, 3600.0, 3600.0, 0.0),
        (3_599_000, "funding_settled", "BTC/USDT", 0.0002, 0.0, 0.0, 0.0),
        (3_599_000, "funding_rate", "BTC/USDT", 0.00005, 3600.0, 7200.0, 0.0),
    ]
