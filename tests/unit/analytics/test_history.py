"""Reading a window's history from a store written as the writer writes it: what falls
in the window, each symbol's settings, the positions open at its end, the incidents, and
a clear error for a file that is no store to report on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from actors.analytics.history import (
    Incident,
    OpenPosition,
    SymbolSettings,
    Window,
    read_history,
)
from actors.analytics.summary import summarize, symbol_rows
from actors.arbitrage.context import ArbitrageParams, ArbitrageState, new_context
from actors.runtime.alerts.alert import Alert
from actors.runtime.persistence.store import (
    MIGRATIONS,
    OutboxRecord,
    RiskModeRow,
    Store,
    StoreError,
)
from actors.runtime.persistence.writer import snapshot_record
from protocols.history import SeriesPoint
from protocols.model import Symbol
from tests.unit.analytics.builders import D, H, fill, funding, trade

BTC, ETH = "BTC/USDT", "ETH/USDT"


def _task(task_id: str, symbol: str, now: float, **changes):
    params = ArbitrageParams(max_entry_cost_pct=0.3, min_profit_pct=0.4, max_hours=2.0)
    if symbol == ETH:
        params = ArbitrageParams(max_entry_cost_pct=0.2, min_profit_pct=0.5, max_hours=8.0)
    ctx = new_context(task_id, Symbol.parse(symbol), now=now, params=params)
    return snapshot_record(ctx.evolve(last_update=now, **changes))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Two days: BTC closes a cycle on each (the second from its second task); ETH
    closes one on the first day, and opens another on the second, still open."""
    path = tmp_path / "basis.db"
    old_btc = _task("btc1", BTC, 30.0, params__max_hours=1.0, state=ArbitrageState.STOPPED)
    new_btc = _task("btc2", BTC, D, state=ArbitrageState.MONITORING)
    eth = _task(
        "eth1",
        ETH,
        D + 20 * H,
        state=ArbitrageState.POSITION_OPEN,
        positions__spot__qty=2.0,
        positions__futures__qty=2.0,
        position_opened_at=D + 6 * H,
        cycle__realized_usdt=-0.4,
        arbitrage_cycles=1,
    )
    with Store(path) as store:
        store.write_batch(
            [old_btc, new_btc, eth],
            (),
            (),
            history=[
                # Stored out of order: read back by exit time.
                trade(BTC, D + 1 * H, D + 3 * H, 7.0, task_id="btc2"),
                trade(BTC, 1 * H, 2 * H, 5.0, task_id="btc1"),
                trade(ETH, 3 * H, 4 * H, -2.0, task_id="eth1", reason="timeout"),
                fill(BTC, "mexc", 1 * H, 1.0, 100.0, 0.05, trade_id="a", task_id="btc1"),
                fill(BTC, "mexc", D + 1 * H, 1.0, 100.0, 0.05, trade_id="b", task_id="btc2"),
                funding(ETH, 3.5 * H, 0.25, ledger_id="L1", task_id="eth1"),
                SeriesPoint(BTC, 1.5 * H, 0.2, 3.0, 0.03, 3.2),
                SeriesPoint(BTC, 2.5 * H, 0.6),
                SeriesPoint(ETH, D + 7 * H, 0.1, 1.0, 0.005, 1.4),
                SeriesPoint(ETH, D + 8 * H, 0.1, 2.0, 0.01, 2.4),
            ],
        )
    return path


def test_everything_recorded_when_no_window_is_asked_for(store_path):
    history = read_history(store_path, Window())
    assert [(c.task_id, c.exit_ts) for c in history.cycles] == [
        ("btc1", 2 * H),
        ("eth1", 4 * H),
        ("btc2", D + 3 * H),
    ]
    assert [f.trade_id for f in history.fills] == ["a", "b"]
    assert [f.ledger_id for f in history.funding] == ["L1"]
    assert [p.ts for p in history.series[BTC]] == [1.5 * H, 2.5 * H]
    assert history.series[ETH][-1] == SeriesPoint(ETH, D + 8 * H, 0.1, 2.0, 0.01, 2.4)
    # The newest task of each symbol gives its settings.
    assert history.settings == {
        BTC: SymbolSettings(0.3, 0.4, 2.0),
        ETH: SymbolSettings(0.2, 0.5, 8.0),
    }
    # ETH's open position: what its last point says was realised and not yet.
    assert history.open_positions == [
        OpenPosition("eth1", ETH, D + 6 * H, 2.0, pytest.approx(-0.4), 2.4, 2)
    ]
    # The open window reaches from the first record to the open task's last save.
    assert history.window == Window(1 * H, D + 20 * H, None)


def test_a_window_keeps_the_cycles_that_closed_in_it_and_what_was_recorded_in_it(store_path):
    history = read_history(store_path, Window(3 * H, D + 7.5 * H))
    assert [c.task_id for c in history.cycles] == ["eth1", "btc2"]
    assert [f.trade_id for f in history.fills] == ["b"]
    assert [p.ts for p in history.series[ETH]] == [D + 7 * H]
    assert BTC not in history.series  # BTC's points are before the window
    # ETH was open at the window's end, marked by the last point before it.
    assert history.open_positions == [
        OpenPosition("eth1", ETH, D + 6 * H, 2.0, pytest.approx(-0.4), 1.4, 2)
    ]
    assert history.window == Window(3 * H, D + 7.5 * H, None)


def test_a_cycle_that_exits_after_the_window_is_open_at_its_end(store_path):
    history = read_history(store_path, Window(None, 1.75 * H))
    assert history.cycles == []
    assert history.open_positions == [
        OpenPosition("btc1", BTC, 1 * H, 1.0, pytest.approx(-0.2), 3.2, 1)
    ]
    # ETH's position opened after the window's end: not open in it.
    assert history.window == Window(1 * H, 1.75 * H, None)


def test_a_window_from_after_the_last_record_ends_where_it_starts(store_path):
    # The open task was last saved at D + 20 h: nothing is known after it.
    history = read_history(store_path, Window(start=D + 30 * H))
    assert history.window == Window(D + 30 * H, D + 30 * H, None)


def test_a_long_series_is_read_as_bounded_stretches_keeping_what_the_report_shows(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("actors.analytics.history.SERIES_POINTS", 10)
    path = tmp_path / "basis.db"
    # 100 s of BTC: entry cost best (0.01) at 33 s; a position from 40 s on, its P&L %
    # dipping to -9 at 55 s and peaking at 9 at 71 s; the last point is exact.
    points = [
        SeriesPoint(BTC, float(t), 0.01 if t == 33 else 0.5)
        if t < 40
        else SeriesPoint(
            BTC, float(t), 0.5, t * 0.1, -9.0 if t == 55 else 9.0 if t == 71 else 1.0, t * 0.05
        )
        for t in range(100)
    ]
    points.append(SeriesPoint(ETH, 50.0, 0.2))
    with Store(path) as store:
        store.write_batch((), (), (), history=points)
    history = read_history(path, Window())
    btc = history.series[BTC]
    assert len(btc) == 10
    assert history.series[ETH] == [SeriesPoint(ETH, 50.0, 0.2)]
    assert history.pnl_pct_ranges[ETH] == [None]
    assert min(p.entry_cost_pct for p in btc) == 0.01
    ranges = history.pnl_pct_ranges[BTC]
    assert min(r[0] for r in ranges if r) == -9.0 and max(r[1] for r in ranges if r) == 9.0
    assert btc[-1] == points[99]  # the last point as stored
    # Each point is its stretch's last stored one, P&L as stored then.
    stored = {p.ts: p for p in points if p.symbol == BTC}
    assert all(
        (p.pnl_usdt, p.pnl_pct, p.unrealized_usdt)
        == (stored[p.ts].pnl_usdt, stored[p.ts].pnl_pct, stored[p.ts].unrealized_usdt)
        for p in btc
    )
    assert history.window == Window(0.0, 99.0, None)
    # A window reads its own stretches: the last point before its end is exact.
    inside = read_history(path, Window(20.0, 60.5, BTC)).series[BTC]
    assert len(inside) == 10 and inside[-1] == points[60]


def test_a_window_counts_the_fills_and_funding_of_its_cycles_so_its_figures_add_up(tmp_path):
    path = tmp_path / "basis.db"
    # Cycle x entered at 1 h, before the window (from 4 h), and exits in it at 5 h; the
    # venue reduced its short by itself at 4.5 h (no fee, no trade of ours). Cycle y
    # closed at 3 h, before the window; a late fill of it is stamped 4.2 h.
    x = msgspec.structs.replace(
        trade(BTC, 1 * H, 5 * H, 0.0, task_id="x"),
        basis_usdt=1.0, spot_fees_usdt=0.1, futures_fees_usdt=0.12, funding_usdt=0.3,
        pnl_usdt=1.0 - 0.1 - 0.12 + 0.3,
    )  # fmt: skip
    with Store(path) as store:
        store.write_batch(
            (),
            (),
            (),
            history=[
                x,
                trade(BTC, 2 * H, 3 * H, 1.0, task_id="y"),
                fill(BTC, "mexc", 1 * H, 1.0, 100.0, 0.05, trade_id="1", task_id="x"),
                fill(BTC, "gateio_futures", 1 * H, 1.0, 99.0, 0.06, trade_id="2", task_id="x"),
                fill(BTC, "gateio_futures", 4.5 * H, 0.5, 99.0, 0.0, trade_id="v", task_id="x",
                     role="venue"),
                fill(BTC, "mexc", 5 * H, 1.0, 101.0, 0.05, trade_id="3", task_id="x"),
                fill(BTC, "gateio_futures", 5 * H, 0.5, 99.0, 0.06, trade_id="4", task_id="x"),
                fill(BTC, "mexc", 4.2 * H, 1.0, 100.0, 0.05, trade_id="5", task_id="y"),
                funding(BTC, 2 * H, 0.2, ledger_id="F1", task_id="x"),
                funding(BTC, 4.5 * H, 0.1, ledger_id="F2", task_id="x"),
                funding(BTC, 4.5 * H, 9.0, ledger_id="F3", task_id="y"),
            ],
        )  # fmt: skip
    history = read_history(path, Window(start=4 * H))
    assert [f.trade_id for f in history.fills] == ["1", "2", "v", "3", "4"]
    summary = summarize(history)
    assert summary.fees_by_venue_usdt == pytest.approx({"gateio_futures": 0.12, "mexc": 0.1})
    assert summary.funding_usdt == pytest.approx(0.3)
    assert summary.realized_pnl_usdt == pytest.approx(
        x.basis_usdt - sum(summary.fees_by_venue_usdt.values()) + summary.funding_usdt
    )
    assert summary.volume_usdt == pytest.approx(100.0 + 99.0 + 101.0 + 49.5)
    (row,) = symbol_rows(history)
    assert (row.pnl_usdt, row.fees_usdt, row.funding_usdt) == pytest.approx(
        (summary.realized_pnl_usdt, 0.22, 0.3)
    )


def test_a_symbol_keeps_only_its_own_records(store_path):
    history = read_history(store_path, Window(symbol=BTC))
    assert {c.symbol for c in history.cycles} == {BTC}
    assert [f.symbol for f in history.fills] == [BTC, BTC]
    assert history.funding == []
    assert list(history.series) == [BTC]
    assert list(history.settings) == [BTC]
    assert history.open_positions == []


def test_an_open_position_without_a_point_has_its_snapshots_realised_part(tmp_path):
    path = tmp_path / "basis.db"
    eth = _task(
        "eth1",
        ETH,
        100.0,
        state=ArbitrageState.POSITION_OPEN,
        positions__spot__qty=1.0,
        positions__futures__qty=1.0,
        position_opened_at=50.0,
        cycle__realized_usdt=-0.3,
    )
    with Store(path) as store:
        store.write_batch([eth], (), ())
    history = read_history(path, Window())
    assert history.open_positions == [OpenPosition("eth1", ETH, 50.0, 1.0, -0.3, None, 1)]
    assert history.window == Window(50.0, 100.0, None)


def test_incidents_come_from_alerts_quarantine_runs_risk_modes_and_operator_actions(tmp_path):
    path = tmp_path / "basis.db"
    alert = Alert("a1", "writer", "opened", "critical", "store failing", "disk full", "i", 10.0)
    with Store(path) as store:
        store.put_alert(OutboxRecord("a1", msgspec.json.encode(alert), (), 10.0))
        store.quarantine("eth1", "fills disagree", None, symbol=ETH)
        store.resolve_quarantine(ETH, "adopt")
        store.quarantine("btc1", "record unreadable", None, symbol=BTC)
        first = store.begin_run()
        store.end_run(first)
        store.begin_run()  # no clean stop: a crash, found at the next start
        store.begin_run()
        store.set_risk_mode(RiskModeRow("halted", "daily loss", 20.0, "stop"))
        store.record_operator_action("pause", ETH, "paused")
        store.record_operator_action("stop", None, "stopping")
    everything = read_history(path, Window()).incidents
    kinds = [(i.kind, i.level, i.text) for i in everything]
    assert kinds[:2] == [
        ("alert", "critical", "store failing"),
        ("risk_mode", "critical", "halted (stop): daily loss"),
    ]
    assert sorted(kinds[2:]) == sorted(
        [
            ("quarantine", "critical", "ETH/USDT: fills disagree"),
            ("quarantine", "info", "ETH/USDT released from quarantine (adopt)"),
            ("quarantine", "critical", "BTC/USDT: record unreadable"),
            ("start", "info", "started"),
            ("restart", "info", "restarted after a clean stop"),
            ("crash", "critical", "restarted after a crash: the run before had no clean stop"),
            ("operator", "info", "pause ETH/USDT: paused"),
            ("operator", "info", "stop: stopping"),
        ]
    )
    assert everything == sorted(everything, key=lambda i: (i.ts, i.kind, i.text))
    only_btc = read_history(path, Window(symbol=BTC)).incidents
    assert not any("ETH" in i.text for i in only_btc)
    assert Incident(20.0, "risk_mode", "critical", "halted (stop): daily loss") in only_btc
    assert read_history(path, Window(start=15.0, end=30.0)).incidents == [
        Incident(20.0, "risk_mode", "critical", "halted (stop): daily loss")
    ]


def test_no_file_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match=r"basis.db: no Basis store there; point --data-dir"):
        read_history(tmp_path / "basis.db", Window())


def test_a_file_that_is_not_sqlite_is_a_clear_error_and_is_left_as_it_was(tmp_path):
    path = tmp_path / "basis.db"
    path.write_bytes(b"not a database at all, but long enough to be read as a header" * 4)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"basis.db: not a Basis store \(file is not a database"):
        read_history(path, Window())
    assert path.read_bytes() == before


def test_a_sqlite_file_of_something_else_is_a_clear_error(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(StoreError, match=r"other.db: not a Basis store \(no tasks table\)"):
        read_history(path, Window())


def test_a_store_from_before_the_history_is_a_clear_error(tmp_path):
    path = tmp_path / "basis.db"
    before_history = next(i for i, script in enumerate(MIGRATIONS) if "TABLE cycles" in script)
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:before_history]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version={before_history}")
    with pytest.raises(StoreError, match=r"basis.db: written by an older Basis, before the store"):
        read_history(path, Window())


def test_a_store_from_a_newer_basis_is_a_clear_error(tmp_path):
    path = tmp_path / "basis.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match=r"basis.db: written by a newer Basis .*upgrade Basis"):
        read_history(path, Window())
