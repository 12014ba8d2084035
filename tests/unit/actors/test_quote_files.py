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
from protocols.model import BookDepth

ROWS = [
    (1000, "spot", "BTC/USDT", 100.0, 1.5, 100.5, 2.0),
    (1000, "futures", "BTC/USDT", 100.2, 3.0, 100.7, 4.0),
    (1500, "spot", "ETH/USDT", 0.0, 0.0, 10.5, 7.0),
    funding_rate_row(1500, "BTC/USDT", -0.000125, 14400.0, 1714.0),
    funding_settled_row(2000, "BTC/USDT", 0.0001),
    funding_settled_row(2000, "ETH/USDT", -0.00002, 3201.5),
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


def uncrossed(row):
    """``row`` with its bid at or below its ask, as a venue shows them."""
    ts, leg, symbol, bid, bid_qty, ask, ask_qty = row
    low, high = sorted((bid, ask))
    return ts, leg, symbol, low, bid_qty, high, ask_qty


quote_rows = st.tuples(
    st.integers(0, 10**6),
    st.sampled_from(["spot", "futures"]),
    st.sampled_from(["BTC/USDT", "SOL/USDT"]),
    *[st.floats(0.0, 1e7, allow_nan=False)] * 4,
).map(uncrossed)
rows = st.lists(quote_rows, max_size=20).map(lambda found: sorted(found, key=lambda row: row[0]))


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
        (["1,spot,BTC/USDT,nan,1,2,1"], ":2: prices and quantities must be finite numbers"),
        (["1,spot,BTC/USDT,1,1,inf,1"], ":2: prices and quantities must be finite numbers"),
        (["1,spot,BTC/USDT,1,-inf,2,1"], ":2: prices and quantities must be finite numbers"),
        (["1,futures,BTC/USDT,1,1,2,nan"], ":2: prices and quantities must be finite numbers"),
        (["1,funding_rate,BTC/USDT,0.0001,inf,0,0"], ":2: prices and quantities must be finite"),
        (["1,spot,BTC/USDT,-1,1,2,1"], ":2: prices and quantities must be 0 or more"),
        (["1,spot,BTC/USDT,1,1,2,1", "2,spot,BTC/USDT,2.5,1,2,1"], ":3: bid 2.5 is above ask 2.0"),
        (["-5,spot,BTC/USDT,1,1,2,1"], ":2: ts_ms -5 is not a time in Unix milliseconds"),
        (["1.5,spot,BTC/USDT,1,1,2,1"], ":2: not a number"),
        (["1,spot,BTCUSDT,1,1,2,1"], ":2: symbol 'BTCUSDT' is not of the form BASE/QUOTE"),
        (["1,funding_rate,BTC/USDT,0.0001,0,0,0"], ":2: a funding_rate row gives the rate"),
        (["1,funding_settled,BTC/USDT,5,0,0,0"], ":2: a funding_settled row gives the rate"),
        (["1,funding_settled,BTC/USDT,0.0001,0,-1,0"], ":2: a funding_settled row gives the"),
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


def test_a_locked_quote_a_side_left_empty_and_rows_sharing_a_time_are_read(tmp_path):
    """What a venue can show is read: bid equal to ask, one side empty (price and
    quantity 0), several rows in the same millisecond."""
    path = csv_file(
        tmp_path,
        "1,spot,BTC/USDT,2,1,2,1",
        "1,futures,BTC/USDT,3,1,0,0",
        "1,spot,BTC/USDT,0,0,2,1",
    )
    assert [row[3:6:2] for row in read(path)] == [(2.0, 2.0), (3.0, 0.0), (0.0, 2.0)]


@given(
    st.lists(quote_rows, min_size=1, max_size=30),
    st.data(),
    st.floats(1.0, 1e7, allow_nan=False),
    st.sampled_from(["q.csv", "q.jsonl"]),
)
def test_a_crossed_quote_anywhere_is_refused_with_its_line(
    tmp_path_factory, found, data, gap, name
):
    found = sorted(found, key=lambda row: row[0])
    where = data.draw(st.integers(0, len(found) - 1))
    ts, leg, symbol, _, bid_qty, ask, ask_qty = found[where]
    ask = max(ask, 1.0)
    found[where] = (ts, leg, symbol, ask + gap, bid_qty, ask, ask_qty)
    path = tmp_path_factory.mktemp("q") / name
    with QuoteFileWriter(path) as writer:
        for row in found:
            writer.write(row)
    line = where + (2 if name == "q.csv" else 1)
    with pytest.raises(QuoteFileError) as error:
        read(path)
    assert str(error.value).startswith(f"{path}:{line}: bid {ask + gap!r} is above ask {ask!r}")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999", "Number out of range"),
        ("-1.0", "prices and quantities must be 0 or more"),
        ("Infinity", "JSON is malformed"),
        ("NaN", "JSON is malformed"),
    ],
)
def test_a_bad_json_price_is_refused_with_its_line(tmp_path, value, message):
    path = tmp_path / "bad.jsonl"
    good = '{"ts_ms":1,"leg":"spot","symbol":"BTC/USDT","bid":1,"bid_qty":2,"ask":3,"ask_qty":4}'
    bad = good.replace('"ask":3', f'"ask":{value}')
    path.write_text(f"{good}\n{bad}\n")
    with pytest.raises(QuoteFileError) as error:
        read(path)
    assert str(error.value).startswith(f"{path}:2: {message}")


DEPTH = BookDepth(bids=((100.0, 1.5), (99.5, 2.0)), asks=((100.5, 2.0), (101.0, 0.25)))


@pytest.mark.parametrize("name", ["d.csv", "d.jsonl.gz"])
def test_depth_is_written_and_read_with_its_row_and_rows_without_it_read_as_before(tmp_path, name):
    path = tmp_path / name
    with QuoteFileWriter(path, depth=True) as writer:
        writer.write(ROWS[0], DEPTH)
        writer.write(ROWS[1])
        writer.write(ROWS[3])
    with QuoteFile(path) as source:
        assert list(source.with_depth()) == [(ROWS[0], DEPTH), (ROWS[1], None), (ROWS[3], None)]
    assert read(path) == [ROWS[0], ROWS[1], ROWS[3]]


@pytest.mark.parametrize(
    ("depth", "problem"),
    [
        ("100.0:1|100.5", "is not price:qty"),
        ("100.0:1;100.2:1|100.5:1", "depth bids must go down from the best"),
        ("100.0:1|100.5:-1", "a level is a price above 0 and a quantity of 0 or more"),
        ("100.0:1", "depth is BIDS|ASKS"),
    ],
)
def test_bad_depth_is_refused_with_the_line(tmp_path, depth, problem):
    path = tmp_path / "d.csv"
    path.write_text(f"{','.join(HEADER)},depth\n1,spot,BTC/USDT,100.0,1,100.5,1,{depth}\n")
    with pytest.raises(QuoteFileError) as raised:
        read(path)
    assert f"{path}:2:" in str(raised.value) and problem in str(raised.value)
