"""A window's figures as JSON, and its cycles, fills and funding settlements as CSV files
for pandas and spreadsheets: a header row of the records' field names, one row per
record, numbers as Python writes them (they read back to the same floats), an absent
value as an empty cell."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec

from actors.analytics.history import History
from actors.analytics.summary import Summary
from protocols.history import FillRecord, FundingRecord
from protocols.messages import TradeRecord

CSV_FILES = ("cycles.csv", "fills.csv", "funding.csv")


def summary_json(summary: Summary) -> bytes:
    """The summary as indented JSON, ending in a newline."""
    return msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n"


def write_csv(history: History, directory: Path) -> list[Path]:
    """Write ``cycles.csv``, ``fills.csv`` and ``funding.csv`` into ``directory`` (made if
    missing); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    tables: list[tuple[type[msgspec.Struct], list]] = [
        (TradeRecord, history.cycles),
        (FillRecord, history.fills),
        (FundingRecord, history.funding),
    ]
    written = []
    for name, (kind, records) in zip(CSV_FILES, tables, strict=True):
        path = directory / name
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(kind.__struct_fields__)
            for record in records:
                writer.writerow(_cell(value) for value in msgspec.structs.astuple(record))
        written.append(path)
    return written


def _cell(value: object) -> object:
    return "" if value is None else value
