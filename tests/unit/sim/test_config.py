"""The simulator's configuration: realistic defaults, and mistakes caught at load time."""

from __future__ import annotations

import msgspec
import pytest

from actors.config_files import ConfigError, load_config
from actors.sim import (
    DEFAULT_SYMBOLS,
    FuturesVenueConfig,
    RateLimit,
    ServerConfig,
    SimConfig,
    SimVenues,
    SpotVenueConfig,
)
from actors.sim.config import VENUE_SETTINGS
from actors.system_config import SystemConfig
from protocols.model import Leg, Symbol, VenueRules

from .helpers import T0, coin


def test_the_defaults_are_the_venues_published_fees_and_increments():
    cfg = SimConfig()
    assert (cfg.spot.name, cfg.spot.maker_fee, cfg.spot.taker_fee) == ("mexc", 0.0, 0.0005)
    assert (cfg.futures.name, cfg.futures.maker_fee, cfg.futures.taker_fee) == (
        "gateio",
        0.0002,
        0.0005,
    )
    sizes = {str(s.symbol): s.futures_rules.contract_size for s in cfg.symbols}
    assert sizes == {"BTC/USDT": 0.0001, "ETH/USDT": 0.01, "SOL/USDT": 1.0}
    assert all(s.futures_rules.min_contracts == 1 for s in cfg.symbols)
    intervals = {str(s.symbol): s.funding_interval_s / 3600 for s in cfg.symbols}
    assert intervals == {"BTC/USDT": 8, "ETH/USDT": 4, "SOL/USDT": 1}
    assert cfg.futures.client_id_query_window_s == 60.0
    assert cfg.spot.client_id_query_window_s is None


def test_a_strategy_sized_order_fills_on_the_touch_of_every_default_book():
    # Strategies enter with 100 USDT by default: the touch must hold it on both sides of both books.
    venues = SimVenues(SimConfig(), T0)
    for sc in DEFAULT_SYMBOLS:
        for leg in Leg:
            quote = venues.market.quote(sc.symbol, leg)
            assert quote.ask_qty * quote.ask >= 100.0 and quote.bid_qty * quote.bid >= 100.0
        spot_ask = venues.market.quote(sc.symbol, Leg.SPOT).ask
        assert 100.0 / spot_ask >= sc.spot_rules.min_qty
        assert sc.spot_rules.min_notional <= 100.0


def test_a_config_reads_from_plain_data_and_refuses_unknown_fields():
    data = {
        "seed": 3,
        "symbols": [
            {
                "symbol": {"base": "XRP", "quote": "USDT"},
                "start_price": 0.6,
                "spot_rules": {"qty_step": 0.01, "price_tick": 0.0001},
                "futures_rules": {"contract_size": 10.0, "price_tick": 0.0001, "min_contracts": 1},
            }
        ],
        "spot": {"balances": {"USDT": 500.0}},
    }
    cfg = msgspec.convert(data, SimConfig)
    assert cfg.symbols[0].symbol == Symbol("XRP", "USDT")
    assert cfg.spot.taker_fee == 0.0005 and cfg.futures == FuturesVenueConfig()
    with pytest.raises(msgspec.ValidationError, match="taker_fe"):
        msgspec.convert({"spot": {"taker_fe": 0.001}}, SimConfig)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: coin(start_price=0.0), "start_price"),
        (lambda: coin(spot_rules=VenueRules(price_tick=0.01)), "qty_step"),
        (lambda: coin(futures_rules=VenueRules(price_tick=0.01)), "contract_size"),
        (
            lambda: coin(
                futures_rules=VenueRules(contract_size=1, price_tick=1, min_contracts=1.5)
            ),
            "whole number",
        ),
        (lambda: SimConfig(symbols=()), "at least one"),
        (lambda: SimConfig(symbols=(coin(), coin())), "listed twice"),
        (lambda: SimConfig(symbols=(coin(symbol=Symbol("COIN", "BTC")),)), "USDT"),
        (lambda: SpotVenueConfig(taker_fee=0.05), "fractions"),
        (lambda: SpotVenueConfig(balances={"USDT": -1.0}), ">= 0"),
        (lambda: SpotVenueConfig(client_id_pattern="("), "not a regex"),
        (lambda: FuturesVenueConfig(leverage=0.5), "leverage"),
        (lambda: ServerConfig(gateio_full_book_every=-1), "gateio_full_book_every"),
        (lambda: ServerConfig(gateio_pong_timeout_s=0.0), "gateio_pong_timeout_s"),
        (lambda: SpotVenueConfig(query_lag_s=-1.0), "query_lag_s -1.0"),
        (lambda: FuturesVenueConfig(forget_unfilled_after_s=-5.0), "forget_unfilled_after_s"),
        (lambda: coin(funding_mean=0.05), "funding_mean 0.05 is a fraction of the price"),
        (lambda: coin(funding_stdev=-0.001), "funding_stdev -0.001 is a fraction"),
        (lambda: coin(funding_half_life_s=0.0), "funding_half_life_s must be > 0"),
    ],
)
def test_mistakes_are_refused_with_the_field_named(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_the_servers_defaults_are_the_venues_published_limits_and_made_up_credentials():
    cfg = SimConfig()
    assert (cfg.spot.api_key, cfg.spot.api_secret) == ("sim-key", "sim-secret")
    assert (cfg.futures.api_key, cfg.futures.user_id) == ("sim-key", "10001")
    servers = cfg.servers
    assert servers.tick_s == 0.1 and servers.listen_key_ttl_s == 3600.0
    assert servers.mexc_limits.orders == RateLimit(12, 1.0)
    assert servers.mexc_limits.per_endpoint == RateLimit(500, 10.0)
    assert servers.gateio_limits.place == RateLimit(100, 1.0)
    assert servers.gateio_limits.public_per_endpoint == RateLimit(200, 10.0)
    # Gate.io's server pings every 20 s and cuts a client off after 60 s without a pong.
    assert (servers.gateio_ping_interval_s, servers.gateio_pong_timeout_s) == (20.0, 60.0)


def test_a_sim_table_loads_from_toml_and_its_mistakes_name_file_and_key(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        '[sim]\nseed = 9\n[sim.futures]\nuser_id = "u1"\n'
        "[sim.servers]\ntick_s = 0.05\n[sim.servers.mexc_limits.orders]\n"
        "requests = 5\nper_s = 1.0\n"
    )
    cfg = load_config(good, SystemConfig).sim
    assert (cfg.seed, cfg.futures.user_id, cfg.servers.tick_s) == (9, "u1", 0.05)
    assert cfg.servers.mexc_limits.orders == RateLimit(5, 1.0)
    bad = tmp_path / "bad.toml"
    bad.write_text("[sim.servers]\ntick_s = 0.0\n")
    with pytest.raises(ConfigError, match=r"bad.toml: .*sim.servers.*tick_s 0.0 must be within"):
        load_config(bad, SystemConfig)


def test_a_binance_twin_takes_its_own_table_with_binances_settings_where_it_keeps_defaults(
    tmp_path,
):
    path = tmp_path / "basis.toml"
    path.write_text(
        "symbols = ['BTC/USDT', 'ETH/USDT']\n"
        "[[venues.pairs]]\nsymbols = ['ETH/USDT']\n"
        "spot = { kind = 'binance' }\nfutures = { kind = 'binance_futures' }\n"
        "[sim.spot]\ntaker_fee = 0.0008\n"
        "[sim.binance]\nbalances = { USDT = 500.0 }\napi_key = 'binance-key'\n"
        "[sim.binance_futures]\ntaker_fee = 0.0004\n"
    )
    config = load_config(path, SystemConfig)
    venues = SimVenues(config.simulated(), T0)
    mexc, binance = venues.venue_configs["mexc"], venues.venue_configs["binance"]
    assert mexc.taker_fee == 0.0008  # [sim.spot] is MEXC's
    # Binance's own table: its balance and key, Binance's fees where it sets none (not
    # the 0.0008 [sim.spot] sets for MEXC).
    assert (binance.balances, binance.api_key, binance.taker_fee) == (
        {"USDT": 500.0},
        "binance-key",
        VENUE_SETTINGS["binance"]["taker_fee"],
    )
    assert venues.venue_configs["binance_futures"].taker_fee == 0.0004
    keys = config.simulated_credentials()
    assert (keys["binance"].key, keys["mexc"].key) == ("binance-key", "sim-key")
