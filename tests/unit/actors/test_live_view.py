"""The terminal views of a status, rendered without a terminal: the live view's frames,
its stop summary, and the loop that ends in it; ``basis status`` prints the same tables."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import msgspec
import trio
from rich.console import Console

from actors.arbitrage.context import EntryTerms
from actors.cli import status_tables
from actors.cli.live_view import MessageRates, live_frame, live_view, stop_summary
from actors.runtime.ops.logs import RecentLines
from actors.runtime.ops.status import one_line, percent, status_of
from actors.runtime.risk.actor import RiskStatistics
from tests.unit.actors.sample_statistics import T0, feed, router, statistics, strategy


def rendered(renderable, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(renderable)
    return console.file.getvalue()


def two_tasks():
    return status_of(
        statistics(
            strategies=(
                strategy("btc_sj3kx0", "BTC/USDT", unrealized_pnl_usdt=400.0),
                strategy(
                    "eth_sj3kx1",
                    "ETH/USDT",
                    state="monitoring",
                    cycles=1,
                    realized_pnl_usdt=-0.3,
                    unrealized_pnl_usdt=None,
                    position_qty=0.0,
                    futures_qty=0.0,
                ),
            ),
            feeds=(
                feed("feed-mexc"),
                feed("feed-gateio_futures", state="reconnecting", detail="stalled: [no] data"),
            ),
            routers=(
                router("router-mexc"),
                router("router-gateio_futures", private_stream_up=False),
            ),
        ),
        T0,
    )


def test_a_frame_shows_strategies_feeds_routers_the_store_and_the_log():
    text = rendered(live_frame(two_tasks(), {"feed-mexc": 41.6}, ["12:00:01.000 WRN a line"]))
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0].startswith("Basis (paper) up 120 s   health: feed-gateio_futures reconn")
    [btc] = [line for line in lines if line.startswith("btc_sj3kx0")]
    assert lines[lines.index("strategies") + 1].split() == [
        "task", "symbol", "state", "cost", "%", "position", "cycles", "restarts"]  # fmt: skip
    assert btc.split() == ["btc_sj3kx0", "BTC/USDT", "position_open", "-0.123", "0.002", "BTC",
                           "3", "0"]  # fmt: skip
    pnl = lines.index("P&L")
    assert lines[pnl + 3].split() == ["BTC/USDT", "+1.2500", "+400.0000", "+401.2500", "0.6000",
                                      "1,200.00"]  # fmt: skip
    [mexc] = [line for line in lines if line.startswith("feed-mexc")]
    assert mexc.split() == ["feed-mexc", "fresh", "900", "42", "2"]
    [gate] = [line for line in lines if line.startswith("feed-gateio_futures")]
    # Not console markup: a venue's message is shown as it came.
    assert gate.split()[1:] == ["reconnecting", "900", "-", "2", "stalled:", "[no]", "data"]
    [polling] = [line for line in lines if line.startswith("router-gateio_futures")]
    assert polling.split() == ["router-gateio_futures", "7", "5", "1", "1", "polling"]
    assert "store: 10 commits, write p99 2.00 ms, queue 2;" in text
    assert lines[-2:] == ["log:", "12:00:01.000 WRN a line"]


def test_a_funding_rate_too_small_for_four_decimals_is_not_shown_as_nought():
    # A minute's contract (the demo's): its rate is a 480th of an 8 h one's.
    assert percent(2.0833e-7) == "+2.08e-05"
    assert (percent(-0.000125), percent(0.0)) == ("-0.0125", "+0.0000")


def test_the_entries_weighed_on_funding_are_a_table_of_their_own_only_where_any_is():
    terms = EntryTerms(
        ts=T0,
        cost=0.1,
        fees=0.2,
        slippage=0.02,
        convergence=0.1,
        funding=0.35,
        margin=0.05,
        net=0.13,
        passes=True,
        hold_h=168.0,
        settlements=21,
    )
    carry = strategy("eth_sj3kx1", "ETH/USDT", type="funding_carry", entry_terms=terms)
    status = status_of(statistics(strategies=(strategy(), carry)), T0)
    table = status_tables.entry_terms_table(status)
    assert table is not None
    lines = rendered(table).splitlines()
    assert [line.split() for line in lines[3:]] == [
        [
            "ETH/USDT",
            "funding_carry",
            "0.100",
            "0.200",
            "0.020",
            "+0.100",
            "+0.350",
            "168",
            "+0.130",
            "0.050",
            "yes",
        ]
    ]
    assert status_tables.entry_terms_table(status_of(statistics(), T0)) is None


def test_the_funding_table_gives_each_perpetuals_rate_next_settlement_and_receipts():
    status = status_of(
        statistics(
            strategies=(
                strategy(funding_rate=-0.000125, funding_next_ts=28_800.0, funding_usdt=0.25),
                strategy("eth_sj3kx1", "ETH/USDT", funding_rate=None, funding_next_ts=None),
            )
        ),
        T0,
    )
    lines = rendered(status_tables.funding_table(status)).splitlines()
    assert lines[1].split() == ["symbol", "rate", "%", "next", "(UTC)", "received", "USDT"]
    assert [line.split() for line in lines[3:]] == [
        ["BTC/USDT", "-0.0125", "08:00:00", "+0.2500"],
        ["ETH/USDT", "-", "-", "+0.0000"],
    ]
    line = one_line(status)
    assert (
        "BTC/USDT position_open cycles=3 realised=+1.2500 USDT unrealised=+0.5000 USDT "
        "funding=-0.0125%/+0.2500 USDT" in line
    )
    assert (
        "; P&L +3.5000 USDT (realised +2.5000 USDT, unrealised +1.0000 USDT), fees 1.2000 USDT, "
        "funding +0.2500 USDT, volume 2400.00 USDT, 2 open position(s);" in line
    )


def test_the_pnl_table_shows_realised_unrealised_and_a_total_line_in_usdt():
    lines = rendered(status_tables.pnl_table(two_tasks())).splitlines()
    assert lines[1].split() == ["symbol", "realised", "USDT", "unrealised", "USDT", "total",
                                "USDT", "fees", "USDT", "volume", "USDT"]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:] if line.strip()}
    assert rows["BTC/USDT"] == ["+1.2500", "+400.0000", "+401.2500", "0.6000", "1,200.00"]
    # Flat: no unrealised figure, rather than a 0 that looks like a position worth nothing.
    assert rows["ETH/USDT"] == ["-0.3000", "-", "-0.3000", "0.6000", "1,200.00"]
    realised, unrealised, total, fees, volume = rows["total"]
    assert (realised, unrealised, total) == ("+0.9500", "+400.0000", "+400.9500")
    assert float(realised) + float(unrealised) == float(total)
    assert (fees, volume) == ("1.2000", "2,400.00")


def test_the_strategies_fit_80_columns_whole():
    text = rendered(live_frame(two_tasks(), {}, []), width=80)
    assert "…" not in text
    assert "restarts" in text


def test_the_stop_summary_says_what_the_run_left_per_task():
    lines = [line.rstrip() for line in rendered(stop_summary(two_tasks())).splitlines()]
    assert lines[0] == "Basis (paper) stopped after 120 s"
    [btc] = [line for line in lines if line.startswith("btc_sj3kx0")]
    assert lines[1].split() == ["realised", "unrealised", "total"]
    assert lines[2].split() == ["task", "symbol", "state", "cycles", "USDT", "USDT", "USDT",
                                "spot", "short"]  # fmt: skip
    [btc] = [line for line in lines if line.startswith("btc_sj3kx0")]
    assert btc.split() == ["btc_sj3kx0", "BTC/USDT", "position_open", "3", "+1.2500",
                           "+400.0000", "+401.2500", "0.002", "BTC", "0.002", "BTC"]  # fmt: skip
    [eth] = [line for line in lines if line.startswith("eth_sj3kx1")]
    assert eth.split() == ["eth_sj3kx1", "ETH/USDT", "monitoring", "1", "-0.3000", "-",
                           "-0.3000", "0", "ETH", "0", "ETH"]  # fmt: skip
    [total] = [line for line in lines if line.startswith("total")]
    assert total.split() == ["total", "4", "+0.9500", "+400.0000", "+400.9500", "1", "open"]
    assert lines[-1] == "open positions left: btc_sj3kx0 (BTC/USDT)"


def test_a_run_that_left_nothing_open_says_so():
    flat = status_of(statistics(strategies=(strategy(position_qty=0.0, futures_qty=0.0),)), T0)
    assert rendered(stop_summary(flat)).splitlines()[-1].rstrip() == "no open positions"


def test_message_rates_are_counted_over_the_time_between_readings():
    rates = MessageRates()
    first = status_of(statistics(feeds=(feed(messages=100),)), T0)
    later = status_of(statistics(feeds=(feed(messages=400), feed("feed-new"))), T0)
    assert rates.read(first, now=10.0) == {}
    assert rates.read(later, now=12.0) == {"feed-mexc": 150.0}


async def test_the_view_refreshes_and_its_last_frame_is_the_stop_summary(autojump_clock):
    def current():
        # 50 messages a second, and a cycle closed at 3 s.
        now = trio.current_time()
        cycles = 4 if now >= 3.0 else 3
        return statistics(
            strategies=(strategy(cycles=cycles),), feeds=(feed(messages=int(50 * now)),)
        )

    system = SimpleNamespace(statistics=current)
    screen = io.StringIO()
    console = Console(file=screen, width=100, force_terminal=True, color_system=None)
    with trio.move_on_after(4.5):
        await live_view(system, console)
    text = screen.getvalue()
    feed_rows = [line.split() for line in text.splitlines() if line.startswith("feed-mexc")]
    # A frame a second from 0 to 4 s; rates from the second frame on.
    assert feed_rows == [
        ["feed-mexc", "fresh", str(50 * second), "50" if second else "-", "2"]
        for second in range(5)
    ]
    summary = text[text.rindex("Basis (paper) stopped after") :]
    [btc] = [line for line in summary.splitlines() if line.startswith("btc_1")]
    assert btc.split()[3] == "4"  # cycles: the one closed at 3 s counted
    assert "open positions left: btc_1 (BTC/USDT)\n" in summary
    assert not any(isinstance(h, RecentLines) for h in logging.getLogger().handlers)


async def test_without_a_terminal_only_the_stop_summary_is_written(autojump_clock):
    system = SimpleNamespace(statistics=statistics)
    screen = io.StringIO()
    with trio.move_on_after(2.5):
        await live_view(system, Console(file=screen, width=100))
    assert screen.getvalue().startswith("Basis (paper) stopped after")
    assert "msg/s" not in screen.getvalue()


def with_risk(mode: str, reason: str, set_by: str = "operator via basis risk halt"):
    risk = RiskStatistics(
        mode, reason, 0.0, set_by, 12.5, 20.0, None, [], None, None, None, None, []
    )
    return status_of(msgspec.structs.replace(statistics(), risk=risk), T0)


def test_the_live_view_shows_the_risk_mode_with_why_and_since_when():
    halted = rendered(live_frame(with_risk("halted", "venue maintenance"), {}, []), width=140)
    assert (
        "risk: halted since 1970-01-01 00:00:00 UTC (operator via basis risk halt): venue "
        "maintenance" in halted
    )
    assert "risk: active   P&L +12.50 USDT" in rendered(
        status_tables.status_view(with_risk("active", "never set"))
    )
