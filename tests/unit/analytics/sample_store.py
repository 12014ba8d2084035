"""A store holding a fixed history, the same on every call and in either kind of store: two
symbols over three days, cycles (the worked example of docs/strategy.md among them) with
their fills and funding, a sampled series, an open position, and one incident of every
kind."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import msgspec

from actors.arbitrage.context import ArbitrageParams, new_context
from actors.runtime.persistence import postgres_store as postgres_store_module
from actors.runtime.persistence import store as store_module
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.store import OutboxRecord, RiskModeRow, SnapshotRecord, Store
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import TradeRecord
from protocols.model import LegPosition, Symbol

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC."""
HOUR = 3600.0
SPAN_S = 3 * 24 * HOUR
"""How long the history runs."""


def _cycle(
    task_id: str,
    number: int,
    symbol: str,
    entry_ts: float,
    hours: float,
    *,
    qty: float,
    prices: tuple[float, float, float, float],
    basis: float,
    fees: tuple[float, float],
    funding: float,
    slippage: tuple[float, float],
    reason: str,
    cost_pct: float,
) -> TradeRecord:
    pnl = basis - fees[0] - fees[1] + funding + slippage[0] + slippage[1]
    return TradeRecord(
        symbol=symbol,
        entry_ts=entry_ts,
        exit_ts=entry_ts + hours * HOUR,
        qty=qty,
        entry_spot_price=prices[0],
        entry_futures_price=prices[1],
        exit_spot_price=prices[2],
        exit_futures_price=prices[3],
        pnl_usdt=pnl,
        pnl_pct=pnl / (qty * prices[0]) * 100.0,
        exit_reason=reason,
        fees_usdt=fees[0] + fees[1],
        funding_usdt=funding,
        task_id=task_id,
        cycle=number,
        spot_venue="mexc",
        futures_venue="gateio_futures",
        decided_at=entry_ts - 0.5,
        entry_cost_pct=cost_pct,
        entry_spot_decision=prices[0],
        entry_futures_decision=prices[1],
        exit_spot_decision=prices[2],
        exit_futures_decision=prices[3],
        basis_usdt=basis,
        spot_fees_usdt=fees[0],
        futures_fees_usdt=fees[1],
        spot_slippage_usdt=slippage[0],
        futures_slippage_usdt=slippage[1],
        volume_usdt=qty * sum(prices),
    )


def sample_cycles() -> list[TradeRecord]:
    btc, eth = "BTC/USDT", "ETH/USDT"
    return [
        # docs/strategy.md's worked example: 0.50 % to enter, 350.125 USDT for the cycle
        _cycle("btc1", 1, btc, T0 + 2 * HOUR, 3.0, qty=1.0,
               prices=(50000.0, 49750.0, 50350.0, 49650.0), basis=450.0,
               fees=(50.175, 49.7), funding=0.0, slippage=(0.0, 0.0),
               reason="profit_target", cost_pct=0.5),
        _cycle("eth1", 1, eth, T0 + 5 * HOUR, 1.25, qty=10.0,
               prices=(3000.0, 2991.0, 3010.0, 2999.5), basis=6.0,
               fees=(15.05, 14.95), funding=1.2, slippage=(-0.8, -0.35),
               reason="max_hours", cost_pct=0.3),
        _cycle("btc1", 2, btc, T0 + 26 * HOUR, 0.4, qty=0.5,
               prices=(51000.0, 50800.0, 51300.0, 50900.0), basis=95.0,
               fees=(25.6, 25.45), funding=-0.4, slippage=(-1.5, 0.25),
               reason="profit_target", cost_pct=0.39),
        _cycle("eth1", 2, eth, T0 + 30 * HOUR, 9.0, qty=8.0,
               prices=(3100.0, 3090.0, 3050.0, 3049.0), basis=-72.0,
               fees=(12.3, 12.2), funding=2.5, slippage=(-0.6, -0.9),
               reason="stop_loss <cut> & 'out'", cost_pct=0.32),
        _cycle("btc1", 3, btc, T0 + 50 * HOUR, 2.0, qty=0.8,
               prices=(52000.0, 51800.0, 52400.0, 51950.0), basis=200.0,
               fees=(41.8, 41.7), funding=0.6, slippage=(0.4, -0.2),
               reason="profit_target", cost_pct=0.38),
    ]  # fmt: skip


def sample_chart_names() -> set[str]:
    """The charts the report of the whole sample history draws."""
    return {
        "equity",
        "entry-cost-BTC/USDT",
        "entry-cost-ETH/USDT",
        "waterfall-all",
        *(f"waterfall-{t.task_id}-{t.cycle}" for t in sample_cycles()),
        "holding-times",
        "exit-reasons",
        "incidents",
    }


def _fills(trade: TradeRecord) -> list[FillRecord]:
    """Four fills per cycle (each leg in, each leg out), fees split half and half."""
    legs = (
        ("spot", "mexc", "buy", "sell", trade.entry_spot_price, trade.exit_spot_price,
         trade.spot_fees_usdt),
        ("futures", "gateio_futures", "sell", "buy", trade.entry_futures_price,
         trade.exit_futures_price, trade.futures_fees_usdt),
    )  # fmt: skip
    fills = []
    for leg, venue, open_side, close_side, entry, exit_price, fee in legs:
        for role, side, ts, price in (
            ("entry", open_side, trade.entry_ts, entry),
            ("exit", close_side, trade.exit_ts, exit_price),
        ):
            fills.append(
                FillRecord(
                    task_id=trade.task_id,
                    cycle=trade.cycle,
                    symbol=trade.symbol,
                    venue=venue,
                    leg=leg,
                    side=side,
                    role=role,
                    client_id=f"{trade.task_id}-{trade.cycle}-{leg}-{role}",
                    trade_id=f"t{trade.cycle}",
                    ts=ts,
                    qty=trade.qty,
                    price=price,
                    decision_price=price,
                    fee_usdt=fee / 2.0,
                    commission=fee / 2.0,
                    commission_asset="USDT",
                )
            )
    return fills


def _series(cycles: list[TradeRecord]) -> list[SeriesPoint]:
    """A point every twenty minutes per symbol: the entry cost drifts on a fixed pattern;
    while a cycle (or the open ETH position, from hour 60) is held, its P&L climbs to
    the cycle's."""
    points = []
    for symbol, offset in (("BTC/USDT", 0.0), ("ETH/USDT", 0.07)):
        mine = [t for t in cycles if t.symbol == symbol]
        for step in range(int(SPAN_S // 1200)):
            ts = T0 + step * 1200.0
            cost = 0.55 + offset + 0.12 * math.sin(step / 5.5) + 0.04 * math.sin(step / 0.85)
            pnl_usdt = pnl_pct = unrealized = None
            for t in mine:
                if t.entry_ts <= ts < t.exit_ts:
                    done = (ts - t.entry_ts) / (t.exit_ts - t.entry_ts)
                    pnl_usdt = t.pnl_usdt * done
                    pnl_pct = t.pnl_pct * done
                    unrealized = pnl_usdt
            if symbol == "ETH/USDT" and ts >= T0 + 60 * HOUR:
                pnl_usdt = unrealized = -5.0 + (ts - T0 - 60 * HOUR) / HOUR
                pnl_pct = pnl_usdt / 300.0
            points.append(SeriesPoint(symbol, ts, round(cost, 6), pnl_usdt, pnl_pct, unrealized))
    return points


def build_sample_store(path: Path) -> Path:
    """The store at ``path`` (a new file), filled with the fixed history; returns it."""
    with Store(path) as store:
        fill_sample_store(store)
    return path


def fill_sample_store(store: Store | PostgresStore) -> None:
    """``store`` (an empty one, of either kind) filled with the fixed history through its
    own methods, as the writer and the system write: the same records in any store."""
    cycles = sample_cycles()
    params = ArbitrageParams(max_entry_cost_pct=0.5, min_profit_pct=0.58, max_hours=6.0)
    btc = new_context("btc1", Symbol("BTC", "USDT"), now=T0, params=params).evolve(
        arbitrage_cycles=3
    )
    eth = new_context("eth1", Symbol("ETH", "USDT"), now=T0, params=params).evolve(
        arbitrage_cycles=2,
        positions__spot=LegPosition(qty=1.5, avg_price=3000.0),
        positions__futures=LegPosition(qty=1.5, avg_price=2990.0),
        position_opened_at=T0 + 60 * HOUR,
        cycle__realized_usdt=-0.9,
    )
    snapshots = [
        SnapshotRecord(ctx.task_id, ctx.task_type, str(ctx.symbol), state, json, T0, False)
        for ctx, state in ((btc, "monitoring"), (eth, "position_open"))
        for json in [msgspec.json.encode(ctx)]
    ]
    funding = [
        FundingRecord("eth1", 1, "ETH/USDT", "gateio_futures", "L100", T0 + 6 * HOUR, 1.2),
        FundingRecord("btc1", 2, "BTC/USDT", "gateio_futures", "L101", T0 + 26.2 * HOUR, -0.4),
        FundingRecord("eth1", 2, "ETH/USDT", "gateio_futures", "L102", T0 + 32 * HOUR, 2.5),
        FundingRecord("btc1", 3, "BTC/USDT", "gateio_futures", "L103", T0 + 51 * HOUR, 0.6),
    ]
    history = [*cycles, *(f for t in cycles for f in _fills(t)), *funding, *_series(cycles)]
    store.write_batch(snapshots, (), (), history)
    alert = {
        "id": "a1",
        "incident": "feed:feed-mexc",
        "kind": "opened",
        "severity": "warning",
        "title": "mexc feed stale <script>alert(1)</script>",
        "detail": "no quotes for 30 s",
        "instance": "sample",
        "ts": T0 + 20 * HOUR,
    }
    store.put_alert(OutboxRecord("a1", msgspec.json.encode(alert), (), T0 + 20 * HOUR))
    store.set_risk_mode(RiskModeRow("reduce_only", "daily loss", T0 + 40 * HOUR, "stop"))
    with stores_clock_at(T0 + 12 * HOUR):
        store.quarantine("eth0", "snapshot unreadable", None, symbol="ETH/USDT")
    for started_at in (T0, T0 + 36 * HOUR):  # neither stopped cleanly
        with stores_clock_at(started_at):
            store.begin_run()
    with stores_clock_at(T0 + 44 * HOUR):
        store.record_operator_action("resume", None, "ok")


@contextmanager
def stores_clock_at(ts: float) -> Iterator[None]:
    """The stores' wall clock stopped at ``ts`` for the block: what they stamp with the
    time they write it (a run's start, a quarantine, an operator's action) is stamped
    ``ts``."""
    modules = (store_module, postgres_store_module)
    clocks = [module.time for module in modules]
    for module in modules:
        module.time = SimpleNamespace(time=lambda: ts)
    try:
        yield
    finally:
        for module, clock in zip(modules, clocks, strict=True):
            module.time = clock
