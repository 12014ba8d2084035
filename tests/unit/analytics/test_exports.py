"""The summary as JSON, and the cycles, fills and funding as CSV that read back to the
records written."""

from __future__ import annotations

import csv
import json

import msgspec

from actors.analytics.exports import summary_json, write_csv
from actors.analytics.history import History, Window
from actors.analytics.summary import Summary, summarize
from protocols.history import FillRecord, FundingRecord
from protocols.messages import TradeRecord
from tests.unit.analytics.builders import H, fill, funding, trade

BTC = "BTC/USDT"


def _history() -> History:
    return History(
        window=Window(0.0, 10 * H),
        cycles=[trade(BTC, 1 * H, 2 * H, 0.1 + 0.2), trade(BTC, 3 * H, 4 * H, -1.5, cycle=2)],
        fills=[fill(BTC, "mexc", 1 * H, 0.001, 50000.0, 0.025, trade_id="t1")],
        funding=[funding(BTC, 2 * H, 1e-9, ledger_id="L1")],
        series={},
        settings={},
        open_positions=[],
        incidents=[],
    )


def test_the_summary_json_reads_back_to_the_summary():
    summary = summarize(_history())
    text = summary_json(summary)
    assert text.endswith(b"}\n")
    assert msgspec.json.decode(text, type=Summary) == summary
    fields = json.loads(text)
    assert fields["cycles"] == 2
    assert fields["sharpe"] is None
    assert fields["fees_by_venue_usdt"] == {"mexc": 0.025}


def test_each_csv_file_has_the_records_fields_and_reads_back_to_them(tmp_path):
    history = _history()
    written = write_csv(history, tmp_path / "out")
    assert [p.name for p in written] == ["cycles.csv", "fills.csv", "funding.csv"]
    for path, kind, records in zip(
        written,
        (TradeRecord, FillRecord, FundingRecord),
        (history.cycles, history.fills, history.funding),
        strict=True,
    ):
        with path.open(newline="", encoding="utf-8") as source:
            rows = list(csv.DictReader(source))
        assert list(rows[0]) == list(kind.__struct_fields__)
        # Every number reads back to the same float; an absent value is an empty cell.
        read = [
            msgspec.convert(
                {key: value for key, value in row.items() if value != ""}, kind, strict=False
            )
            for row in rows
        ]
        assert read == records
    assert "0.30000000000000004" in (tmp_path / "out" / "cycles.csv").read_text()
