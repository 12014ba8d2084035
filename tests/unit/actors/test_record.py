"""What ``basis record`` writes of the funding it hears."""

from __future__ import annotations

from actors.backtest.quote_files import QuoteFile, QuoteFileWriter
from actors.cli.record import FUNDING_RECORD_EVERY_S, Recording
from protocols.messages import FundingRateUpdate
from protocols.model import Symbol

BTC = Symbol("BTC", "USDT")


def recorded(tmp_path, updates):
    path = tmp_path / "q.csv"
    with QuoteFileWriter(path) as writer:
        recording = Recording(writer)
        for update in updates:
            recording.funding_rate(BTC, update)
    with QuoteFile(path) as source:
        return [row[1:] for row in source]


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
    )
    assert rows == [
        ("funding_rate", "BTC/USDT", 0.0002, 3600.0, 3600.0, 0.0),
        ("funding_settled", "BTC/USDT", 0.0002, 0.0, 0.0, 0.0),
        ("funding_rate", "BTC/USDT", 0.00005, 3600.0, 7200.0, 0.0),
    ]
