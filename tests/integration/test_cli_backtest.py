"""`basis backtest` and `basis synth` as a user runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from actors.backtest.quote_files import QuoteFile

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample_quotes.csv"
TRADE_KEYS = {
    "symbol",
    "entry_ts_ms",
    "exit_ts_ms",
    "qty",
    "entry_spot_price",
    "entry_futures_price",
    "exit_spot_price",
    "exit_futures_price",
    "pnl_usdt",
    "pnl_pct",
    "exit_reason",
    "funding_usdt",
}


def basis(*args, check=True):
    return subprocess.run([*BASIS, *args], capture_output=True, text=True, check=check, cwd=ROOT)


def test_json_prints_the_documented_object(tmp_path):
    trades_csv = tmp_path / "trades.csv"
    result = basis("backtest", str(SAMPLE), "--json", "--trades-csv", str(trades_csv))
    report = json.loads(result.stdout.splitlines()[-1])
    assert set(report) == {
        "events",
        "cycles",
        "total_pnl_usdt",
        "open_positions",
        "trades",
        "skips",
        "resizes",
        "mode_changes",
        "task_types",
    }
    assert set(report["task_types"]) == {"spot_futures_arbitrage"}
    assert report["events"] == SAMPLE.read_text().count("\n") - 1
    assert report["cycles"] == len(report["trades"]) > 0
    assert report["total_pnl_usdt"] == sum(t["pnl_usdt"] for t in report["trades"])
    assert report["resizes"]
    for resize in report["resizes"]:
        assert resize["qty"] < resize["wanted_qty"]
        assert resize["reason"] == "too little depth"
    for trade in report["trades"]:
        assert set(trade) == TRADE_KEYS
        assert trade["exit_reason"] in {"profit", "timeout"}
        assert isinstance(trade["entry_ts_ms"], int)
        assert trade["entry_ts_ms"] <= trade["exit_ts_ms"]
    with trades_csv.open() as rows:
        written = list(csv.DictReader(rows))
    assert [row["symbol"] for row in written] == [t["symbol"] for t in report["trades"]]
    assert set(written[0]) == TRADE_KEYS
    assert result.stderr == ""  # no progress bar without a terminal


def test_without_json_a_table_with_per_symbol_totals():
    out = basis("backtest", str(SAMPLE), "--config", "configs/backtest.example.toml").stdout
    lines = out.splitlines()
    assert lines[0].split() == [
        "symbol",
        "cycles",
        "wins",
        "pnl_usdt",
        "funding_usdt",
        "volume_usdt",
        "open",
    ]
    assert [line.split()[0] for line in lines[2:5]] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert any(line.startswith("total") for line in lines)
    assert "events/s" in lines[-1]
    # The sample's books are thin in places: entries skipped and resized for depth.
    [skipped] = [line for line in lines if line.startswith("skipped: ")]
    assert "too little depth" in skipped
    resized = [line for line in lines if line.endswith("(too little depth)")]
    assert len(resized) >= 2


def test_synth_then_backtest_jsonl_gz(tmp_path):
    out = tmp_path / "quotes.jsonl.gz"
    made = basis(
        "synth", str(out), "--duration", "600", "--symbols", "BTC/USDT", "--seed", "4",
        "--funding-interval", "120",
    )  # fmt: skip
    with QuoteFile(out) as source:
        rows = list(source)
    assert f"wrote {len(rows):,} rows" in made.stderr
    assert sum(1 for row in rows if row[1] in ("spot", "futures")) == 1202
    # Settled every 120 s of the 600, each announced by its rate with the interval.
    settled = [row for row in rows if row[1] == "funding_settled"]
    assert len(settled) == 5
    rates = [row for row in rows if row[1] == "funding_rate"]
    assert rates[0][0] == rows[0][0] and all(row[4] == 120.0 for row in rates)
    report = json.loads(basis("backtest", str(out), "--json").stdout)
    assert report["events"] == len(rows)


def test_synth_funding_with_chosen_statistics(tmp_path):
    out = tmp_path / "quotes.csv"
    basis(
        "synth", str(out), "--duration", "14400", "--interval", "60", "--symbols", "SOL/USDT",
        "--funding-interval", "3600", "--funding-mean", "0.003", "--funding-vol", "0",
        "--funding-half-life", "86400", "--dislocations-per-hour", "0",
    )  # fmt: skip
    with QuoteFile(out) as source:
        settled = [row for row in source if row[1] == "funding_settled"]
    # A premium held at 0.3 % pays 0.25 % per 8 h, an eighth of it each hour, at each
    # hour (give or take the fast gap's average over the hour).
    assert len(settled) == 4 and all(row[0] % 3_600_000 == 0 for row in settled)
    assert all(abs(row[3] - 0.0025 / 8) < 0.001 / 8 for row in settled)


def test_a_config_with_funding_carry_backtests_each_symbol_as_its_task_type(tmp_path):
    out = tmp_path / "quotes.csv"
    basis(
        "synth", str(out), "--duration", "21600", "--interval", "30",
        "--symbols", "BTC/USDT,SOL/USDT", "--funding-mean", "0.002", "--funding-vol", "0",
        "--seed", "3",
    )  # fmt: skip
    config = tmp_path / "carry.toml"
    config.write_text(
        'symbols = ["BTC/USDT", "SOL/USDT"]\n[funding_carry]\nsymbols = ["SOL/USDT"]\n'
    )
    report = json.loads(basis("backtest", str(out), "--config", str(config), "--json").stdout)
    kinds = report["task_types"]
    assert (kinds["funding_carry"]["symbols"], kinds["spot_futures_arbitrage"]["symbols"]) == (1, 1)
    # A premium of 0.2 % held all along: the carry entered, holds, and was paid at SOL's
    # hourly settlements while it held.
    assert kinds["funding_carry"]["volume_usdt"] > 0.0
    assert kinds["funding_carry"]["funding_usdt"] > 0.0, kinds
    assert "SOL/USDT" in report["open_positions"]


def test_synth_refuses_funding_statistics_no_market_has(tmp_path):
    out = str(tmp_path / "x.csv")
    for option, value, problem in (
        ("--funding-mean", "0.5", "it is a fraction of the price (0.0001 pays 0.01 % per 8 h)"),
        ("--funding-mean", "nan", "expected a fraction of the price like 0.0001"),
        ("--funding-vol", "-0.001", "is not a spread of the premium"),
        ("--funding-half-life", "0", "expected a positive number of seconds"),
    ):
        result = basis("synth", out, option, value, check=False)
        assert result.returncode == 2
        assert f"argument {option}: " in result.stderr and problem in result.stderr
        assert not Path(out).exists()


def test_bad_input_names_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty\n5,spot,A/B,1,1,2,1\n4,spot,A/B,1,1,2,1\n"
    )
    result = basis("backtest", str(bad), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"basis backtest: {bad}:3: ts_ms 4 goes back in time (the row before has 5)"
    )
    config = tmp_path / "c.toml"
    config.write_text("[strategy]\nmax_hours = -1\n")
    result = basis("backtest", str(SAMPLE), "--config", str(config), check=False)
    assert result.returncode == 2
    assert f"{config}: strategy.max_hours: expected a number > 0" in result.stderr
    result = basis("synth", str(tmp_path / "x.csv"), "--symbols", "BTCUSDT", check=False)
    assert result.returncode == 2
    assert "expected symbols like BTC/USDT,ETH/USDT, got 'BTCUSDT'" in result.stderr
