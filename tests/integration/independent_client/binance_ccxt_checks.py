"""The simulated Binance venues through the eyes of ccxt (its ``ccxt.pro`` classes
``binance`` and ``binanceusdm``, REST), used as a black box against a running
``basis sim --pair binance/binance_futures``.

    python binance_ccxt_checks.py --urls '<the JSON line basis sim prints>' \
        --expect '<what the simulated venues were started with>'

with the simulated accounts' keys in ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``,
``BINANCE_FUTURES_API_KEY`` and ``BINANCE_FUTURES_API_SECRET``. ``--expect`` is JSON:
the spot market's ``amount_step``, ``price_tick``, ``min_notional`` and the account's
``usdt``; the perpetual's ``contract_size``, the futures account's ``usdt`` and its
``taker_fee``. Prints one JSON line per check, as ``ccxt_checks.py`` does; exits 0 only
when every check passed.

ccxt is pointed at the simulated venues as a user points it at another deployment of
Binance: the spot API's URLs (``api/v3``) and the USDⓈ-M API's (``fapi``) replaced, spot
loading its spot markets only (ccxt would also load USDⓈ-M and COIN-M futures from their
own APIs), neither the currency list (a wallet endpoint, no trading call). Nothing leaves
127.0.0.1: every URL is checked before ccxt uses it, and host names do not resolve in
this process. The two venues' checks run side by side, each in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro
from ccxt.base.errors import OrderNotFound
from ccxt_checks import (
    RUN,
    LoopbackOnly,
    Report,
    check_book,
    check_listed,
    check_order,
    check_server_time,
    expect_authentication_error,
    run_check,
)
from loopback_checks import (
    CheckFailed,
    Needed,
    expect,
    require_loopback,
    resolve_nothing_but_loopback,
)

SPOT_SYMBOL = "BTC/USDT"
PERPETUAL = "BTC/USDT:USDT"
RESTING_DISCOUNT = 0.95
"""Limit buys rest this far below the bid, so they stay open until cancelled."""
SPOT_RESTING_ID = f"ccxt-{RUN}-spot"
FUTURES_RESTING_ID = f"ccxt-{RUN}-fut"

Check = Callable[[str, Callable[[], Awaitable[tuple[Any, str]]]], Awaitable[Needed]]


class SimBinance(LoopbackOnly, ccxt.pro.binance):
    pass


class SimBinanceUsdm(LoopbackOnly, ccxt.pro.binanceusdm):
    pass


def binance(rest_url: str, key: tuple[str, str], secret: str | None = None) -> SimBinance:
    exchange = SimBinance(
        {
            "apiKey": key[0],
            "secret": key[1] if secret is None else secret,
            "has": {"fetchCurrencies": False},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False},
        }
    )
    api = exchange.urls["api"]
    for access in ("public", "private"):
        api[access] = f"{rest_url}/api/v3"
    return exchange


def binanceusdm(rest_url: str, key: tuple[str, str], secret: str | None = None) -> SimBinanceUsdm:
    # ccxt's own pacing (by the weights it knows) is off: the venue's limits are the
    # simulated venue's to enforce.
    exchange = SimBinanceUsdm(
        {
            "apiKey": key[0],
            "secret": key[1] if secret is None else secret,
            "enableRateLimit": False,
            "has": {"fetchCurrencies": False},
        }
    )
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        if name.startswith("fapi") and name != "fapiData":
            version = urlsplit(url).path.rsplit("/", 1)[1]
            api[name] = f"{rest_url}/fapi/{version}"
    return exchange


def check_depth(book: dict[str, Any], levels: int) -> str:
    check_book(book, book["symbol"])
    bids, asks = [p for p, _ in book["bids"]], [p for p, _ in book["asks"]]
    expect(len(bids) == len(asks) == levels, f"{len(bids)} bids, {len(asks)} asks: {book}")
    expect(bids == sorted(bids, reverse=True), f"bids not best first: {bids}")
    expect(asks == sorted(asks), f"asks not best first: {asks}")
    return f"bid {bids[0]} ask {asks[0]}, {levels} levels each"


# ------------------------------------------------------------------ spot


async def spot_sequence(
    exchange: SimBinance, wrong_secret: SimBinance, expected: dict[str, Any], check: Check
) -> None:
    async def load_markets():
        market = (await exchange.load_markets())[SPOT_SYMBOL]
        expect(market["spot"], f"{SPOT_SYMBOL} is not a spot market: {market['type']}")
        precision = (market["precision"]["amount"], market["precision"]["price"])
        want = (expected["amount_step"], expected["price_tick"])
        expect(precision == want, f"amount step and tick {precision}, want {want}")
        min_cost = market["limits"]["cost"]["min"]
        expect(min_cost == expected["min_notional"], f"minimum notional {min_cost}")
        return None, f"{SPOT_SYMBOL}: step {precision[0]}, tick {precision[1]}, min {min_cost}"

    markets = await check("load markets", load_markets)

    async def fetch_order_book():
        markets.get()
        book = await exchange.fetch_order_book(SPOT_SYMBOL, limit=5)
        return book["bids"][0][0], check_depth(book, 5)

    bid = await check("fetch order book", fetch_order_book)

    async def fetch_balance():
        usdt = (await exchange.fetch_balance())["USDT"]["free"]
        expect(usdt == expected["usdt"], f"USDT free {usdt}, want {expected['usdt']}")
        return None, f"USDT free {usdt}"

    await check("fetch balance", fetch_balance)

    async def place_limit():
        price = float(exchange.price_to_precision(SPOT_SYMBOL, bid.get() * RESTING_DISCOUNT))
        params = {"newClientOrderId": SPOT_RESTING_ID}
        order = await exchange.create_order(SPOT_SYMBOL, "limit", "buy", 0.01, price, params)
        check_order(order, clientOrderId=SPOT_RESTING_ID, status="open", price=price)
        return order["id"], f"order {order['id']}: buy 0.01 at {price}"

    placed = await check("place limit order", place_limit)

    async def fetch_order():
        order = await exchange.fetch_order(placed.get(), SPOT_SYMBOL)
        check_order(order, id=placed.get(), status="open", amount=0.01)
        return None, f"order {order['id']} {order['status']}"

    await check("fetch order by id", fetch_order)

    async def fetch_order_by_client_id():
        params = {"origClientOrderId": SPOT_RESTING_ID}
        order = await exchange.fetch_order(None, SPOT_SYMBOL, params)
        check_order(order, id=placed.get())
        return None, f"{SPOT_RESTING_ID} is order {order['id']}"

    await check("fetch order by client id", fetch_order_by_client_id)

    async def fetch_open_orders():
        orders = await exchange.fetch_open_orders(SPOT_SYMBOL)
        expect(len(orders) == 1, f"open orders {[o['id'] for o in orders]}")
        return None, check_listed(orders, placed.get(), "open orders")

    await check("fetch open orders", fetch_open_orders)

    async def cancel_order():
        cancelled = await exchange.cancel_order(placed.get(), SPOT_SYMBOL)
        expect(cancelled["status"] == "canceled", f"cancel answered {cancelled['status']}")
        closed = await exchange.fetch_order(placed.get(), SPOT_SYMBOL)
        expect(closed["status"] == "canceled", f"then found {closed['status']}")
        return None, f"order {placed.get()} canceled"

    await check("cancel order", cancel_order)

    async def market_buy():
        order = await exchange.create_order(SPOT_SYMBOL, "market", "buy", 0.005)
        check_order(order, status="closed", filled=0.005)
        return order["id"], f"order {order['id']} filled {order['filled']}"

    bought = await check("place market order", market_buy)

    async def fetch_my_trades():
        orders = [trade["order"] for trade in await exchange.fetch_my_trades(SPOT_SYMBOL)]
        expect(orders == [bought.get()], f"trades of orders {orders}, want {[bought.get()]}")
        return None, f"one trade, of order {orders[0]}"

    await check("fetch my trades", fetch_my_trades)

    await refuse_bad_signature(wrong_secret, check)


async def refuse_bad_signature(wrong_secret: LoopbackOnly, check: Check) -> None:
    """A request signed with the wrong secret is refused as an authentication error."""

    async def bad_signature():
        return None, await expect_authentication_error(wrong_secret, wrong_secret.fetch_balance())

    await check("refuse a bad signature", bad_signature)


# ------------------------------------------------------------------ USDⓈ-M perpetuals


async def futures_sequence(
    exchange: SimBinanceUsdm, wrong_secret: SimBinanceUsdm, expected: dict[str, Any], check: Check
) -> None:
    async def load_markets():
        market = (await exchange.load_markets())[PERPETUAL]
        linear = (market["linear"], market["swap"], market["settle"])
        expect(linear == (True, True, "USDT"), f"{PERPETUAL} is not a USDT perpetual: {linear}")
        step = market["precision"]["amount"]
        expect(step == expected["contract_size"], f"amount step {step}")
        return None, f"{PERPETUAL}: amount step {step}"

    markets = await check("load markets", load_markets)

    await check_server_time(exchange, check, within_s=2.0)

    async def fetch_ticker():
        markets.get()
        ticker = await exchange.fetch_ticker(PERPETUAL)
        expect(ticker["last"] and ticker["last"] > 0, f"last {ticker['last']}")
        return None, f"last {ticker['last']}"

    await check("fetch ticker", fetch_ticker)

    async def fetch_order_book():
        markets.get()
        book = await exchange.fetch_order_book(PERPETUAL, 5)
        check_book(book, PERPETUAL)
        return book["bids"][0][0], f"bid {book['bids'][0][0]} ask {book['asks'][0][0]}"

    bid = await check("fetch order book", fetch_order_book)

    async def fetch_funding_rate():
        markets.get()
        funding = await exchange.fetch_funding_rate(PERPETUAL)
        rate, next_at = funding["fundingRate"], funding["fundingTimestamp"]
        expect(rate is not None and next_at and next_at > 0, f"rate {rate}, next {next_at}")
        return None, f"rate {rate}, next at {next_at}"

    await check("fetch funding rate", fetch_funding_rate)

    async def fetch_balance():
        usdt = (await exchange.fetch_balance())["USDT"]["free"]
        expect(abs(usdt - expected["usdt"]) < 1e-6, f"USDT free {usdt}, want {expected['usdt']}")
        return None, f"USDT free {usdt}"

    await check("fetch balance", fetch_balance)

    async def leverage_and_modes():
        markets.get()
        await exchange.set_leverage(2, PERPETUAL)
        await exchange.set_margin_mode("isolated", PERPETUAL)
        mode = await exchange.fetch_position_mode(PERPETUAL)
        expect(not mode["hedged"], f"hedged position mode: {mode['info']}")
        return None, "leverage 2, isolated margin, one-way positions"

    await check("set leverage and margin mode, read position mode", leverage_and_modes)

    async def place_limit():
        price = float(exchange.price_to_precision(PERPETUAL, bid.get() * RESTING_DISCOUNT))
        params = {"newClientOrderId": FUTURES_RESTING_ID}
        order = await exchange.create_order(PERPETUAL, "limit", "buy", 0.002, price, params)
        check_order(order, clientOrderId=FUTURES_RESTING_ID, status="open")
        return order["id"], f"order {order['id']}: buy 0.002 at {price}"

    placed = await check("place limit order", place_limit)

    async def fetch_order_by_client_id():
        params = {"origClientOrderId": FUTURES_RESTING_ID}
        order = await exchange.fetch_order(None, PERPETUAL, params)
        check_order(order, id=placed.get())
        return None, f"{FUTURES_RESTING_ID} is order {order['id']}"

    await check("fetch order by client id", fetch_order_by_client_id)

    async def fetch_order():
        order = await exchange.fetch_order(placed.get(), PERPETUAL)
        check_order(order, clientOrderId=FUTURES_RESTING_ID, status="open", amount=0.002)
        return None, f"order {order['id']} {order['status']}"

    await check("fetch order by id", fetch_order)

    async def fetch_open_orders():
        orders = await exchange.fetch_open_orders(PERPETUAL)
        ids = [order["clientOrderId"] for order in orders]
        expect(ids == [FUTURES_RESTING_ID], f"open orders {ids}")
        return None, check_listed(orders, placed.get(), "open orders")

    await check("fetch open orders", fetch_open_orders)

    async def cancel_by_client_id():
        params = {"origClientOrderId": FUTURES_RESTING_ID}
        cancelled = await exchange.cancel_order(None, PERPETUAL, params)
        expect(cancelled["status"] == "canceled", f"cancel answered {cancelled['status']}")
        try:
            await exchange.cancel_order(None, PERPETUAL, params)
        except OrderNotFound:
            return None, f"{FUTURES_RESTING_ID} canceled, and not found to cancel again"
        raise CheckFailed("a second cancel of the same order was answered")

    await check("cancel order by client id", cancel_by_client_id)

    async def sell_then_close():
        sold = await exchange.create_order(PERPETUAL, "market", "sell", 0.003)
        check_order(sold, status="closed", filled=0.003)
        positions = await exchange.fetch_positions([PERPETUAL])
        held = [(p["side"], p["contracts"]) for p in positions if p["contracts"]]
        expect(held == [("short", 0.003)], f"positions {held}")
        params = {"reduceOnly": True}
        closed = await exchange.create_order(PERPETUAL, "market", "buy", 0.005, None, params)
        expect(abs(closed["filled"] - 0.003) < 1e-9, f"closing filled {closed['filled']}")
        expect(closed["reduceOnly"] is True, f"reduce-only {closed['reduceOnly']}")
        return None, "sold 0.003, short 0.003, closed by a reduce-only buy of 0.003"

    await check("open and close a position", sell_then_close)

    async def fetch_orders_and_trades():
        orders = await exchange.fetch_orders(PERPETUAL)
        expect(len(orders) == 3, f"orders {[o['id'] for o in orders]}")
        fees = [trade["fee"]["currency"] for trade in await exchange.fetch_my_trades(PERPETUAL)]
        expect(fees == ["USDT", "USDT"], f"trades' fee assets {fees}")
        return None, f"{len(orders)} orders, {len(fees)} trades paying USDT"

    await check("fetch orders and my trades", fetch_orders_and_trades)

    async def fetch_trading_fee():
        taker = (await exchange.fetch_trading_fee(PERPETUAL))["taker"]
        expect(taker == expected["taker_fee"], f"taker fee {taker}")
        return None, f"taker {taker}"

    await check("fetch trading fee", fetch_trading_fee)

    async def fetch_funding_history():
        history = await exchange.fetch_funding_history(PERPETUAL)
        expect(all(entry["code"] == "USDT" for entry in history), f"funding {history}")
        return None, f"{len(history)} funding payments"

    await check("fetch funding history", fetch_funding_history)

    await refuse_bad_signature(wrong_secret, check)


# ------------------------------------------------------------------ main


async def venue_checks(
    report: Report, venue: str, exchange: LoopbackOnly, wrong_secret: LoopbackOnly, sequence
) -> None:
    async def check(name: str, call: Callable[[], Awaitable[tuple[Any, str]]]) -> Needed:
        return await run_check(report, exchange, venue, name, call)

    try:
        await sequence(exchange, wrong_secret, check)
    finally:
        await exchange.close()
        await wrong_secret.close()


async def run_all(urls: dict[str, str], expected: dict[str, Any]) -> Report:
    report = Report()
    spot_key = (os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"])
    futures_key = (os.environ["BINANCE_FUTURES_API_KEY"], os.environ["BINANCE_FUTURES_API_SECRET"])
    spot, futures = urls["binance_rest"], urls["binance_futures_rest"]

    async def spot_checks(exchange, wrong_secret, check):
        await spot_sequence(exchange, wrong_secret, expected["binance"], check)

    async def futures_checks(exchange, wrong_secret, check):
        await futures_sequence(exchange, wrong_secret, expected["binance_futures"], check)

    await asyncio.gather(
        venue_checks(
            report,
            "binance",
            binance(spot, spot_key),
            binance(spot, spot_key, secret="guess"),
            spot_checks,
        ),
        venue_checks(
            report,
            "binance_futures",
            binanceusdm(futures, futures_key),
            binanceusdm(futures, futures_key, secret="guess"),
            futures_checks,
        ),
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", required=True, help="the JSON line basis sim prints")
    parser.add_argument("--expect", required=True, help="what the venues were started with")
    args = parser.parse_args()
    urls = json.loads(args.urls)
    for url in (urls["binance_rest"], urls["binance_futures_rest"]):
        require_loopback(url)
    resolve_nothing_but_loopback()
    report = asyncio.run(run_all(urls, json.loads(args.expect)))
    failed = [r for r in report.results if not r["ok"]]
    print(
        f"{len(report.results) - len(failed)} checks passed, {len(failed)} failed", file=sys.stderr
    )
    return 0 if report.all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
