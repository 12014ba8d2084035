"""Venue configs: real endpoints by default, keys only from named environment variables."""

from __future__ import annotations

import msgspec
import pytest

from actors.runtime.venue_config import VenueConfig
from protocols.venue import ApiCredentials


def test_endpoints_default_to_the_real_venues_and_can_point_at_loopback():
    mexc = VenueConfig("mexc")
    assert (mexc.rest, mexc.ws) == ("https://api.mexc.com", "wss://wbs-api.mexc.com/ws")
    gate = VenueConfig("gateio_futures", rest_url="http://127.0.0.1:9001/")
    assert gate.rest == "http://127.0.0.1:9001"
    assert gate.ws == "wss://fx-ws.gateio.ws/v4/ws/usdt"


def test_credentials_come_from_the_named_variables_and_never_print():
    venue = VenueConfig("mexc", api_key_env="MEXC_KEY", api_secret_env="MEXC_SECRET")
    assert venue.missing_credentials({}) == ["MEXC_KEY", "MEXC_SECRET"]
    assert venue.missing_credentials({"MEXC_KEY": "k", "MEXC_SECRET": ""}) == ["MEXC_SECRET"]
    credentials = venue.credentials({"MEXC_KEY": "k", "MEXC_SECRET": "s3cret"})
    assert credentials == ApiCredentials("k", "s3cret")
    assert "s3cret" not in repr(credentials)
    assert VenueConfig("mexc").missing_credentials({}) == [
        "<api_key_env and api_secret_env for a mexc venue>"
    ]


def test_an_unknown_kind_is_refused():
    with pytest.raises(msgspec.ValidationError, match="kind"):
        msgspec.convert({"kind": "kraken"}, VenueConfig)


@pytest.mark.parametrize("written", [123456, "123456"])
def test_a_gateio_user_id_may_be_written_as_the_number_the_venue_shows(written):
    venue = msgspec.convert({"kind": "gateio_futures", "user_id": written}, VenueConfig)
    assert venue.user_id == "123456"
