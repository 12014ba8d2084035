"""The simulated Binance USDⓈ-M venue passes for the real one with a client Basis did
not write: ccxt's ``binanceusdm``, pointed at the twin on loopback the way a user points
it at another deployment (its ``fapi`` URLs replaced, nothing else), trades, reads and
is refused through it. ccxt's synchronous client runs in a worker thread while the twin
serves on trio's; every URL it uses is checked to be 127.0.0.1, and names other than
127.0.0.1 do not resolve meanwhile."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import ccxt
import pytest
import trio
from ccxt.base.errors import AuthenticationError, OrderNotFound

from tests.integration.independent_client.loopback_checks import LOOPBACK, require_loopback
from tests.integration.sim.binance_futures_twin import moving, start

SYMBOL = "BTC/USDT:USDT"


class SimBinanceUsdm(ccxt.binanceusdm):
    """``binanceusdm`` that refuses any URL off 127.0.0.1."""

    def fetch(self, url, method="GET", headers=None, body=None):
        require_loopback(url)
        return super().fetch(url, method, headers, body)


def client(rest_url: str, secret: str = "sim-secret") -> SimBinanceUsdm:
    # ccxt's own pacing (by the weights it knows) is switched off: the venue's limits
    # are the twin's to enforce, and its tests check them.
    exchange = SimBinanceUsdm(
        {
            "apiKey": "sim-key",
            "secret": secret,
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


@pytest.fixture
def loopback_only(monkeypatch):
    resolve = socket.getaddrinfo

    def loopback(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (LOOPBACK, LOOPBACK.encode()):
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: only {LOOPBACK} resolves here")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback)


def checks(rest_url: str) -> dict[str, Any]:
    """Every call, in order; what each answered (the test asserts on it)."""
    exchange = client(rest_url)
    seen: dict[str, Any] = {}
    seen["markets"] = exchange.load_markets()
    seen["time"] = exchange.fetch_time()
    seen["asked_at"] = time.time()
    seen["ticker"] = exchange.fetch_ticker(SYMBOL)
    seen["book"] = exchange.fetch_order_book(SYMBOL, 5)
    seen["funding"] = exchange.fetch_funding_rate(SYMBOL)
    seen["balance"] = exchange.fetch_balance()
    seen["leverage"] = exchange.set_leverage(2, SYMBOL)
    seen["margin"] = exchange.set_margin_mode("isolated", SYMBOL)
    seen["mode"] = exchange.fetch_position_mode(SYMBOL)
    below = round(seen["book"]["bids"][0][0] * 0.95, 1)
    params = {"newClientOrderId": "ccxt-rest-1"}
    seen["resting"] = exchange.create_order(SYMBOL, "limit", "buy", 0.002, below, params)
    seen["by_client_id"] = exchange.fetch_order(None, SYMBOL, {"origClientOrderId": "ccxt-rest-1"})
    seen["open"] = exchange.fetch_open_orders(SYMBOL)
    seen["cancelled"] = exchange.cancel_order(None, SYMBOL, {"origClientOrderId": "ccxt-rest-1"})
    try:
        exchange.cancel_order(None, SYMBOL, {"origClientOrderId": "ccxt-rest-1"})
    except OrderNotFound as error:
        seen["cancelled_again"] = error
    seen["sold"] = exchange.create_order(SYMBOL, "market", "sell", 0.003)
    seen["positions"] = exchange.fetch_positions([SYMBOL])
    seen["closed"] = exchange.create_order(
        SYMBOL, "market", "buy", 0.005, None, {"reduceOnly": True}
    )
    seen["orders"] = exchange.fetch_orders(SYMBOL)
    seen["trades"] = exchange.fetch_my_trades(SYMBOL)
    seen["fee"] = exchange.fetch_trading_fee(SYMBOL)
    seen["funding_history"] = exchange.fetch_funding_history(SYMBOL)
    try:
        client(rest_url, secret="guess").fetch_balance()
    except AuthenticationError as error:
        seen["refused"] = error
    return seen


async def test_ccxt_binanceusdm_trades_and_reads_through_the_twin(nursery, loopback_only):
    twin = await start(nursery, moving())
    seen = await trio.to_thread.run_sync(checks, twin.urls.rest)
    market = seen["markets"][SYMBOL]
    rules = twin.venues.futures.rules(twin.venues.market.symbols[0])
    assert market["linear"] and market["swap"] and market["settle"] == "USDT"
    assert market["precision"]["amount"] == rules.contract_size
    assert abs(seen["time"] / 1000 - seen["asked_at"]) < 2.0
    assert seen["ticker"]["last"] > 0
    assert seen["book"]["bids"][0][0] < seen["book"]["asks"][0][0]
    funding = seen["funding"]
    assert funding["fundingRate"] is not None and funding["fundingTimestamp"] > 0
    assert seen["balance"]["USDT"]["free"] == pytest.approx(10_000.0)
    assert not seen["mode"]["hedged"]
    assert seen["resting"]["clientOrderId"] == "ccxt-rest-1"
    assert seen["resting"]["status"] == "open"
    assert seen["by_client_id"]["id"] == seen["resting"]["id"]
    assert [order["clientOrderId"] for order in seen["open"]] == ["ccxt-rest-1"]
    assert seen["cancelled"]["status"] == "canceled"
    assert "cancelled_again" in seen
    assert seen["sold"]["status"] == "closed" and seen["sold"]["filled"] == 0.003
    (position,) = [p for p in seen["positions"] if p["contracts"]]
    assert (position["side"], position["contracts"]) == ("short", 0.003)
    assert seen["closed"]["filled"] == pytest.approx(0.003)
    assert seen["closed"]["reduceOnly"] is True
    assert len(seen["orders"]) == 3
    assert [trade["fee"]["currency"] for trade in seen["trades"]] == ["USDT", "USDT"]
    assert seen["fee"]["taker"] == 0.0005
    assert seen["funding_history"] == []
    assert "refused" in seen
