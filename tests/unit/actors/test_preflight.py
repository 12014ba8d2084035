"""What `basis preflight` tells to do about a refused signed request: each of Gate.io's
authentication labels (all answered with HTTP 401, all read as credential errors) gets
the fix that mends it, not new keys for all."""

from __future__ import annotations

import socket

import msgspec
import pytest

from actors.cli.preflight import _key_fix, preflight
from actors.system_config import SystemConfig
from protocols import gateio_rest
from protocols.model import Leg
from protocols.venue import ApiCredentials, BadCredentials, RestResponse

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
    assert _key_fix(Leg.FUTURES, CONFIG, refused(label)) == fix


async def test_venues_that_cannot_be_reached_give_failing_lines_not_a_traceback():
    # A port nothing listens on: every request fails before it is sent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = {"rest_url": f"http://127.0.0.1:{port}", "ws_url": f"ws://127.0.0.1:{port}/ws"}
    config = msgspec.convert(
        {
            "mode": "live",
            "venues": {
                "spot": {"kind": "mexc", **closed},
                "futures": {"kind": "gateio_futures", **closed},
            },
        },
        SystemConfig,
    )
    keys = ApiCredentials("key", "secret")
    report = await preflight(config, keys, keys)
    assert not report.passed
    assert report.checks and not any(check.ok for check in report.checks)
    assert all(check.fix for check in report.checks)
