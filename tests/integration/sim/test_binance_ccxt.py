"""The simulated Binance spot venue passes for the real one with a client Basis did not
write: ccxt's ``binance`` class, used as a black box, loads the markets, reads the book
and the balance, places, queries, lists and cancels an order by its client id, and is
refused for a bad signature.

ccxt is pointed at the twin as a user points it at another deployment of Binance: its
spot API URLs replaced, its markets those of spot (ccxt would also load USDⓈ-M and
COIN-M futures from their own APIs), no currency list (a wallet endpoint, no trading
call). Nothing leaves 127.0.0.1: every URL ccxt asks for is checked first. ccxt's
synchronous client runs in a worker thread while the twin serves on trio's loop."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import ccxt
import pytest
import trio

from protocols.model import Leg
from tests.integration.binance_twin import binance_config, start
from tests.unit.sim import helpers

from .support import CREDENTIALS

LOOPBACK = "127.0.0.1"


class LoopbackBinance(ccxt.binance):
    """ccxt's Binance, refusing any host but 127.0.0.1."""

    def fetch(self, url, method="GET", headers=None, body=None):
        if urlsplit(url).hostname != LOOPBACK:
            raise PermissionError(f"refused to reach {url}: this check talks to {LOOPBACK} only")
        return super().fetch(url, method, headers, body)


def client(rest_url: str, secret: str = CREDENTIALS.secret) -> LoopbackBinance:
    exchange = LoopbackBinance(
        {
            "apiKey": CREDENTIALS.key,
            "secret": secret,
            "has": {"fetchCurrencies": False},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False},
        }
    )
    api = exchange.urls["api"]
    for access in ("public", "private"):
        api[access] = f"{rest_url}/api/v3"
    return exchange


def trade_through_ccxt(rest_url: str) -> dict:
    """What ccxt made of the twin, check by check."""
    exchange = client(rest_url)
    seen: dict = {}
    markets = exchange.load_markets()
    market = markets["COIN/USDT"]
    seen["market"] = (market["spot"], market["precision"], market["limits"]["cost"]["min"])
    book = exchange.fetch_order_book("COIN/USDT", limit=5)
    seen["book"] = (book["bids"][0][0], book["asks"][0][0], len(book["bids"]))
    seen["usdt"] = exchange.fetch_balance()["USDT"]["free"]
    client_id = f"ccxt-{secrets.token_hex(3)}"
    price = round(book["bids"][0][0] * 0.95, 2)
    placed = exchange.create_order(
        "COIN/USDT", "limit", "buy", 1.0, price, {"newClientOrderId": client_id}
    )
    seen["placed"] = (placed["clientOrderId"] == client_id, placed["status"], placed["price"])
    seen["price"] = price
    found = exchange.fetch_order(placed["id"], "COIN/USDT")
    seen["found"] = (found["id"], found["status"], found["amount"])
    by_client_id = exchange.fetch_order(None, "COIN/USDT", {"origClientOrderId": client_id})
    seen["by_client_id"] = by_client_id["id"] == placed["id"]
    seen["open"] = [order["id"] for order in exchange.fetch_open_orders("COIN/USDT")]
    cancelled = exchange.cancel_order(placed["id"], "COIN/USDT")
    seen["cancelled"] = cancelled["status"]
    seen["closed"] = exchange.fetch_order(placed["id"], "COIN/USDT")["status"]
    bought = exchange.create_order("COIN/USDT", "market", "buy", 0.5)
    seen["bought"] = (bought["status"], bought["filled"])
    seen["trades"] = [t["order"] for t in exchange.fetch_my_trades("COIN/USDT")]
    try:
        client(rest_url, secret="guess").fetch_balance()
    except ccxt.AuthenticationError as error:
        seen["bad_signature"] = type(error).__name__
    return seen


async def test_ccxt_loads_trades_and_cancels_against_the_twin(nursery):
    twin = await start(nursery, binance_config(helpers.config()))
    with trio.fail_after(30):
        seen = await trio.to_thread.run_sync(trade_through_ccxt, twin.rest_url)
    quote = twin.venues.market.quote(helpers.COIN, Leg.SPOT)
    rules = helpers.SPOT_RULES
    amount_step, price_tick = seen["market"][1]["amount"], seen["market"][1]["price"]
    assert seen["market"][0] and (amount_step, price_tick) == (rules.qty_step, rules.price_tick)
    assert seen["market"][2] == rules.min_notional
    assert seen["book"] == (quote.bid, quote.ask, 5)
    assert seen["usdt"] == pytest.approx(100_000.0)
    assert seen["placed"] == (True, "open", seen["price"])
    assert seen["found"][1:] == ("open", 1.0)
    assert seen["by_client_id"]
    assert seen["open"] == [seen["found"][0]]
    assert (seen["cancelled"], seen["closed"]) == ("canceled", "canceled")
    assert seen["bought"] == ("closed", 0.5)
    assert len(seen["trades"]) == 1 and seen["trades"][0] != seen["found"][0]
    assert seen["bad_signature"] == "AuthenticationError"
