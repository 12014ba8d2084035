"""The Binance USDⓈ-M adapters' own logic, without a venue: how long the router holds off
by the usage headers, what the private codec makes of its stream's first answer, and the
settings it takes for the way Basis trades."""

from __future__ import annotations

import typing

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.runtime.ops import statistics
from actors.venues.binance_futures import (
    BinanceFuturesFeedCodec,
    BinanceFuturesPrivateCodec,
    BinanceFuturesRouterCodec,
    held_otherwise,
)
from protocols import binance_futures, binance_futures_encode, binance_futures_rest
from protocols.model import Symbol
from protocols.venue import ApiCredentials, FundingRate, Pong, RestResponse, SubscriptionResult

BTC = Symbol("BTC", "USDT")
CREDENTIALS = ApiCredentials("key", "secret")
ROUTER = BinanceFuturesRouterCodec(CREDENTIALS)


def reply(weight=None, orders_10s=None, orders_1m=None) -> RestResponse:
    headers = []
    if weight is not None:
        headers.append(("x-mbx-used-weight-1m", str(weight)))
    if orders_10s is not None:
        headers.append(("X-MBX-ORDER-COUNT-10S", str(orders_10s)))
    if orders_1m is not None:
        headers.append(("X-MBX-ORDER-COUNT-1M", str(orders_1m)))
    return RestResponse(200, b"{}", tuple(headers))


def test_no_pause_while_the_windows_have_room():
    assert ROUTER.pause_s(reply(), 1_700_000_000.0) == 0.0
    assert ROUTER.pause_s(reply(weight=100, orders_10s=10, orders_1m=50), 1_700_000_000.0) == 0.0


def test_a_minute_nearly_used_up_waits_for_the_next_minute():
    now = 1_700_000_020.0  # 40 s into the minute
    assert ROUTER.pause_s(reply(weight=2200), now) == pytest.approx(20.0)
    assert ROUTER.pause_s(reply(orders_1m=1100), now) == pytest.approx(20.0)


def test_ten_seconds_of_orders_nearly_used_up_wait_for_the_next_ten():
    assert ROUTER.pause_s(reply(orders_10s=290), 1_700_000_003.0) == pytest.approx(7.0)


@given(weight=st.integers(min_value=0, max_value=5000), now=st.floats(0, 2e9))
def test_a_pause_never_outlasts_the_window(weight, now):
    pause = ROUTER.pause_s(reply(weight=weight), now)
    assert 0.0 <= pause <= 60.0
    assert (pause > 0.0) == (weight >= 0.9 * 2400)


def test_the_private_stream_is_confirmed_by_its_first_answer_only():
    codec = BinanceFuturesPrivateCodec(CREDENTIALS)
    answer = '{"result":[],"id":1}'
    assert codec.decode(answer, 0.0) == (SubscriptionResult(True, "user data stream", ""),)
    assert codec.decode(answer, 0.0) == (Pong(),)


def test_the_feed_keeps_the_funding_its_pushes_bring():
    codec = BinanceFuturesFeedCodec(rest=None)  # type: ignore[arg-type]
    codec.funding_intervals = {BTC: 4 * 3600.0}
    frame = binance_futures_encode.mark_price_push(BTC, 100.0, 100.0, 0.0002, 3600.0, 0.0)
    (funding,) = codec.decode(frame, 0.0)
    assert funding == FundingRate(BTC, 0.0002, 4 * 3600.0, 3600.0)
    assert codec.funding_rates(7200.0) == [
        FundingRate(BTC, 0.0002, 4 * 3600.0, 3600.0 + 4 * 3600.0)
    ]


def test_the_feed_subscribes_in_requests_of_at_most_200_streams():
    codec = BinanceFuturesFeedCodec(rest=None)  # type: ignore[arg-type]
    symbols = [Symbol(f"C{n}", "USDT") for n in range(150)]
    requests = codec.subscriptions(symbols, depth=False, now=0.0)
    assert len(requests) == 2
    assert binance_futures.mark_price_stream(symbols[-1]) in requests[-1]


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ((3.0, 0.0, "single"), None),
        ((0.0, 3.0, "single"), "cross margin"),
        ((5.0, 0.0, "single"), "leverage 5"),
        ((3.0, 0.0, "dual_short"), "dual_short mode"),
    ],
)
def test_a_position_held_otherwise_than_basis_trades_is_named(settings, refused):
    leverage, cross_leverage, mode = settings
    position = binance_futures_rest.PositionSettings(BTC, 0.0, leverage, cross_leverage, mode, 0.0)
    found = held_otherwise(position, 3.0, "ISOLATED")
    assert (found is None) if refused is None else (refused in found)


def test_position_settings_read_back_as_the_statistics_read_every_venues():
    settings = binance_futures_rest.PositionSettings(BTC, -0.3, 3.0, 0.0, "single", 149.5)
    # The system's statistics carry each futures venue's settings as one type.
    kept = typing.get_type_hints(statistics.SystemStatistics)["futures_positions"]
    read = msgspec.json.decode(msgspec.json.encode({"BTC/USDT": settings}), type=kept)["BTC/USDT"]
    assert (read.leverage, read.liq_price, read.margin_mode) == (3.0, 149.5, "isolated")
