"""Quote files: both formats, gzip, and errors that name the file and line."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.backtest.quote_files import (
    HEADER,
    QuoteFile,
    QuoteFileError,
    QuoteFileWriter,
    funding_rate_row,
    funding_settled_row,
)

ROWS = [
    (1000, "spot", "BTC/USDT", 100.0, 1.5, 100.5, 2.0),
    (1000, "futures", "BTC/USDT", 100.2, 3.0, 100.7, 4.0),
    (1500, "spot", "ETH/USDT", 0.0, 0.0, 10.5, 7.0),
    funding_rate_row(1500, "BTC/USDT", -0.000125, 14400.0, 1714.0),
    funding_settled_row(2000, "BTC/USDT", 0.0001),
]


def read(path):
    with QuoteFile(path) as source:
        return list(source)


@pytest.mark.parametrize("name", ["q.csv", "q.jsonl", "q.csv.gz", "q.jsonl.gz"])
def test_what_the_writer_writes_the_reader_reads(tmp_path, name):
    path = tmp_path / name
    with QuoteFileWriter(path) as writer:
        for row in ROWS:
            writer.write(row)
    assert read(path) == ROWS
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


rows = st.lists(
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["spot", "futures"]),
        st.sampled_from(["BTC/USDT", "SOL/USDT"]),
        *[st.floats(0.0, 1e7, allow_nan=False)] * 4,
    ),
    max_size=20,
).map(lambda found: sorted(found, key=lambda row: row[0]))


@given(rows)
def test_csv_round_trips_floats_exactly(tmp_path_factory, found):
    path = tmp_path_factory.mktemp("q") / "q.csv"
    with QuoteFileWriter(path) as writer:
        for row in found:
            writer.write(row)
    assert read(path) == found


def test_json_lines_are_recognised_by_content_whatever_the_name(tmp_path):
    path = tmp_path / "quotes.txt"
    path.write_text(
        '{"ts_ms":1,"leg":"spot","symbol":"BTC/USDT","bid":1,"bid_qty":2,"ask":3,"ask_qty":4}\n\n'
    )
    assert read(path) == [(1, "spot", "BTC/USDT", 1.0, 2.0, 3.0, 4.0)]


def test_an_empty_file_has_no_rows(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert read(path) == []


def csv_file(tmp_path, *lines):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([",".join(HEADER), *lines]) + "\n")
    return path


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["2,spot,BTC/USDT,1,1,2,1", "1,spot,BTC/USDT,1,1,2,1"], ":3: ts_ms 1 goes back in time"),
        (["1,spot,BTC/USDT,1,1,2"], ":2: expected 7 columns, got 6"),
        (["1,spot,BTC/USDT,one,1,2,1"], ":2: not a number"),
        (
            ["1,perp,BTC/USDT,1,1,2,1"],
            ":2: leg must be one of spot, futures, funding_rate, funding_settled, got 'perp'",
        ),
        (["1,spot,BTC/USDT,1,-1,2,1"], ":2: prices and quantities must be 0 or more"),
        (["1,spot,BTC/USDT,nan,1,2,1"], ":2: prices and quantities must be 0 or more"),
        (["1,funding_rate,BTC/USDT,0.0001,0,0,0"], ":2: a funding_rate row gives the rate"),
        (["1,funding_settled,BTC/USDT,5,0,0,0"], ":2: a funding_settled row gives the rate"),
    ],
)
def test_a_bad_csv_row_is_named_by_file_and_line(tmp_path, lines, message):
    path = csv_file(tmp_path, *lines)
    with pytest.raises(QuoteFileError) as error:
        read(path)
    assert str(error.value).startswith(f"{path}{message}")


def test_a_wrong_header_says_what_it_must_be(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,leg,symbol,bid,bid_qty,ask,ask_qty\n")
    with pytest.raises(QuoteFileError, match="the header must be ts_ms,leg,symbol"):
        read(path)


def test_a_bad_json_line_is_named_by_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"ts_ms":1,"leg":"spot","symbol":"BTC/USDT","bid":1,"bid_qty":2,"ask":3,"ask_qty":4}\n'
        '{"ts_ms":2,"leg":"spot","symbol":"BTC/USDT","bid":"x","bid_qty":2,"ask":3,"ask_qty":4}\n'
    )
    with pytest.raises(QuoteFileError) as error:
        read(path)
    assert str(error.value).startswith(f"{path}:2: ")
    assert "$.bid" in str(error.value)


def test_a_truncated_gzip_file_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "cut.csv.gz"
    data = gzip.compress(("\n".join([",".join(HEADER)] + ["1,spot,A/B,1,1,2,1"] * 5000)).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(QuoteFileError, match="cannot read it"):
        read(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(QuoteFileError, match=r"missing\.csv: cannot open it"):
        QuoteFile(tmp_path / "missing.csv")


def test_progress_reaches_the_file_size(tmp_path):
    path = csv_file(tmp_path, *[f"{i},spot,BTC/USDT,1,1,2,1" for i in range(20_000)])
    seen = []
    with QuoteFile(path) as source:
        for count, _ in enumerate(source):
            if count % 1000 == 0:
                seen.append(source.position)
        assert source.position == source.size
    assert seen == sorted(seen)
    assert seen[0] < source.size
