"""Candles, public trades, fee rates and the average price, as both simulated venues
serve them over loopback: each reply in the fields and order the venue's documentation
gives, built from the prices the venue showed and the account's own trades."""

from __future__ import annotations

import math

import msgspec
import trio

from protocols import gateio_rest, mexc, mexc_rest
from protocols._wire import decimal
from protocols.gateio_rest import FUTURES
from protocols.model import OrderType, Side
from protocols.venue import InvalidParameter

from .support import COIN, CREDENTIALS, TICK_S, WAIT_S, now

MEXC_COIN = mexc.venue_symbol(COIN)
GATE_COIN = "COIN_USDT"
STILL_PRICE = 100.0
"""The still coin's mid on both venues (its prices never move)."""


def ms(ts: float) -> int:
    return round(ts * 1000)


async def mexc_get(rest, endpoint, params, status=200):
    response = await rest.send(mexc_rest.public_request("GET", endpoint, params))
    assert response.status == status, response.body
    return msgspec.json.decode(response.body)


async def gate_get(rest, endpoint, query, status=200, signed=False):
    if signed:
        request = gateio_rest.signed_request(
            "GET", f"{FUTURES}/{endpoint}", query, b"", CREDENTIALS, int(now())
        )
    else:
        request = gateio_rest.public_request("GET", f"{FUTURES}/{endpoint}", query)
    response = await rest.send(request)
    assert response.status == status, response.body
    return msgspec.json.decode(response.body)


async def a_minute_was_seen(sim) -> None:
    with trio.fail_after(WAIT_S):
        while not list(sim.mexc.candles.minutes(COIN)):  # noqa: ASYNC110
            await trio.sleep(TICK_S)


# ------------------------------------------------------------------------ MEXC


async def test_mexc_klines_are_arrays_of_the_documented_eight_fields(still_sim, mexc_client):
    await a_minute_was_seen(still_sim)
    minute = await mexc_get(mexc_client, "klines", [("symbol", MEXC_COIN), ("interval", "1m")])
    month = await mexc_get(mexc_client, "klines", [("symbol", MEXC_COIN), ("interval", "1M")])
    opened, open_, high, low, close, volume, closes, quote_volume = minute[-1]
    assert opened % 60_000 == 0 and closes == opened + 60_000
    assert [float(p) for p in (open_, high, low, close)] == [STILL_PRICE] * 4
    assert (volume, quote_volume) == ("0", "0")
    # A month's candle opens on the first of the month and closes on the next first.
    month_opened, month_closes = month[-1][0], month[-1][6]
    assert month_closes - month_opened in {ms(days * 86400) for days in (28, 29, 30, 31)}


async def test_mexc_klines_refuse_an_undocumented_interval(mexc_client):
    response = await mexc_client.send(
        mexc_rest.public_request("GET", "klines", [("symbol", MEXC_COIN), ("interval", "1h")])
    )
    error = mexc_rest.error_from_response(response)
    assert (response.status, type(error)) == (400, InvalidParameter)
    assert "60m" in error.message


async def test_mexc_klines_count_the_accounts_trades_as_volume(still_sim, mexc_client):
    await a_minute_was_seen(still_sim)
    still_sim.venues.spot.place_order(COIN, Side.BUY, OrderType.MARKET, 0.5, now=now())
    klines = await mexc_get(mexc_client, "klines", [("symbol", MEXC_COIN), ("interval", "1m")])
    fill = still_sim.venues.spot.ledger.fills(COIN)[-1]
    volume = math.fsum(float(k[5]) for k in klines)
    quote_volume = math.fsum(float(k[7]) for k in klines)
    assert volume == 0.5
    assert quote_volume == 0.5 * fill.price


async def test_mexc_trades_list_the_crowds_prints_and_the_accounts_fills(still_sim, mexc_client):
    await a_minute_was_seen(still_sim)
    still_sim.venues.spot.place_order(COIN, Side.SELL, OrderType.MARKET, 0.25, now=now())
    fill = still_sim.venues.spot.ledger.fills(COIN)[-1]
    trades = await mexc_get(mexc_client, "trades", [("symbol", MEXC_COIN)])
    aggregated = await mexc_get(mexc_client, "aggTrades", [("symbol", MEXC_COIN)])
    fields = {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
    assert all(set(trade) == fields and trade["id"] is None for trade in trades)
    assert [trade["time"] for trade in trades] == sorted(trade["time"] for trade in trades)
    own = [trade for trade in trades if trade["qty"] == "0.25"]
    # The account sold as taker: the buyer was the maker.
    assert own == [
        {
            "id": None,
            "price": decimal(fill.price),
            "qty": "0.25",
            "quoteQty": decimal(0.25 * fill.price),
            "time": ms(fill.ts),
            "isBuyerMaker": True,
            "isBestMatch": True,
        }
    ]
    crowd = [trade for trade in trades if trade["qty"] != "0.25"]
    assert crowd and all(float(t["price"]) == STILL_PRICE for t in crowd)
    assert all(t["qty"] == "0.01" for t in crowd)  # the pair's smallest lot
    assert [(a["p"], a["q"], a["T"], a["m"]) for a in aggregated] == [
        (t["price"], t["qty"], t["time"], t["isBuyerMaker"]) for t in trades
    ]


async def test_mexc_agg_trades_take_start_and_end_together(mexc_client):
    response = await mexc_client.send(
        mexc_rest.public_request("GET", "aggTrades", [("symbol", MEXC_COIN), ("startTime", 1)])
    )
    assert response.status == 400
    assert type(mexc_rest.error_from_response(response)) is InvalidParameter


async def test_mexc_average_price_fees_and_api_pairs(still_sim, mexc_client):
    await a_minute_was_seen(still_sim)
    average = await mexc_get(mexc_client, "avgPrice", [("symbol", MEXC_COIN)])
    pairs = await mexc_get(mexc_client, "defaultSymbols", [])
    request = mexc_rest.signed_request(
        "GET", "tradeFee", [("symbol", MEXC_COIN)], CREDENTIALS, ms(now())
    )
    response = await mexc_client.send(request)
    assert average == {"mins": 5, "price": "100"}
    assert pairs == {"code": 200, "data": [MEXC_COIN], "msg": None}
    fee = msgspec.json.decode(response.body)
    assert fee["data"] == {"makerCommission": 0.0002, "takerCommission": 0.0005}
    assert (fee["code"], fee["msg"]) == (0, "success")
    assert abs(fee["timestamp"] - ms(now())) < 5000


# ------------------------------------------------------------------------ Gate.io


async def test_gate_candlesticks_carry_the_documented_fields(still_sim, gateio_client):
    await a_minute_was_seen(still_sim)
    still_sim.venues.futures.place_order(COIN, Side.BUY, OrderType.MARKET, 3, now=now())
    fill = still_sim.venues.futures.ledger.fills(COIN)[-1]
    candles = await gate_get(gateio_client, "candlesticks", f"contract={GATE_COIN}&interval=1m")
    default = await gate_get(gateio_client, "candlesticks", f"contract={GATE_COIN}")
    assert candles and all(set(c) == {"t", "v", "c", "h", "l", "o", "sum"} for c in candles)
    assert all(c["t"] % 60 == 0 for c in candles)
    assert sum(c["v"] for c in candles) == 3  # contracts
    assert math.fsum(float(c["sum"]) for c in candles) == fill.qty * fill.price
    # Without an interval, 5 minutes: the minute candles fold into one.
    assert default[-1]["t"] % 300 == 0 and default[-1]["v"] == 3


async def test_gate_candlesticks_refuse_limit_with_a_time_range(gateio_client):
    response = await gateio_client.send(
        gateio_rest.public_request(
            "GET", f"{FUTURES}/candlesticks", f"contract={GATE_COIN}&limit=5&from=1"
        )
    )
    assert response.status == 400
    assert msgspec.json.decode(response.body)["label"] == "INVALID_PARAM_VALUE"


async def test_gate_trades_are_newest_first_with_signed_contracts(still_sim, gateio_client):
    await a_minute_was_seen(still_sim)
    still_sim.venues.futures.place_order(COIN, Side.SELL, OrderType.MARKET, 2, now=now())
    fill = still_sim.venues.futures.ledger.fills(COIN)[-1]
    trades = await gate_get(gateio_client, "trades", f"contract={GATE_COIN}")
    fields = {"id", "create_time", "create_time_ms", "contract", "size", "price", "is_internal"}
    assert all(set(trade) == fields for trade in trades)
    times = [trade["create_time_ms"] for trade in trades]
    assert times == sorted(times, reverse=True)
    # The crowd's print for the current minute carries the time the price was last
    # shown, which may follow the account's fill: the fill is found by its id.
    ours = [trade for trade in trades if trade["id"] == int(fill.trade_id)]
    crowd = [trade for trade in trades if trade["id"] != int(fill.trade_id)]
    assert [(t["size"], t["contract"]) for t in ours] == [(-2, GATE_COIN)]
    assert crowd and all(abs(t["size"]) == 1 for t in crowd)


async def test_gate_fee_rates_per_contract_and_for_the_account(still_sim, gateio_client):
    fees = await gate_get(gateio_client, "fee", "", signed=True)
    one = await gate_get(gateio_client, "fee", f"contract={GATE_COIN}", signed=True)
    request = gateio_rest.signed_request("GET", "/wallet/fee", "", b"", CREDENTIALS, int(now()))
    wallet = msgspec.json.decode((await gateio_client.send(request)).body)
    futures = still_sim.venues.futures
    expected = {"taker_fee": decimal(futures.taker_fee), "maker_fee": decimal(futures.maker_fee)}
    assert fees == one == {GATE_COIN: expected}
    assert float(wallet["futures_taker_fee"]) == futures.taker_fee
    assert float(wallet["futures_maker_fee"]) == futures.maker_fee
    assert wallet["gt_discount"] is False
