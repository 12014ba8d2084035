"""`basis record` against the simulated venues, then `basis backtest` on what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from actors.backtest.quote_files import QuoteFile

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]


def test_recorded_quotes_backtest(tmp_path):
    out = tmp_path / "quotes.jsonl.gz"
    done = subprocess.run(
        [*BASIS, "record", "--duration", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with QuoteFile(out) as source:
        rows = list(source)
    symbols = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    quotes = [row for row in rows if row[1] in ("spot", "futures")]
    assert {(row[1], row[2]) for row in quotes} == {
        (leg, symbol) for leg in ("spot", "futures") for symbol in symbols
    }
    assert all(row[3] < row[5] for row in quotes)  # bid below ask
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    # Each perpetual's funding as the venue published it: its own interval, the next
    # settlement ahead of the time it was heard.
    funding = [row for row in rows if row[1] == "funding_rate"]
    assert {row[2] for row in funding} == set(symbols)
    intervals = {"BTC/USDT": 8 * 3600.0, "ETH/USDT": 4 * 3600.0, "SOL/USDT": 3600.0}
    assert all(row[4] == intervals[row[2]] and row[5] * 1000 > row[0] for row in funding)
    report = subprocess.run(
        [*BASIS, "backtest", str(out), "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(report.stdout)["events"] == len(rows)


def test_a_bad_config_names_the_key(tmp_path):
    config = tmp_path / "basis.toml"
    config.write_text('symbols = ["DOGEUSDT"]\n')
    done = subprocess.run(
        [*BASIS, "record", "--config", str(config), "--duration", "1", "--out", "x.csv"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert f"{config}: symbols: symbol 'DOGEUSDT' is not of the form BASE/QUOTE" in done.stderr
