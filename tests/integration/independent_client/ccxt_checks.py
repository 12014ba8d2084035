"""The simulated venues through the eyes of an independent client library: ccxt (its
``ccxt.pro`` classes, REST and websockets), used as a black box against a running
``basis sim``.

    python ccxt_checks.py --urls '<the JSON line basis sim prints>' [--ws-seconds 60]

with the simulated accounts' keys in ``MEXC_API_KEY``, ``MEXC_API_SECRET``,
``GATEIO_API_KEY`` and ``GATEIO_API_SECRET``. Prints one JSON line per check:
``{"venue", "check", "ok"}`` with a ``detail`` when it passed, or an ``error`` and the
``requests`` ccxt sent during the check (each with how it ended) when it failed. Exits 0
only when every check passed.

ccxt is configured the way a user points it at another deployment of a venue: the API
URLs (REST and websocket) replaced by the simulated ones, with the defaults left alone
except where they would reach beyond what the simulated venues are:

- MEXC's markets are its spot markets (ccxt loads the futures contracts of MEXC's
  separate futures API too, a product Basis does not trade);
- Gate.io's markets are its USDT perpetuals (``defaultType`` swap, settle USDT);
- neither loads the currency list (MEXC serves it from a wallet endpoint, Gate.io from
  its spot API: neither is a trading call).

Nothing leaves 127.0.0.1: every REST and websocket URL is checked before ccxt uses it,
and host names do not resolve in this process.

REST checks run one after the other per venue; the websocket subscriptions run alongside
them, each on its own client, and must deliver updates for ``--ws-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import ccxt.pro
from ccxt.base.errors import AuthenticationError, BaseError
from loopback_checks import (
    CheckFailed,
    Needed,
    expect,
    require_loopback,
    resolve_nothing_but_loopback,
)

MEXC_SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
GATE_SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
ORDER_NOTIONAL_USDT = 20.0
"""What each spot order is worth: well above the venue's minimum, far below the balance."""
RESTING_DISCOUNT = 0.95
"""Limit buys rest this far below the bid, so they stay open until cancelled."""
RUN = secrets.token_hex(3)
"""Client order ids are this run's own, so a rerun against the same ``basis sim`` does not
reuse them."""
RESTING_ID = f"ccxt-{RUN}-1"
CANCELLED_ID = f"ccxt-{RUN}-2"
FIRST_UPDATE_S = 30.0
"""Until the first update: loading the markets, connecting, subscribing, and for an order
book the deltas ccxt collects before it fetches the snapshot they apply to."""
MAX_SILENCE_S = 10.0
"""A subscription quiet this long is dead: the simulated venues push on every tick."""


# ------------------------------------------------------------------ loopback only


def without_signature(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "signature"]
    return parts.path + (f"?{urlencode(query)}" if query else "")


class LoopbackOnly:
    """Mixed into a ccxt exchange: refuses URLs off 127.0.0.1 and records every REST
    request (method, path, query, body) with how it ended."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.sent: list[str] = []

    async def fetch(self, url, method="GET", headers=None, body=None):
        require_loopback(url)
        request = f"{method} {without_signature(url)}" + (f" body={body}" if body else "")
        try:
            response = await super().fetch(url, method, headers, body)
        except Exception as error:
            self.sent.append(f"{request} -> {type(error).__name__}: {error}"[:600])
            raise
        self.sent.append(f"{request} -> ok")
        return response

    def client(self, url):
        require_loopback(url)
        return super().client(url)


class SimMexc(LoopbackOnly, ccxt.pro.mexc):
    async def fetch_markets(self, params=None):
        # MEXC spot only: ccxt would also load MEXC's futures contracts from its separate
        # futures API, which the simulated spot venue is no twin of.
        return await self.fetch_spot_markets(params or {})


class SimGate(LoopbackOnly, ccxt.pro.gate):
    pass


@dataclass(frozen=True)
class Venues:
    mexc_rest: str
    mexc_ws: str
    gateio_rest: str
    gateio_ws: str
    mexc_key: tuple[str, str]
    gateio_key: tuple[str, str]


def mexc(venues: Venues, secret: str | None = None) -> SimMexc:
    key, real_secret = venues.mexc_key
    exchange = SimMexc(
        {
            "apiKey": key,
            "secret": real_secret if secret is None else secret,
            "has": {"fetchCurrencies": False},
        }
    )
    exchange.urls["api"]["spot"] = {"public": venues.mexc_rest, "private": venues.mexc_rest}
    exchange.urls["api"]["ws"]["spot"] = venues.mexc_ws
    return exchange


def gate(venues: Venues, secret: str | None = None) -> SimGate:
    key, real_secret = venues.gateio_key
    exchange = SimGate(
        {
            "apiKey": key,
            "secret": real_secret if secret is None else secret,
            "has": {"fetchCurrencies": False},
            "options": {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["swap"]},
                "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}},
            },
        }
    )
    # Gate.io serves every REST API from one origin; the simulated venue is at its own.
    api = exchange.urls["api"]
    for access in ("public", "private"):
        api[access] = dict.fromkeys(api[access], f"{venues.gateio_rest}/api/v4")
    api["swap"] = {"usdt": venues.gateio_ws}
    return exchange


# ------------------------------------------------------------------ running checks


@dataclass
class Report:
    results: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, result: dict[str, Any]) -> None:
        self.results.append(result)
        print(json.dumps(result), flush=True)

    @property
    def all_ok(self) -> bool:
        return all(result["ok"] for result in self.results)


async def run_check(
    report: Report,
    exchange: LoopbackOnly,
    venue: str,
    name: str,
    call: Callable[[], Awaitable[tuple[Any, str]]],
) -> Needed:
    """Run one check: ``call`` returns what later checks need and a one-line detail."""
    first_request = len(exchange.sent)
    try:
        value, detail = await call()
    except Exception as error:
        report.emit(
            {
                "venue": venue,
                "check": name,
                "ok": False,
                "error": describe(error),
                "requests": exchange.sent[first_request:],
            }
        )
        return Needed(name)
    report.emit({"venue": venue, "check": name, "ok": True, "detail": detail})
    return Needed(name, value, ok=True)


def describe(error: BaseException) -> str:
    if isinstance(error, CheckFailed):
        return str(error)
    text = f"{type(error).__name__}: {error}"
    if not isinstance(error, BaseError):
        # Not the library's own refusal: where in ccxt it broke tells what it missed.
        frames = traceback.extract_tb(error.__traceback__)[-2:]
        text += " at " + " -> ".join(f"{f.filename.split('/')[-1]}:{f.lineno}" for f in frames)
    return text[:1500]


# ------------------------------------------------------------------ shared checks


def check_market(market: dict[str, Any], kind: str) -> None:
    symbol = market["symbol"]
    expect(market[kind], f"{symbol} is not a {kind} market: {market['type']}")
    expect(market["active"], f"{symbol} is not active: {market['info']}")
    for what in ("amount", "price"):
        expect(market["precision"][what], f"{symbol} has no {what} precision: {market['info']}")
    expect(market["limits"]["amount"]["min"], f"{symbol} has no minimum amount: {market['info']}")
    for fee in ("maker", "taker"):
        expect(market[fee] is not None, f"{symbol} has no {fee} fee: {market['info']}")


def check_ticker(ticker: dict[str, Any], symbol: str) -> None:
    expect(ticker["symbol"] == symbol, f"ticker for {ticker['symbol']}, asked for {symbol}")
    bid, ask = ticker["bid"], ticker["ask"]
    expect(bid and ask and 0 < bid < ask, f"{symbol} bid {bid} ask {ask}: {ticker['info']}")


def check_book(book: dict[str, Any], symbol: str) -> None:
    expect(book["bids"] and book["asks"], f"{symbol} book has an empty side: {book}")
    best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
    expect(0 < best_bid < best_ask, f"{symbol} book crossed: bid {best_bid} ask {best_ask}")


def check_tickers(tickers: dict[str, Any], symbols: tuple[str, ...]) -> str:
    expect(set(symbols) <= set(tickers), f"tickers for {sorted(tickers)}, want {symbols}")
    for symbol in symbols:
        check_ticker(tickers[symbol], symbol)
    return f"{len(tickers)} tickers"


def check_listed(orders: list[dict[str, Any]], order_id: str, what: str) -> str:
    ids = [order["id"] for order in orders]
    expect(order_id in ids, f"order {order_id} is not among the {what}: {ids}")
    return f"{len(orders)} {what}, order {order_id} among them"


def check_order(order: dict[str, Any], **expected: Any) -> None:
    for key, value in expected.items():
        expect(order[key] == value, f"order {key} is {order[key]!r}, want {value!r}: {order}")


async def expect_authentication_error(client: LoopbackOnly, call: Awaitable[Any]) -> str:
    try:
        await call
    except AuthenticationError as error:
        return f"AuthenticationError: {error}"
    finally:
        await client.close()
    raise CheckFailed("a request signed with the wrong secret was answered")


# ------------------------------------------------------------------ market history


async def check_server_time(exchange: LoopbackOnly, check, within_s: float) -> None:
    """The venue's clock, as the client reads it, within ``within_s`` of this machine's."""

    async def fetch_time():
        server_ms = await exchange.fetch_time()
        drift_s = abs(server_ms / 1000 - time.time())
        expect(drift_s < within_s, f"server time {server_ms} is {drift_s:.1f} s off")
        return None, f"server time {server_ms}"

    await check("fetch server time", fetch_time)


async def market_history_checks(
    exchange: LoopbackOnly, symbol: str, markets: Needed, check
) -> None:
    """Server time, candles, recent public trades and the account's fee rates."""
    await check_server_time(exchange, check, within_s=5.0)

    async def fetch_ohlcv():
        markets.get()
        candles = await exchange.fetch_ohlcv(symbol, "1m", limit=10)
        expect(candles, "no candles")
        for opened, open_, high, low, close, volume in candles:
            expect(0 < low <= min(open_, close) <= max(open_, close) <= high, f"candle {opened}")
            expect(volume is not None and volume >= 0, f"candle {opened} volume {volume}")
        times = [candle[0] for candle in candles]
        expect(times == sorted(times), f"candles not oldest first: {times}")
        return None, f"{len(candles)} one-minute candles, last close {candles[-1][4]}"

    await check("fetch candles (OHLCV)", fetch_ohlcv)

    async def fetch_trades():
        markets.get()
        trades = await exchange.fetch_trades(symbol, limit=20)
        expect(trades, "no public trades")
        for trade in trades:
            expect(trade["price"] and trade["amount"], f"trade without price/amount: {trade}")
            expect(trade["side"] in ("buy", "sell"), f"trade without a side: {trade['info']}")
        return None, f"{len(trades)} trades, last {trades[-1]['price']}"

    await check("fetch public trades", fetch_trades)

    async def fetch_trading_fee():
        markets.get()
        fee = await exchange.fetch_trading_fee(symbol)
        expect(fee["taker"] is not None and fee["maker"] is not None, f"fee {fee['info']}")
        return None, f"maker {fee['maker']} taker {fee['taker']}"

    await check("fetch trading fee", fetch_trading_fee)


# ------------------------------------------------------------------ MEXC spot (REST)


async def mexc_rest_checks(venues: Venues, report: Report) -> None:
    exchange = mexc(venues)
    symbol = MEXC_SYMBOLS[0]

    async def check(name: str, call: Callable[[], Awaitable[tuple[Any, str]]]) -> Needed:
        return await run_check(report, exchange, "mexc", name, call)

    try:
        await mexc_rest_sequence(venues, exchange, symbol, check)
    finally:
        await exchange.close()


async def mexc_rest_sequence(venues: Venues, exchange: SimMexc, symbol: str, check) -> None:
    async def load_markets():
        markets = await exchange.load_markets()
        for each in MEXC_SYMBOLS:
            expect(each in markets, f"{each} not among the markets: {sorted(markets)}")
            check_market(markets[each], "spot")
        return markets, f"{len(markets)} spot markets"

    markets = await check("load markets", load_markets)

    async def fetch_ticker():
        markets.get()
        ticker = await exchange.fetch_ticker(symbol)
        check_ticker(ticker, symbol)
        expect(ticker["last"], f"no last price: {ticker['info']}")
        return ticker, f"bid {ticker['bid']} ask {ticker['ask']} last {ticker['last']}"

    ticker = await check("fetch ticker", fetch_ticker)

    async def fetch_tickers():
        markets.get()
        tickers = await exchange.fetch_tickers()
        return None, check_tickers(tickers, MEXC_SYMBOLS)

    await check("fetch tickers (all symbols)", fetch_tickers)

    async def fetch_bids_asks():
        markets.get()
        return None, check_tickers(await exchange.fetch_bids_asks(), MEXC_SYMBOLS)

    await check("fetch book tickers (all symbols)", fetch_bids_asks)

    async def fetch_order_book():
        markets.get()
        book = await exchange.fetch_order_book(symbol, 20)
        check_book(book, symbol)
        return None, f"{len(book['bids'])} bids, {len(book['asks'])} asks, nonce {book['nonce']}"

    await check("fetch order book", fetch_order_book)

    async def fetch_status():
        status = await exchange.fetch_status()
        expect(status["status"] == "ok", f"status {status}")
        return None, f"status {status['status']}"

    await check("fetch status (ping)", fetch_status)
    await market_history_checks(exchange, symbol, markets, check)

    async def fetch_balance():
        markets.get()
        balance = await exchange.fetch_balance()
        usdt = balance.get("USDT") or {}
        expect((usdt.get("free") or 0) > 0, f"no free USDT: {balance['info']}")
        return None, f"USDT free {usdt['free']} used {usdt['used']}"

    await check("fetch balance", fetch_balance)

    def resting_buy() -> tuple[float, float]:
        """A limit buy's price and amount: below the bid, worth ORDER_NOTIONAL_USDT."""
        bid = ticker.get()["bid"]
        price = float(exchange.price_to_precision(symbol, bid * RESTING_DISCOUNT))
        amount = float(exchange.amount_to_precision(symbol, ORDER_NOTIONAL_USDT / price))
        return price, amount

    async def place_limit():
        price, amount = resting_buy()
        order = await exchange.create_order(
            symbol, "limit", "buy", amount, price, {"clientOrderId": RESTING_ID}
        )
        expect(order["id"], f"no order id: {order['info']}")
        return (order["id"], price, amount), f"order {order['id']}: buy {amount} at {price}"

    placed = await check("place limit order", place_limit)

    async def fetch_order():
        order_id, price, amount = placed.get()
        order = await exchange.fetch_order(order_id, symbol)
        check_order(order, id=order_id, status="open", price=price, amount=amount)
        check_order(order, clientOrderId=RESTING_ID, side="buy", type="limit")
        return None, f"order {order_id} {order['status']}"

    await check("fetch order by id", fetch_order)

    async def fetch_order_by_client_id():
        order_id, _, _ = placed.get()
        order = await exchange.fetch_order(None, symbol, {"clientOrderId": RESTING_ID})
        check_order(order, id=order_id, status="open")
        return None, f"order {order_id} {order['status']}"

    await check("fetch order by client id", fetch_order_by_client_id)

    async def fetch_open_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_open_orders(symbol), order_id, "open")

    await check("list open orders of a symbol", fetch_open_orders)

    async def fetch_all_open_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_open_orders(), order_id, "open")

    await check("list open orders of all symbols", fetch_all_open_orders)

    async def fetch_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_orders(symbol), order_id, "orders")

    await check("list all orders of a symbol", fetch_orders)

    async def cancel_order():
        order_id = placed.get()[0]
        cancelled = await exchange.cancel_order(order_id, symbol)
        check_order(cancelled, id=order_id, status="canceled")
        return None, f"order {order_id} {cancelled['status']}"

    await check("cancel order by id", cancel_order)

    async def cancel_by_client_id():
        price, amount = resting_buy()
        client_id = CANCELLED_ID
        order = await exchange.create_order(
            symbol, "limit", "buy", amount, price, {"clientOrderId": client_id}
        )
        cancelled = await exchange.cancel_order(None, symbol, {"clientOrderId": client_id})
        check_order(cancelled, id=order["id"], status="canceled")
        return None, f"order {order['id']} ({client_id}) {cancelled['status']}"

    await check("cancel order by client id", cancel_by_client_id)

    async def filled(order: dict[str, Any]) -> dict[str, Any]:
        expect(order["id"], f"no order id: {order['info']}")
        found = await exchange.fetch_order(order["id"], symbol)
        check_order(found, status="closed")
        expect(found["filled"], f"order {order['id']} filled nothing: {found['info']}")
        return found

    async def market_buy():
        _, amount = resting_buy()
        order = await filled(await exchange.create_order(symbol, "market", "buy", amount))
        return order, f"order {order['id']} bought {order['filled']}"

    bought = await check("place market buy by amount", market_buy)

    async def market_buy_by_cost():
        markets.get()
        placed = await exchange.create_market_buy_order_with_cost(symbol, ORDER_NOTIONAL_USDT)
        order = await filled(placed)
        return order, f"order {order['id']} bought {order['filled']} for {order['cost']} USDT"

    await check("place market buy by cost (quoteOrderQty)", market_buy_by_cost)

    async def market_sell():
        amount = bought.get()["filled"]
        order = await filled(await exchange.create_order(symbol, "market", "sell", amount))
        return order, f"order {order['id']} sold {order['filled']}"

    sold = await check("place market sell by amount", market_sell)

    async def fetch_my_trades():
        orders = [needed.get()["id"] for needed in (bought, sold)]
        trades = await exchange.fetch_my_trades(symbol)
        traded = {trade["order"] for trade in trades}
        expect(set(orders) <= traded, f"trades of orders {sorted(traded)}, want {orders}")
        for trade in trades:
            expect(trade["price"] and trade["amount"], f"trade without price/amount: {trade}")
            expect(trade["fee"] is not None, f"trade without its fee: {trade['info']}")
        return None, f"{len(trades)} trades"

    await check("fetch my trades", fetch_my_trades)

    async def bad_signature():
        markets.get()
        client = mexc(venues, secret="not-the-secret")
        return None, await expect_authentication_error(client, client.fetch_balance())

    await check("authentication error for a bad signature", bad_signature)


# ------------------------------------------------------------------ Gate.io futures (REST)


async def gate_rest_checks(venues: Venues, report: Report) -> None:
    exchange = gate(venues)

    async def check(name: str, call: Callable[[], Awaitable[tuple[Any, str]]]) -> Needed:
        return await run_check(report, exchange, "gateio", name, call)

    try:
        await gate_rest_sequence(venues, exchange, GATE_SYMBOLS[0], check)
    finally:
        await exchange.close()


async def gate_rest_sequence(venues: Venues, exchange: SimGate, symbol: str, check) -> None:
    async def load_markets():
        markets = await exchange.load_markets()
        for each in GATE_SYMBOLS:
            expect(each in markets, f"{each} not among the markets: {sorted(markets)}")
            check_market(markets[each], "swap")
            expect(markets[each]["linear"], f"{each} is not linear")
        contract_size = markets[symbol]["contractSize"]
        expect(contract_size == 0.0001, f"{symbol} contract size {contract_size}, want 0.0001")
        return markets, f"{len(markets)} USDT perpetuals"

    markets = await check("load markets", load_markets)

    async def fetch_ticker():
        markets.get()
        ticker = await exchange.fetch_ticker(symbol)
        check_ticker(ticker, symbol)
        expect(ticker["last"] and ticker["markPrice"], f"no last/mark price: {ticker['info']}")
        return ticker, f"bid {ticker['bid']} ask {ticker['ask']} mark {ticker['markPrice']}"

    ticker = await check("fetch ticker", fetch_ticker)

    async def fetch_tickers():
        markets.get()
        return None, check_tickers(await exchange.fetch_tickers(), GATE_SYMBOLS)

    await check("fetch tickers (all contracts)", fetch_tickers)

    async def fetch_order_book():
        markets.get()
        book = await exchange.fetch_order_book(symbol, 20)
        check_book(book, symbol)
        return None, f"{len(book['bids'])} bids, {len(book['asks'])} asks, nonce {book['nonce']}"

    await check("fetch order book", fetch_order_book)

    async def fetch_balance():
        markets.get()
        balance = await exchange.fetch_balance()
        usdt = balance.get("USDT") or {}
        expect((usdt.get("free") or 0) > 0, f"no free USDT: {balance['info']}")
        return None, f"USDT free {usdt['free']} total {usdt['total']}"

    await check("fetch balance", fetch_balance)

    async def fetch_funding_rate():
        markets.get()
        rate = await exchange.fetch_funding_rate(symbol)
        expect(rate["fundingRate"] is not None, f"no funding rate: {rate['info']}")
        expect(
            (rate["fundingTimestamp"] or 0) > time.time() * 1000,
            f"next funding time {rate['fundingTimestamp']} is not ahead: {rate['info']}",
        )
        expect(rate["interval"], f"no funding interval: {rate['info']}")
        detail = (
            f"rate {rate['fundingRate']} every {rate['interval']}, next {rate['fundingDatetime']}"
        )
        return None, detail

    await check("fetch funding rate", fetch_funding_rate)

    async def fetch_funding_rates():
        markets.get()
        rates = await exchange.fetch_funding_rates()
        expect(set(GATE_SYMBOLS) <= set(rates), f"rates for {sorted(rates)}, want {GATE_SYMBOLS}")
        for each in GATE_SYMBOLS:
            expect(rates[each]["fundingRate"] is not None, f"no {each} rate: {rates[each]}")
        return None, f"{len(rates)} funding rates"

    await check("fetch funding rates (all contracts)", fetch_funding_rates)

    async def fetch_funding_rate_history():
        markets.get()
        history = await exchange.fetch_funding_rate_history(symbol, limit=10)
        for entry in history:
            expect(entry["fundingRate"] is not None and entry["timestamp"], f"entry {entry}")
        return None, f"{len(history)} funding settlements"

    await check("fetch funding rate history", fetch_funding_rate_history)
    await market_history_checks(exchange, symbol, markets, check)

    async def set_leverage():
        markets.get()
        answer = await exchange.set_leverage(3, symbol)
        expect(float(answer.get("leverage", 0)) == 3.0, f"leverage not 3 after setting: {answer}")
        return None, f"leverage {answer['leverage']}"

    await check("set leverage", set_leverage)

    def resting_buy() -> float:
        return float(exchange.price_to_precision(symbol, ticker.get()["bid"] * RESTING_DISCOUNT))

    async def place_limit():
        price = resting_buy()
        order = await exchange.create_order(
            symbol, "limit", "buy", 1, price, {"clientOrderId": f"t-{RESTING_ID}"}
        )
        check_order(order, status="open", clientOrderId=f"t-{RESTING_ID}", side="buy")
        return (order["id"], price), f"order {order['id']}: buy 1 contract at {price}"

    placed = await check("place limit order", place_limit)

    async def fetch_order():
        order_id, price = placed.get()
        order = await exchange.fetch_order(order_id, symbol)
        check_order(order, id=order_id, status="open", price=price, amount=1.0)
        check_order(order, clientOrderId=f"t-{RESTING_ID}", side="buy", type="limit")
        return None, f"order {order_id} {order['status']}"

    await check("fetch order by id", fetch_order)

    async def fetch_order_by_client_id():
        order_id, _ = placed.get()
        order = await exchange.fetch_order(None, symbol, {"clientOrderId": f"t-{RESTING_ID}"})
        check_order(order, id=order_id, status="open")
        return None, f"order {order_id} {order['status']}"

    await check("fetch order by client id", fetch_order_by_client_id)

    async def fetch_open_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_open_orders(symbol), order_id, "open")

    await check("list open orders of a contract", fetch_open_orders)

    async def fetch_all_open_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_open_orders(), order_id, "open")

    await check("list open orders of all contracts", fetch_all_open_orders)

    async def cancel_order():
        order_id = placed.get()[0]
        cancelled = await exchange.cancel_order(order_id, symbol)
        check_order(cancelled, id=order_id, status="canceled")
        return None, f"order {order_id} {cancelled['status']}"

    await check("cancel order by id", cancel_order)

    async def cancel_by_client_id():
        client_id = f"t-{CANCELLED_ID}"
        order = await exchange.create_order(
            symbol, "limit", "buy", 1, resting_buy(), {"clientOrderId": client_id}
        )
        # Gate.io takes the client id (its ``text``) wherever an order id goes.
        cancelled = await exchange.cancel_order(client_id, symbol)
        check_order(cancelled, id=order["id"], status="canceled")
        return None, f"order {order['id']} ({client_id}) {cancelled['status']}"

    await check("cancel order by client id", cancel_by_client_id)

    async def fetch_closed_orders():
        order_id = placed.get()[0]
        return None, check_listed(await exchange.fetch_closed_orders(symbol), order_id, "closed")

    await check("list finished orders of a contract", fetch_closed_orders)

    async def market(side: str) -> tuple[dict[str, Any], str]:
        markets.get()
        order = await exchange.create_order(symbol, "market", side, 1)
        expect(order["id"], f"no order id: {order['info']}")
        found = await exchange.fetch_order(order["id"], symbol)
        check_order(found, status="closed", side=side, type="market")
        return found, f"order {found['id']}: {side} 1 contract at {found['average']}"

    async def market_sell():
        return await market("sell")

    sold = await check("place market sell (open a short)", market_sell)

    async def fetch_positions():
        sold.get()
        positions = await exchange.fetch_positions()
        held = {p["symbol"]: p for p in positions if p["contracts"]}
        expect(symbol in held, f"no {symbol} position among {positions}")
        expect(held[symbol]["side"] == "short", f"position is not short: {held[symbol]}")
        return None, f"{len(positions)} positions, {symbol} short {held[symbol]['contracts']}"

    await check("fetch positions", fetch_positions)

    async def fetch_position():
        sold.get()
        position = await exchange.fetch_position(symbol)
        expect(position["side"] == "short", f"position is not short: {position}")
        expect(position["contracts"], f"position holds no contracts: {position}")
        return None, f"short {position['contracts']} at {position['entryPrice']}"

    await check("fetch position of a contract", fetch_position)

    async def market_buy():
        return await market("buy")

    bought = await check("place market buy (close the short)", market_buy)

    async def fetch_my_trades():
        orders = [needed.get()["id"] for needed in (sold, bought)]
        trades = await exchange.fetch_my_trades(symbol)
        traded = {trade["order"] for trade in trades}
        expect(set(orders) <= traded, f"trades of orders {sorted(traded)}, want {orders}")
        for trade in trades:
            expect(trade["price"] and trade["amount"], f"trade without price/amount: {trade}")
        return None, f"{len(trades)} trades"

    await check("fetch my trades", fetch_my_trades)

    async def bad_signature():
        markets.get()
        client = gate(venues, secret="not-the-secret")
        return None, await expect_authentication_error(client, client.fetch_balance())

    await check("authentication error for a bad signature", bad_signature)


# ------------------------------------------------------------------ websockets


async def keep_watching(
    watch: Callable[[], Awaitable[Any]], check: Callable[[Any], None], seconds: float
) -> tuple[None, str]:
    """Read a subscription's updates for ``seconds`` after its first one, checking each;
    a failure, or a silence longer than MAX_SILENCE_S, ends it."""
    clock = asyncio.get_running_loop().time
    started = clock()
    updates, longest_silence = 0, 0.0

    async def next_update(within_s: float) -> None:
        try:
            value = await asyncio.wait_for(watch(), within_s)
        except TimeoutError:
            raise CheckFailed(
                f"silent for {within_s} s after {updates} updates ({clock() - started:.1f} s in)"
            ) from None
        except Exception as error:
            raise CheckFailed(
                f"{describe(error)} after {updates} updates ({clock() - started:.1f} s in)"
            ) from error
        check(value)

    await next_update(FIRST_UPDATE_S)
    updates = 1
    first = last = clock()
    while last - first < seconds:
        await next_update(MAX_SILENCE_S)
        updates += 1
        longest_silence = max(longest_silence, clock() - last)
        last = clock()
    detail = (
        f"first update after {first - started:.1f} s, {updates} in the {last - first:.0f} s after, "
        f"longest silence {longest_silence:.1f} s"
    )
    return None, detail


@dataclass(frozen=True)
class Subscription:
    venue: str
    name: str
    client: LoopbackOnly
    watch: Callable[[], Awaitable[Any]]
    check: Callable[[Any], None]


def check_book_tickers(tickers: dict[str, Any], symbols: list[str]) -> None:
    for symbol, ticker in tickers.items():
        expect(symbol in symbols, f"book ticker of {symbol}, subscribed to {symbols}")
        check_ticker(ticker, symbol)


async def watch_book_tickers(client: LoopbackOnly, symbols: list[str]) -> dict[str, Any]:
    """The next best bid and ask of each of ``symbols``, all on one connection."""
    if isinstance(client, SimMexc):
        # ccxt's MEXC watchBidsAsks reads the fields of MEXC's retired JSON pushes (``d``,
        # ``s``) and never resolves on the protobuf book tickers the venue pushes now;
        # its watchTicker follows the same channel and decodes them.
        return {symbol: await client.watch_ticker(symbol) for symbol in symbols}
    return await client.watch_bids_asks(symbols)


def subscriptions(venues: Venues) -> list[Subscription]:
    """Ticker, book tickers and order book on both venues, each on its own client."""
    found = []
    for venue, new_client, symbols in (
        ("mexc", mexc, MEXC_SYMBOLS),
        ("gateio", gate, GATE_SYMBOLS),
    ):
        symbol, pair = symbols[0], list(symbols[:2])
        ticker, book_tickers, book = new_client(venues), new_client(venues), new_client(venues)
        found += [
            Subscription(
                venue,
                "watch ticker",
                ticker,
                partial(ticker.watch_ticker, symbol),
                partial(check_ticker, symbol=symbol),
            ),
            Subscription(
                venue,
                "watch book tickers",
                book_tickers,
                partial(watch_book_tickers, book_tickers, pair),
                partial(check_book_tickers, symbols=pair),
            ),
            Subscription(
                venue,
                "watch order book",
                book,
                partial(book.watch_order_book, symbol),
                partial(check_book, symbol=symbol),
            ),
        ]
    return found


async def watch_for(venues: Venues, report: Report, seconds: float) -> None:
    async def follow(subscription: Subscription) -> None:
        try:
            await run_check(
                report,
                subscription.client,
                subscription.venue,
                f"{subscription.name} stays alive for {seconds:.0f} s",
                lambda: keep_watching(subscription.watch, subscription.check, seconds),
            )
        finally:
            await subscription.client.close()

    await asyncio.gather(*(follow(each) for each in subscriptions(venues)))


# ------------------------------------------------------------------ main


async def run_all(venues: Venues, ws_seconds: float) -> Report:
    report = Report()
    await asyncio.gather(
        mexc_rest_checks(venues, report),
        gate_rest_checks(venues, report),
        watch_for(venues, report, ws_seconds),
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", required=True, help="the JSON line basis sim prints")
    parser.add_argument("--ws-seconds", type=float, default=60.0)
    args = parser.parse_args()
    urls = json.loads(args.urls)
    for url in (urls["mexc_rest"], urls["mexc_ws"], urls["gateio_rest"], urls["gateio_ws"]):
        require_loopback(url)
    venues = Venues(
        mexc_rest=urls["mexc_rest"],
        mexc_ws=urls["mexc_ws"],
        gateio_rest=urls["gateio_rest"],
        gateio_ws=urls["gateio_ws"],
        mexc_key=(os.environ["MEXC_API_KEY"], os.environ["MEXC_API_SECRET"]),
        gateio_key=(os.environ["GATEIO_API_KEY"], os.environ["GATEIO_API_SECRET"]),
    )
    resolve_nothing_but_loopback()
    report = asyncio.run(run_all(venues, args.ws_seconds))
    failed = [r for r in report.results if not r["ok"]]
    print(
        f"{len(report.results) - len(failed)} checks passed, {len(failed)} failed", file=sys.stderr
    )
    return 0 if report.all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
