"""The simulated Gate.io venue through the eyes of Gate.io's own Python SDK (``gate_api``),
used as a black box against a running ``basis sim``.

    python gate_sdk_checks.py --url '<the Gate.io REST URL basis sim prints>'

with the simulated account's keys in ``GATEIO_API_KEY`` and ``GATEIO_API_SECRET``, and
``BTC_USDT`` settling funding every few seconds (``FUNDING_WAIT_S`` at most), so that a
position held across a settlement gives the funding history and the account book
something to list.
Prints one JSON line per check: ``{"check", "ok"}`` with a ``detail`` when it passed, or
an ``error`` when it failed. Exits 0 only when every check passed.

The SDK signs requests its own way and reads every reply into the models generated from
Gate.io's API description, so a reply in a shape the documentation does not give fails
here. Its configuration points at the simulated venue (``host``) and nothing else; host
names do not resolve in this process, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import gate_api
from gate_api.exceptions import GateApiException
from loopback_checks import (
    CheckFailed,
    Needed,
    expect,
    require_loopback,
    resolve_nothing_but_loopback,
)

SETTLE = "usdt"
CONTRACT = "BTC_USDT"
RESTING_DISCOUNT = 0.95
"""Limit buys rest this far below the bid, so they stay open until cancelled."""
RUN = secrets.token_hex(3)
RESTING_TEXT = f"t-sdk-{RUN}-1"
CANCELLED_TEXT = f"t-sdk-{RUN}-2"
FUNDING_WAIT_S = 15.0
"""How long a short may wait for its first funding settlement."""


def futures_api(rest_url: str, key: str, secret: str) -> gate_api.FuturesApi:
    require_loopback(rest_url)
    configuration = gate_api.Configuration(host=f"{rest_url}/api/v4", key=key, secret=secret)
    return gate_api.FuturesApi(gate_api.ApiClient(configuration))


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def run(self, name: str, call: Callable[[], tuple[Any, str]]) -> Needed:
        try:
            value, detail = call()
        except Exception as error:
            self.failed += 1
            print(json.dumps({"check": name, "ok": False, "error": describe(error)}), flush=True)
            return Needed(name)
        print(json.dumps({"check": name, "ok": True, "detail": detail}), flush=True)
        return Needed(name, value, ok=True)


def describe(error: BaseException) -> str:
    if isinstance(error, CheckFailed):
        return str(error)
    if isinstance(error, GateApiException):
        return f"GateApiException {error.status} {error.label}: {error.message}"
    frames = traceback.extract_tb(error.__traceback__)[-2:]
    where = " -> ".join(f"{f.filename.split('/')[-1]}:{f.lineno}" for f in frames)
    return f"{type(error).__name__}: {error} at {where}"[:1500]


def run_all(api: gate_api.FuturesApi, rest_url: str, key: str) -> Checks:
    checks = Checks()
    check = checks.run

    def contracts():
        listed = {c.name: c for c in api.list_futures_contracts(SETTLE)}
        expect(CONTRACT in listed, f"{CONTRACT} not among {sorted(listed)}")
        multiplier = float(listed[CONTRACT].quanto_multiplier)
        expect(multiplier == 0.0001, f"{CONTRACT} quanto_multiplier {multiplier}")
        return listed, f"{len(listed)} contracts"

    check("list contracts", contracts)

    def contract():
        found = api.get_futures_contract(SETTLE, CONTRACT)
        expect(found.name == CONTRACT, f"contract {found.name}, asked for {CONTRACT}")
        expect(float(found.order_price_round) > 0, f"no price tick: {found}")
        return found, f"tick {found.order_price_round}, funding rate {found.funding_rate}"

    found_contract = check("get contract", contract)

    def order_book():
        book = api.list_futures_order_book(SETTLE, CONTRACT, limit=20, with_id=True)
        expect(book.asks and book.bids, f"a side is empty: {book}")
        bid, ask = float(book.bids[0].p), float(book.asks[0].p)
        expect(0 < bid < ask, f"book crossed: bid {bid} ask {ask}")
        expect(book.id, f"no book id: {book}")
        return None, f"{len(book.bids)} bids, {len(book.asks)} asks, id {book.id}"

    check("order book", order_book)

    def tickers():
        listed = {t.contract: t for t in api.list_futures_tickers(SETTLE)}
        expect(CONTRACT in listed, f"no {CONTRACT} ticker among {sorted(listed)}")
        ticker = listed[CONTRACT]
        bid, ask = float(ticker.highest_bid), float(ticker.lowest_ask)
        expect(0 < bid < ask, f"ticker bid {bid} ask {ask}")
        return ticker, f"{len(listed)} tickers, {CONTRACT} bid {bid} ask {ask}"

    ticker = check("tickers", tickers)

    def candlesticks():
        candles = api.list_futures_candlesticks(SETTLE, CONTRACT, interval="1m", limit=10)
        expect(candles, "no candles")
        for candle in candles:
            low, high = float(candle.l), float(candle.h)
            expect(0 < low <= float(candle.o) <= high, f"open outside low..high: {candle}")
            expect(low <= float(candle.c) <= high, f"close outside low..high: {candle}")
        times = [candle.t for candle in candles]
        expect(times == sorted(times), f"candles not oldest first: {times}")
        return None, f"{len(candles)} candles, last close {candles[-1].c}"

    check("candlesticks", candlesticks)

    def trades():
        listed = api.list_futures_trades(SETTLE, CONTRACT, limit=10)
        expect(listed, "no trades")
        for trade in listed:
            expect(trade.contract == CONTRACT and float(trade.price) > 0, f"trade {trade}")
        times = [trade.create_time_ms for trade in listed]
        expect(times == sorted(times, reverse=True), f"trades not newest first: {times}")
        return None, f"{len(listed)} trades, last at {listed[0].price}"

    check("public trades", trades)

    def fees():
        listed = api.get_futures_fee(SETTLE, contract=CONTRACT)
        expect(set(listed) == {CONTRACT}, f"fees of {sorted(listed)}, asked for {CONTRACT}")
        fee = listed[CONTRACT]
        expect(float(fee.taker_fee) > 0, f"no taker fee: {fee}")
        return None, f"taker {fee.taker_fee} maker {fee.maker_fee}"

    check("trading fee", fees)

    def account():
        found = api.list_futures_accounts(SETTLE)
        expect(float(found.available) > 0, f"nothing available: {found}")
        expect(found.currency == "USDT", f"currency {found.currency}")
        return None, f"total {found.total} available {found.available}"

    check("futures account", account)

    def positions():
        listed = api.list_positions(SETTLE)
        expect(any(p.contract == CONTRACT for p in listed), f"no {CONTRACT} among {listed}")
        return None, f"{len(listed)} positions"

    check("list positions", positions)

    def leverage():
        position = api.update_position_leverage(SETTLE, CONTRACT, "3")
        expect(float(position.leverage) == 3.0, f"leverage {position.leverage} after setting 3")
        return None, f"leverage {position.leverage}"

    check("update leverage", leverage)

    def resting_price() -> str:
        tick = found_contract.get().order_price_round
        ticks = round(float(ticker.get().highest_bid) * RESTING_DISCOUNT / float(tick))
        decimals = len(tick.split(".")[1]) if "." in tick else 0
        return f"{ticks * float(tick):.{decimals}f}"

    def place_resting():
        price = resting_price()
        order = api.create_futures_order(
            SETTLE,
            gate_api.FuturesOrder(
                contract=CONTRACT, size=1, price=price, tif="gtc", text=RESTING_TEXT
            ),
        )
        expect(order.status == "open", f"order status {order.status}: {order}")
        expect(order.text == RESTING_TEXT, f"order text {order.text}, sent {RESTING_TEXT}")
        return order, f"order {order.id}: buy 1 at {price}"

    placed = check("create limit order", place_resting)

    def get_by_id():
        order = api.get_futures_order(SETTLE, str(placed.get().id))
        expect(order.id == placed.get().id and order.status == "open", f"order {order}")
        return None, f"order {order.id} {order.status}"

    check("get order by id", get_by_id)

    def get_by_text():
        order = api.get_futures_order(SETTLE, RESTING_TEXT)
        expect(order.id == placed.get().id, f"order {order.id}, placed {placed.get().id}")
        return None, f"order {order.id} ({RESTING_TEXT}) {order.status}"

    check("get order by text", get_by_text)

    def list_open():
        listed = api.list_futures_orders(SETTLE, "open", contract=CONTRACT)
        ids = [order.id for order in listed]
        expect(placed.get().id in ids, f"order {placed.get().id} not among open {ids}")
        return None, f"{len(listed)} open orders"

    check("list open orders", list_open)

    def cancel_by_id():
        order = api.cancel_futures_order(SETTLE, str(placed.get().id))
        expect(order.status == "finished", f"cancelled order status {order.status}")
        expect(order.finish_as == "cancelled", f"finished as {order.finish_as}")
        return None, f"order {order.id} {order.finish_as}"

    check("cancel order by id", cancel_by_id)

    def cancel_by_text():
        order = api.create_futures_order(
            SETTLE,
            gate_api.FuturesOrder(
                contract=CONTRACT, size=1, price=resting_price(), tif="gtc", text=CANCELLED_TEXT
            ),
        )
        cancelled = api.cancel_futures_order(SETTLE, CANCELLED_TEXT)
        expect(cancelled.id == order.id, f"cancelled {cancelled.id}, placed {order.id}")
        expect(cancelled.finish_as == "cancelled", f"finished as {cancelled.finish_as}")
        return None, f"order {order.id} ({CANCELLED_TEXT}) {cancelled.finish_as}"

    check("cancel order by text", cancel_by_text)

    def list_finished():
        listed = api.list_futures_orders(SETTLE, "finished", contract=CONTRACT)
        ids = [order.id for order in listed]
        expect(placed.get().id in ids, f"order {placed.get().id} not among finished {ids}")
        return None, f"{len(listed)} finished orders"

    check("list finished orders", list_finished)

    def market(size: int) -> gate_api.FuturesOrder:
        order = api.create_futures_order(
            SETTLE, gate_api.FuturesOrder(contract=CONTRACT, size=size, price="0", tif="ioc")
        )
        expect(order.finish_as == "filled", f"market order finished as {order.finish_as}")
        return order

    def open_short():
        sold = market(-1)
        position = api.get_position(SETTLE, CONTRACT)
        expect(float(position.size) == -1, f"position size {position.size} after selling 1")
        return sold, f"sold {sold.id} at {sold.fill_price}, position {position.size}"

    short = check("market sell opens a short", open_short)

    def funding_history():
        short.get()
        deadline = time.monotonic() + FUNDING_WAIT_S
        held_since = time.time()
        while True:
            history = api.list_futures_funding_rate_history(SETTLE, CONTRACT, limit=10)
            if history and history[0].t >= held_since:
                break
            expect(time.monotonic() < deadline, f"no settlement in {FUNDING_WAIT_S} s")
            time.sleep(0.5)
        for record in history:
            expect(record.t > 0 and record.r is not None, f"funding record {record}")
        times = [record.t for record in history]
        expect(times == sorted(times, reverse=True), f"not newest first: {times}")
        return None, f"{len(history)} settlements, newest rate {history[0].r}"

    check("funding rate history", funding_history)

    def account_book():
        listed = api.list_futures_account_book(SETTLE, type="fund", limit=10)
        expect(listed, "no funding booked for the short held across a settlement")
        for change in listed:
            expect(change.type == "fund" and change.time > 0, f"account book entry {change}")
            expect(change.contract == CONTRACT, f"funding of {change.contract}: {change}")
        return None, f"{len(listed)} funding changes, newest {listed[0].change}"

    check("account book", account_book)

    def close_short():
        bought = market(1)
        position = api.get_position(SETTLE, CONTRACT)
        expect(float(position.size) == 0, f"position size {position.size} after buying back")
        return (short.get(), bought), f"bought {bought.id} at {bought.fill_price}"

    traded = check("market buy closes it", close_short)

    def my_trades():
        orders = {str(order.id) for order in traded.get()}
        listed = api.get_my_trades(SETTLE, contract=CONTRACT, limit=100)
        found = {str(trade.order_id) for trade in listed}
        expect(orders <= found, f"trades of orders {sorted(found)}, want {sorted(orders)}")
        return None, f"{len(listed)} trades"

    check("my trades", my_trades)

    def bad_signature():
        refused = futures_api(rest_url, key, "not-the-secret")
        try:
            refused.list_futures_accounts(SETTLE)
        except GateApiException as error:
            expect(error.label == "INVALID_SIGNATURE", f"refused as {error.label}")
            return None, f"{error.status} {error.label}"
        raise CheckFailed("a request signed with the wrong secret was answered")

    check("bad signature refused", bad_signature)
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the Gate.io REST URL basis sim prints")
    args = parser.parse_args()
    key, secret = os.environ["GATEIO_API_KEY"], os.environ["GATEIO_API_SECRET"]
    api = futures_api(args.url, key, secret)
    resolve_nothing_but_loopback()
    checks = run_all(api, args.url, key)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
