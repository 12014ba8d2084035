"""What `basis preflight` tells to do about a refused signed request: each of Gate.io's
authentication labels (all answered with HTTP 401, all read as credential errors) gets
the fix that mends it, not new keys for all; Binance's one code for a key, an IP or a
permission gets a fix naming all three, on each of its venues. Venues it cannot reach
give failing lines, whatever the pair."""

from __future__ import annotations

import socket

import msgspec
import pytest

from actors.cli.preflight import _key_fix, preflight
from actors.system_config import SystemConfig
from protocols import binance_futures_rest, binance_rest, gateio_rest
from protocols.model import Leg, Symbol
from protocols.venue import ApiCredentials, BadCredentials, RestResponse

BTC = Symbol("BTC", "USDT")
CONFIG = msgspec.convert(
    {
        "mode": "live",
        "venues": {
            "futures": {
                "kind": "gateio_futures",
                "api_key_env": "GATE_KEY",
                "api_secret_env": "GATE_SECRET",
            }
        },
    },
    SystemConfig,
)


def refused(label: str) -> BadCredentials:
    body = f'{{"label":"{label}","message":"refused"}}'.encode()
    error = gateio_rest.error_from_response(RestResponse(401, body))
    assert isinstance(error, BadCredentials)
    return error


@pytest.mark.parametrize(
    ("label", "fix"),
    [
        ("IP_FORBIDDEN", "add this machine's IP address to the key's whitelist on Gate.io"),
        ("READ_ONLY", "give the key futures trading permission on Gate.io's API management page"),
        ("FORBIDDEN", "give the key futures trading permission on Gate.io's API management page"),
        ("ACCOUNT_LOCKED", "the Gate.io account is locked: have Gate.io unlock it"),
        (
            "INVALID_KEY",
            "set GATE_KEY and GATE_SECRET to a Gate.io API key and its secret, exactly as the "
            "venue showed them",
        ),
    ],
)
def test_each_authentication_label_gets_its_own_fix(label, fix):
    assert _key_fix(Leg.FUTURES, CONFIG.pair_of(BTC), refused(label)) == fix


BINANCE_CONFIG = msgspec.convert(
    {
        "mode": "live",
        "venues": {
            "spot": {"kind": "binance", "api_key_env": "BN_KEY", "api_secret_env": "BN_SECRET"},
            "futures": {
                "kind": "binance_futures",
                "api_key_env": "BNF_KEY",
                "api_secret_env": "BNF_SECRET",
            },
        },
    },
    SystemConfig,
)
REJECTED_KEY = RestResponse(401, b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions"}')


@pytest.mark.parametrize(
    ("leg", "error", "fix"),
    [
        (
            Leg.SPOT,
            binance_rest.error_from_response(REJECTED_KEY),
            "set BN_KEY and BN_SECRET to a Binance API key and its secret, exactly as the "
            'venue showed them. If they are, enable "Spot & Margin Trading" for the key on '
            "Binance's API Management page, and add this machine's IP address to the key's "
            "whitelist if it has one",
        ),
        (
            Leg.FUTURES,
            binance_futures_rest.error_from_response(REJECTED_KEY),
            "set BNF_KEY and BNF_SECRET to a Binance USDⓈ-M futures API key and its secret, "
            'exactly as the venue showed them. If they are, enable "Futures" for the key on '
            "Binance's API Management page, and add this machine's IP address to the key's "
            "whitelist if it has one",
        ),
    ],
    ids=["spot", "futures"],
)
def test_a_key_binance_rejects_gets_a_fix_for_each_cause(leg, error, fix):
    assert _key_fix(leg, BINANCE_CONFIG.pair_of(BTC), error) == fix


def closed_venue() -> dict[str, str]:
    """A venue's endpoints at a port nothing listens on: every request fails before it
    is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"rest_url": f"http://127.0.0.1:{port}", "ws_url": f"ws://127.0.0.1:{port}/ws"}


@pytest.mark.parametrize("spot", ["mexc", "binance"])
@pytest.mark.parametrize("futures", ["gateio_futures", "binance_futures"])
async def test_venues_that_cannot_be_reached_give_failing_lines_not_a_traceback(spot, futures):
    closed = closed_venue()
    config = msgspec.convert(
        {
            "mode": "live",
            "venues": {
                "spot": {"kind": spot, **closed},
                "futures": {"kind": futures, **closed},
            },
        },
        SystemConfig,
    )
    keys = ApiCredentials("key", "secret")
    report = await preflight(config, {spot: keys, futures: keys})
    assert not report.passed
    assert report.checks and not any(check.ok for check in report.checks)
    assert all(check.fix for check in report.checks)


async def test_each_pair_is_checked_with_its_symbols_and_its_fixes_name_its_tables():
    closed = closed_venue()
    config = msgspec.convert(
        {
            "mode": "live",
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "venues": {
                "spot": {"kind": "mexc", **closed},
                "futures": {"kind": "gateio_futures", **closed},
                "pairs": [
                    {
                        "symbols": ["ETH/USDT"],
                        "spot": {"kind": "binance", **closed},
                        "futures": {"kind": "binance_futures", **closed},
                    }
                ],
            },
        },
        SystemConfig,
    )
    keys = ApiCredentials("key", "secret")
    report = await preflight(config, dict.fromkeys(config.venues_in_use, keys))
    lines = {check.check: check for check in report.checks}
    # Each symbol is looked for at its own pair's venues only.
    assert {name for name in lines if " lists " in name} == {
        "MEXC lists BTC/USDT",
        "Gate.io lists BTC/USDT",
        "Binance lists ETH/USDT",
        "Binance USDⓈ-M futures lists ETH/USDT",
    }
    assert lines["Binance clock"].fix == "check venues.pairs[0].spot.rest_url"
    assert lines["Gate.io clock"].fix == "check venues.futures.rest_url"
