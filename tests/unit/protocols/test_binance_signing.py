"""Binance's request signing, one signer for its spot and its USDⓈ-M futures APIs,
checked against each API documentation's own example, and the usage headers of its
replies."""

from __future__ import annotations

import pytest

from protocols import binance_futures_rest, binance_signing
from protocols.venue import ApiCredentials, RestResponse

DOCUMENTED = ApiCredentials(
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
)
DOCUMENTED_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOCUMENTED_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_the_documented_query_signs_to_the_documented_signature():
    assert binance_signing.sign(DOCUMENTED.secret, DOCUMENTED_QUERY) == DOCUMENTED_SIGNATURE


def test_a_signed_query_is_the_documented_one_with_its_signature_last():
    params = [
        ("symbol", "LTCBTC"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", 1),
        ("price", 0.1),
        ("newClientOrderId", None),
    ]
    query, headers = binance_signing.signed_query(params, DOCUMENTED, 1499827319559)
    assert query == f"{DOCUMENTED_QUERY}&signature={DOCUMENTED_SIGNATURE}"
    assert headers == (("X-MBX-APIKEY", DOCUMENTED.key),)


def test_floats_go_out_as_plain_decimals():
    assert binance_signing.query([("quantity", 0.00001), ("price", 65000.0)]) == (
        "quantity=0.00001&price=65000"
    )


@pytest.mark.parametrize("window_ms", [0, -1, 60001])
def test_a_receive_window_binance_refuses_is_refused_here(window_ms):
    with pytest.raises(ValueError, match="recvWindow"):
        binance_signing.signed_query([], DOCUMENTED, 1, recv_window_ms=window_ms)


def test_usage_headers_are_read_by_interval_whatever_their_case():
    response = RestResponse(
        200,
        b"{}",
        (
            ("x-mbx-used-weight-1m", "37"),
            ("X-MBX-USED-WEIGHT", "37"),
            ("X-MBX-ORDER-COUNT-10S", "3"),
            ("X-MBX-ORDER-COUNT-1D", "120"),
            ("X-MBX-ORDER-COUNT-1M", "not a number"),
            ("Content-Type", "application/json"),
        ),
    )
    assert binance_signing.counters(response, binance_signing.USED_WEIGHT_HEADER) == {"1M": 37}
    assert binance_signing.counters(response, binance_signing.ORDER_COUNT_HEADER) == {
        "10S": 3,
        "1D": 120,
    }


@pytest.mark.parametrize(
    ("headers", "expected"),
    [((("Retry-After", "12"),), 12.0), ((), None), ((("Retry-After", "soon"),), None)],
)
def test_retry_after_is_read_in_seconds(headers, expected):
    assert binance_signing.retry_after_s(RestResponse(429, b"", headers)) == expected


FUTURES_DOCUMENTED = ApiCredentials(
    "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83",
    "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
)
FUTURES_DOCUMENTED_QUERY = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
FUTURES_DOCUMENTED_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_the_futures_documentations_signed_order_is_signed_as_documented():
    params = [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("quantity", 1),
        ("price", 9000),
        ("timeInForce", "GTC"),
    ]
    request = binance_futures_rest.signed_request(
        "POST", "/v1/order", params, FUTURES_DOCUMENTED, 1591702613943
    )
    assert request.path == "/fapi/v1/order"
    assert request.query == f"{FUTURES_DOCUMENTED_QUERY}&signature={FUTURES_DOCUMENTED_SIGNATURE}"
    assert request.headers == (("X-MBX-APIKEY", FUTURES_DOCUMENTED.key),)
