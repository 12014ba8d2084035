"""``basis report``: the window's times in each accepted form, the summary as JSON and
the CSV files, and each mistake one line with exit 2 having written nothing."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.analytics.exports import summary_json
from actors.analytics.history import Window, read_history
from actors.analytics.page import report_html
from actors.analytics.summary import summarize
from actors.cli.main import main
from actors.cli.report import window_end, window_start
from actors.runtime.persistence.store import Store
from tests.unit.analytics.builders import D, fill, trade

BTC, ETH = "BTC/USDT", "ETH/USDT"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    with Store(directory / "basis.db") as store:
        store.write_batch(
            (),
            (),
            (),
            history=[
                trade(BTC, JAN_1 + 100, JAN_1 + 200, 3.0),
                trade(ETH, JAN_1 + D + 100, JAN_1 + D + 300, -1.0, task_id="t2"),
                fill(BTC, "mexc", JAN_1 + 100, 1.0, 100.0, 0.05, trade_id="a"),
            ],
        )
    return directory


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["report", *args])
    except SystemExit as exit_:  # argparse's own mistakes
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-01-01", JAN_1, JAN_1 + D),  # a date: its whole day
        ("2026-01-01T06:30", JAN_1 + 6.5 * 3600, JAN_1 + 6.5 * 3600),  # UTC without offset
        ("2026-01-01T06:30:00Z", JAN_1 + 6.5 * 3600, JAN_1 + 6.5 * 3600),
        ("2026-01-01 08:30+02:00", JAN_1 + 6.5 * 3600, JAN_1 + 6.5 * 3600),
        ("1767225600", JAN_1, JAN_1),
        ("1767225600.5", JAN_1 + 0.5, JAN_1 + 0.5),
    ],
)
def test_a_time_is_a_date_a_date_time_or_unix_seconds(text, start, end):
    assert (window_start(text), window_end(text)) == (start, end)


@pytest.mark.parametrize("text", ["yesterday", "2026-02-30", "2026-13-01T00:00", "-5", ""])
def test_anything_else_is_refused_naming_the_forms(text):
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a date .* or Unix seconds"):
        window_start(text)


def test_json_prints_the_summary_of_the_window(capsys, data_dir):
    code, out, err = run(capsys, "--data-dir", str(data_dir), "--json", "--to", "2026-01-01")
    assert (code, err) == (0, "")
    window = Window(None, JAN_1 + D, None)
    assert out.encode() == summary_json(summarize(read_history(data_dir / "basis.db", window)))
    summary = json.loads(out)
    assert (summary["cycles"], summary["realized_pnl_usdt"]) == (1, 3.0)
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "--json", "--symbol", "eth/usdt")
    assert (code, json.loads(out)["realized_pnl_usdt"]) == (0, -1.0)


def test_csv_writes_the_three_files(capsys, data_dir, tmp_path):
    code, out, err = run(capsys, "--data-dir", str(data_dir), "--csv", str(tmp_path / "csv"))
    assert (code, out) == (0, "")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "cycles.csv",
        "fills.csv",
        "funding.csv",
    ]
    assert len((tmp_path / "csv" / "cycles.csv").read_text().splitlines()) == 3
    assert f"wrote {tmp_path / 'csv' / 'cycles.csv'}" in err


def test_the_data_directory_comes_from_the_environment_without_data_dir(
    capsys, data_dir, monkeypatch
):
    monkeypatch.setenv("BASIS_DATA_DIR", str(data_dir))
    code, out, _ = run(capsys, "--json")
    assert (code, json.loads(out)["cycles"]) == (0, 2)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--from", "soon"],
            "basis report: argument --from: expected a date (2026-01-31), a date-time",
        ),
        (
            ["--from", "2026-01-02", "--to", "2026-01-01"],
            "basis report: --from (2026-01-02T00:00:00Z) is not before --to "
            "(2026-01-02T00:00:00Z, the end of its day when a date); give a --from earlier "
            "than --to",
        ),
        (
            ["--from", "99999999999999", "--to", "1"],
            "basis report: argument --from: '99999999999999' is not between 1970-01-01 and "
            "9999-12-31; give a time in that range",
        ),
        (["--to", "9999-12-31"], "basis report: argument --to: expected a date (2026-01-31)"),
        (["--symbol", "BTCUSDT"], "basis report: argument --symbol: symbol 'BTCUSDT' is not"),
        (["--data-dir", "{missing}"], "basis report: no store at {missing}/basis.db; pass"),
        (["--data-dir", "{not_a_store}"], "basis report: {not_a_store}/basis.db: not a Basis"),
        (["--csv", "{a_file}"], "basis report: argument --csv: {a_file} is a file; name a"),
        (["--out", "{missing}/r.html"], "basis report: argument --out: cannot write {missing}"),
    ],
)
def test_each_mistake_is_one_line_and_exit_2_having_written_nothing(
    capsys, tmp_path, monkeypatch, data_dir, args, says
):
    places = {
        "missing": tmp_path / "missing",
        "not_a_store": tmp_path / "other",
        "a_file": tmp_path / "a_file",
    }
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "basis.db").write_text("not a database" * 20)
    (tmp_path / "a_file").write_text("")
    args = [a.format(**places) for a in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(data_dir)]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = run(capsys, *args, "--csv", str(tmp_path / "csv"))
    assert code == 2
    assert out == ""
    assert err.startswith(says.format(**places))
    assert err.count("\n") == 1
    assert list(work.iterdir()) == []
    assert not (tmp_path / "csv").exists()


def test_without_json_or_csv_a_missing_store_writes_no_report(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--data-dir", "nowhere")
    assert (code, out) == (2, "")
    assert (
        err == "basis report: no store at nowhere/basis.db; pass --data-dir with the data "
        "directory of a run or a backtest\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_without_json_or_csv_a_file_that_is_no_store_writes_no_report(
    capsys, tmp_path, monkeypatch
):
    (tmp_path / "basis.db").write_text("not a database" * 20)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--data-dir", ".")
    assert (code, out) == (2, "")
    assert err.startswith("basis report: basis.db: not a Basis store (file is not a database)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["basis.db"]


def test_out_writes_the_window_s_page_as_report_html_renders_it(capsys, data_dir, tmp_path):
    out = tmp_path / "btc.html"
    code, stdout, err = run(capsys, "--data-dir", str(data_dir), "--symbol", BTC, "--out", str(out))
    assert (code, stdout) == (0, "")
    assert str(out) in err
    window = read_history(data_dir / "basis.db", Window(symbol=BTC))
    assert out.read_text() == report_html(window)
    assert "ETH/USDT" not in out.read_text()


def test_an_out_file_in_a_missing_directory_is_one_line_and_exit_2(capsys, data_dir, tmp_path):
    code, _, err = run(
        capsys, "--data-dir", str(data_dir), "--out", str(tmp_path / "no" / "r.html")
    )
    assert code == 2
    assert err.startswith("basis report: ") and err.count("\n") == 1
    assert not (tmp_path / "no").exists()


def test_a_page_that_cannot_be_written_is_one_line_and_exit_2_before_any_csv(
    capsys, data_dir, tmp_path, monkeypatch
):
    def refuse(source, target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr("actors.analytics.page.os.replace", refuse)
    out, csv = tmp_path / "r.html", tmp_path / "csv"
    code, stdout, err = run(
        capsys, "--data-dir", str(data_dir), "--out", str(out), "--csv", str(csv)
    )
    assert (code, stdout) == (2, "")
    assert err == (
        f"basis report: cannot write {out}: Permission denied; name a place this user may write\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
