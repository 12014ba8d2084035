"""What the simulated venues need: symbols with their rules, fees, balances, seed, depth,
and what their wire servers need: credentials, market tick, rate limits.

The defaults are a MEXC-like spot venue and a Gate.io-like USDT perpetual venue trading
BTC, ETH and SOL, with those venues' published fees and increments. Every struct refuses
unknown fields and checks itself, so a config file with a typo fails at load time with
the field named.
"""

from __future__ import annotations

import re

import msgspec

from actors.sim.book import DepthProfile
from actors.sim.price_process import PriceProcessParams
from protocols.model import Symbol, VenueRules

_HOUR_S = 3600.0
_DAY_S = 24.0 * _HOUR_S

FUNDING_MEAN_LIMIT = 0.01
FUNDING_STDEV_LIMIT = 0.01
"""The largest slow premium, and spread of it, a symbol may have: 1 % of the price, far
past any market's, where the venues' 0.3 % cap has long taken over."""


class SymbolConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One coin on both venues. ``spot_rules`` are in base units; ``futures_rules`` carry
    ``contract_size`` (base units per contract) and ``min_contracts``.

    Funding: the perpetual settles every ``funding_interval_s`` (8 h, 4 h and 1 h are what
    Gate.io and Binance list). The slow part of its premium over spot, which the rate
    follows, reverts to ``funding_mean`` (a fraction of the price: 0.0001 makes an 8-hour
    contract's rate 0.01 %, a 1-hour contract's an eighth of it) with a stationary spread
    of ``funding_stdev``, halving its distance to the mean every ``funding_half_life_s``.
    Rates are negative while the averaged premium is below -0.05 % (the interest band):
    for a long run, about ``Φ((-0.0005 - funding_mean) / funding_stdev)`` of the
    settlements, a little more as the fast gap and dislocations add to the spread."""

    symbol: Symbol
    start_price: float
    spot_rules: VenueRules
    futures_rules: VenueRules
    process: PriceProcessParams = PriceProcessParams()
    funding_interval_s: float = 8.0 * _HOUR_S
    funding_mean: float = 0.0001
    funding_stdev: float = 0.0004
    funding_half_life_s: float = 2.0 * _DAY_S

    def __post_init__(self) -> None:
        s, f = self.spot_rules, self.futures_rules
        if self.start_price <= 0.0:
            raise ValueError(f"{self.symbol}: start_price {self.start_price} must be > 0")
        if s.qty_step <= 0.0 or s.price_tick <= 0.0:
            raise ValueError(f"{self.symbol}: spot qty_step and price_tick must be > 0")
        if f.contract_size <= 0.0 or f.price_tick <= 0.0:
            raise ValueError(f"{self.symbol}: futures contract_size and price_tick must be > 0")
        if f.min_contracts < 0.0 or f.min_contracts != int(f.min_contracts):
            raise ValueError(f"{self.symbol}: futures min_contracts must be a whole number >= 0")
        if self.funding_interval_s <= 0.0:
            raise ValueError(f"{self.symbol}: funding_interval_s must be > 0")
        if not -FUNDING_MEAN_LIMIT <= self.funding_mean <= FUNDING_MEAN_LIMIT:
            raise ValueError(
                f"{self.symbol}: funding_mean {self.funding_mean} is a fraction of the price "
                f"(0.0001 = 0.01 %); keep it within -{FUNDING_MEAN_LIMIT}..{FUNDING_MEAN_LIMIT}"
            )
        if not 0.0 <= self.funding_stdev <= FUNDING_STDEV_LIMIT:
            raise ValueError(
                f"{self.symbol}: funding_stdev {self.funding_stdev} is a fraction of the price "
                f"(0.0004 = 0.04 %); keep it within 0..{FUNDING_STDEV_LIMIT} (0: a steady "
                "premium)"
            )
        if self.funding_half_life_s <= 0.0:
            raise ValueError(
                f"{self.symbol}: funding_half_life_s must be > 0 (seconds; 172800 = 2 days)"
            )


def _check_fees(venue: str, maker_fee: float, taker_fee: float) -> None:
    # A maker rebate (negative fee) is real on some venues; above 1% is a typo.
    if not -0.01 <= maker_fee <= 0.01 or not 0.0 <= taker_fee <= 0.01:
        raise ValueError(
            f"{venue}: fees are fractions (0.0005 = 0.05%); got {maker_fee}, {taker_fee}"
        )


def _check_pattern(venue: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{venue}: client_id_pattern {pattern!r} is not a regex: {exc}") from exc


SPOT_FEE_ASSETS = ("quote", "base", "mx")
"""Where the simulated spot venue takes its fees from: ``quote``, the currency of the
market, on buys and sells alike (what MEXC's fee pages document); ``base``, the coin
received (the base coin of a buy, the quote of a sell), as some venues do; ``mx``, the
account's MX at a discount (MEXC's MX deduction), falling back to ``quote`` when the
account's free MX does not cover the fee."""


def _check_lookups(venue: str, lag_s: float, forget_s: float | None) -> None:
    if lag_s < 0.0 or (forget_s is not None and forget_s < 0.0):
        raise ValueError(
            f"{venue}: query_lag_s {lag_s} and forget_unfilled_after_s {forget_s} must be >= 0"
        )


class SpotVenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The spot venue (MEXC): its fees and where it takes them from (``fee_asset``, one
    of :data:`SPOT_FEE_ASSETS`; with ``mx``, the MX price in USDT it values fees at and
    the discount MX deduction earns), the account's starting balances per asset, the
    client order ids it accepts, how long a finished order can be found by its client
    id (``None``: always), how long after accepting an order its queries still say the
    order does not exist (MEXC's read-after-write lag; 0: off), how long after an order
    ended unfilled it is forgotten (``None``: never), and the account's API key and
    secret (made-up ones: the simulator is no real account)."""

    name: str = "mexc"
    maker_fee: float = 0.0
    taker_fee: float = 0.0005
    fee_asset: str = "quote"
    mx_price_usdt: float = 2.0
    mx_discount: float = 0.2
    balances: dict[str, float] = msgspec.field(default_factory=lambda: {"USDT": 10_000.0})
    client_id_pattern: str = r"[A-Za-z0-9_-]{1,32}"
    client_id_query_window_s: float | None = None
    query_lag_s: float = 0.0
    forget_unfilled_after_s: float | None = None
    api_key: str = "sim-key"
    api_secret: str = "sim-secret"

    def __post_init__(self) -> None:
        _check_fees(self.name, self.maker_fee, self.taker_fee)
        _check_pattern(self.name, self.client_id_pattern)
        if self.fee_asset not in SPOT_FEE_ASSETS:
            raise ValueError(
                f"{self.name}: fee_asset {self.fee_asset!r} must be one of "
                f"{', '.join(SPOT_FEE_ASSETS)}"
            )
        if self.mx_price_usdt <= 0.0 or not 0.0 <= self.mx_discount < 1.0:
            raise ValueError(
                f"{self.name}: mx_price_usdt must be > 0 and mx_discount within 0..1, got "
                f"{self.mx_price_usdt}, {self.mx_discount}"
            )
        _check_lookups(self.name, self.query_lag_s, self.forget_unfilled_after_s)
        negative = {asset: v for asset, v in self.balances.items() if v < 0.0}
        if negative:
            raise ValueError(f"{self.name}: starting balances must be >= 0, got {negative}")


class RiskTier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One row of a contract's risk limit table, as Gate.io's ``GET
    /futures/{settle}/risk_limit_tiers`` lists it (its ``tier`` is the row's place,
    from 1): the part of a position's value (at the mark price, USDT) up to
    ``risk_limit`` and above the row before's needs ``maintenance_rate`` of it as
    maintenance margin; ``initial_rate`` and ``leverage_max`` are the tier's opening
    terms."""

    risk_limit: float
    initial_rate: float
    maintenance_rate: float
    leverage_max: float


DEFAULT_RISK_TIERS = (
    RiskTier(1_000_000.0, 0.01, 0.005, 100.0),
    RiskTier(2_000_000.0, 0.02, 0.01, 50.0),
    RiskTier(4_000_000.0, 0.04, 0.02, 25.0),
    RiskTier(8_000_000.0, 0.1, 0.05, 10.0),
    RiskTier(16_000_000.0, 0.2, 0.1, 5.0),
)
"""A major contract's table, shaped as Gate.io publishes them: the maintenance rate is
half the initial rate, which is one over the tier's maximum leverage."""


def _check_risk_tiers(where: str, tiers: tuple[RiskTier, ...]) -> None:
    if not tiers:
        raise ValueError(f"{where}: at least one tier is needed")
    limit, rate = 0.0, 0.0
    for n, tier in enumerate(tiers, start=1):
        if tier.risk_limit <= limit or tier.maintenance_rate < rate:
            raise ValueError(
                f"{where}: tier {n}'s risk_limit and maintenance_rate must not fall below "
                "the tier before's (list the tiers in order)"
            )
        if not 0.0 <= tier.maintenance_rate < tier.initial_rate <= 1.0:
            raise ValueError(
                f"{where}: tier {n} needs 0 <= maintenance_rate < initial_rate <= 1, got "
                f"{tier.maintenance_rate}, {tier.initial_rate}"
            )
        if tier.leverage_max < 1.0:
            raise ValueError(f"{where}: tier {n}'s leverage_max must be >= 1")
        limit, rate = tier.risk_limit, tier.maintenance_rate


class FuturesVenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The USDT perpetual venue (Gate.io): fees, the account's starting USDT, leverage,
    funding (interest rate per 8 hours, cap of a rate), client order ids (``t-`` prefix),
    how long a finished order can be found by its client id (60 s on Gate.io), how long
    after accepting an order its queries still miss it (0: off), how long after an order
    ended with nothing filled it is forgotten, by its id too (10 minutes on Gate.io;
    ``None``: never), and the account's API key, secret and user id (private channels
    name the user; Gate.io's ids are numbers).

    ``leverage`` is every position's until a client sets it; ``max_leverage`` the highest
    a client may set, lower for the contracts ``contract_max_leverage`` names (``"SOL/USDT"
    = 2``: Gate.io's ``leverage_max`` differs per contract). ``risk_tiers`` is every
    contract's risk limit table (Gate.io's ``risk_limit_tiers``), which sets the
    maintenance margin positions are liquidated at, unless ``contract_risk_tiers`` gives
    the contract its own. ``dual_mode``: the account is in dual (hedge) position mode,
    which Basis refuses."""

    name: str = "gateio"
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    balance_usdt: float = 10_000.0
    leverage: float = 1.0
    max_leverage: float = 100.0
    funding_interest_rate: float = 0.0001
    funding_rate_cap: float = 0.003
    client_id_pattern: str = r"t-[0-9A-Za-z_.-]{1,28}"
    client_id_query_window_s: float | None = 60.0
    query_lag_s: float = 0.0
    forget_unfilled_after_s: float | None = 600.0
    api_key: str = "sim-key"
    api_secret: str = "sim-secret"
    user_id: str = "10001"
    contract_max_leverage: dict[str, float] = msgspec.field(default_factory=dict)
    risk_tiers: tuple[RiskTier, ...] = DEFAULT_RISK_TIERS
    contract_risk_tiers: dict[str, tuple[RiskTier, ...]] = msgspec.field(default_factory=dict)
    dual_mode: bool = False

    def __post_init__(self) -> None:
        _check_fees(self.name, self.maker_fee, self.taker_fee)
        _check_pattern(self.name, self.client_id_pattern)
        _check_lookups(self.name, self.query_lag_s, self.forget_unfilled_after_s)
        if self.balance_usdt < 0.0:
            raise ValueError(f"{self.name}: balance_usdt must be >= 0")
        if not 1.0 <= self.leverage <= self.max_leverage:
            raise ValueError(f"{self.name}: leverage must be within 1..max_leverage")
        for name, highest in self.contract_max_leverage.items():
            Symbol.parse(name)
            if not 1.0 <= highest <= self.max_leverage:
                raise ValueError(
                    f"{self.name}: contract_max_leverage {name} = {highest} must be within "
                    "1..max_leverage"
                )
        _check_risk_tiers(f"{self.name}: risk_tiers", self.risk_tiers)
        for name, tiers in self.contract_risk_tiers.items():
            Symbol.parse(name)
            _check_risk_tiers(f"{self.name}: contract_risk_tiers {name}", tiers)
        if self.funding_rate_cap < 0.0:
            raise ValueError(f"{self.name}: funding_rate_cap must be >= 0")

    def risk_tiers_of(self, symbol: Symbol) -> tuple[RiskTier, ...]:
        """The risk limit table of ``symbol``'s contract."""
        return self.contract_risk_tiers.get(str(symbol), self.risk_tiers)

    def max_leverage_of(self, symbol: Symbol) -> float:
        """The highest leverage a client may set on ``symbol``'s contract."""
        return self.contract_max_leverage.get(str(symbol), self.max_leverage)


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At most ``requests`` per ``per_s`` seconds: a token bucket that holds ``requests``
    and refills evenly over ``per_s``."""

    requests: int
    per_s: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_s <= 0.0:
            raise ValueError(f"rate limit {self.requests}/{self.per_s} s: need >= 1 per > 0 s")


class MexcRateLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """MEXC's published limits: each endpoint 500 per 10 s; order placement and cancel
    share about 12 per second on top."""

    per_endpoint: RateLimit = RateLimit(500, 10.0)
    orders: RateLimit = RateLimit(12, 1.0)


class GateioRateLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Gate.io's published limits: placing 100/s, cancelling 200/s, every other private
    endpoint and every public one 200 per 10 s each."""

    place: RateLimit = RateLimit(100, 1.0)
    cancel: RateLimit = RateLimit(200, 1.0)
    private_per_endpoint: RateLimit = RateLimit(200, 10.0)
    public_per_endpoint: RateLimit = RateLimit(200, 10.0)


class ServerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The wire servers: how often the market moves and is pushed (``tick_s``), how long
    a MEXC listen key lives unless extended, how many frames a websocket client may fall
    behind before it is dropped as too slow, and each venue's rate limits.

    Gate.io sends the whole order book (``full: true``) as the first order book update
    after a subscription, and may send it again: here every ``gateio_full_book_every``
    updates of a contract, or never again (0, the default: Gate.io documents no schedule
    for them on ``futures.order_book_update``, whose documented sync is a REST snapshot
    continued by diffs, and clients that follow only that merge a later whole book as a
    diff and keep the levels it left out). Its websocket
    server pings at the protocol level every ``gateio_ping_interval_s`` and drops a
    client whose pong has not come ``gateio_pong_timeout_s`` after a ping."""

    tick_s: float = 0.1
    listen_key_ttl_s: float = 3600.0
    websocket_backlog_frames: int = 1000
    mexc_limits: MexcRateLimits = MexcRateLimits()
    gateio_limits: GateioRateLimits = GateioRateLimits()
    gateio_full_book_every: int = 0
    gateio_ping_interval_s: float = 20.0
    gateio_pong_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0.001 <= self.tick_s <= 60.0:
            raise ValueError(f"servers: tick_s {self.tick_s} must be within 0.001..60 s")
        if self.listen_key_ttl_s <= 0.0 or self.websocket_backlog_frames < 1:
            raise ValueError("servers: listen_key_ttl_s and websocket_backlog_frames must be > 0")
        if self.gateio_full_book_every < 0:
            raise ValueError(
                f"servers: gateio_full_book_every {self.gateio_full_book_every} must be >= 0 "
                "(0 sends the whole book only as the first update after subscribing)"
            )
        if self.gateio_ping_interval_s <= 0.0 or self.gateio_pong_timeout_s <= 0.0:
            raise ValueError(
                "servers: gateio_ping_interval_s and gateio_pong_timeout_s must be > 0"
            )


def _spot(qty_step: float, tick: float) -> VenueRules:
    return VenueRules(qty_step=qty_step, min_qty=qty_step, min_notional=1.0, price_tick=tick)


def _perpetual(contract_size: float, tick: float) -> VenueRules:
    return VenueRules(
        qty_step=contract_size, price_tick=tick, contract_size=contract_size, min_contracts=1
    )


DEFAULT_SYMBOLS = (
    SymbolConfig(
        Symbol("BTC", "USDT"),
        65_000.0,
        _spot(0.000001, 0.01),
        _perpetual(0.0001, 0.1),
        PriceProcessParams(volatility_annual=0.5),
        funding_interval_s=8.0 * _HOUR_S,
        funding_mean=0.0001,
        funding_stdev=0.0004,
    ),
    SymbolConfig(
        Symbol("ETH", "USDT"),
        3_200.0,
        _spot(0.00001, 0.01),
        _perpetual(0.01, 0.01),
        PriceProcessParams(volatility_annual=0.65),
        funding_interval_s=4.0 * _HOUR_S,
        funding_mean=0.0001,
        funding_stdev=0.0005,
    ),
    SymbolConfig(
        Symbol("SOL", "USDT"),
        150.0,
        _spot(0.001, 0.01),
        _perpetual(1.0, 0.01),
        PriceProcessParams(volatility_annual=0.9),
        funding_interval_s=1.0 * _HOUR_S,
        funding_mean=0.0001,
        funding_stdev=0.0006,
        funding_half_life_s=1.5 * _DAY_S,
    ),
)
"""BTC settles every 8 hours, ETH every 4, SOL every hour, so that the three intervals
the venues list are all simulated; the more volatile the coin, the wider its premium
swings and the more often its funding turns negative."""


SPOT_VENUES = ("mexc", "binance")
FUTURES_VENUES = ("gateio", "binance_futures")
"""The venues the simulation can be, by the names their exchanges go by."""

DEFAULT_PAIR = ("mexc", "gateio")

VENUE_SETTINGS: dict[str, dict[str, object]] = {
    "binance": {
        "maker_fee": 0.001,
        "taker_fee": 0.001,
        "fee_asset": "base",
        "client_id_pattern": r"[a-zA-Z0-9_-]{1,36}",
    },
    "binance_futures": {
        "maker_fee": 0.0002,
        "taker_fee": 0.0005,
        "client_id_pattern": r"[.A-Z:/a-z0-9_-]{1,36}",
        "client_id_query_window_s": None,
        "forget_unfilled_after_s": 3 * 86400.0,
    },
}
"""What sets a venue apart from ``[sim.spot]`` (MEXC's) or ``[sim.futures]`` (Gate.io's)
settings, where those keep their defaults (a setting the config makes holds for every
venue of the leg); it takes the rest of them: its fees (Binance spot: 0.1 %, in the asset
received, as when no BNB pays them), its rule for client order ids, how long it finds an
order by client id, and when it forgets an unfilled one (Binance USDⓈ-M: a client id any
time, an order cancelled or expired unfilled for three days)."""


class SimConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything the simulated venues need. The same ``seed`` and the same calls give
    the same prices, books, fills and ledgers.

    ``pairs``: the spot and futures venue of a symbol (``{"SOL/USDT" = ["binance",
    "binance_futures"]}``), each venue with ``spot``'s or ``futures``' settings; a
    symbol not named trades at MEXC and Gate.io."""

    seed: int = 1
    symbols: tuple[SymbolConfig, ...] = DEFAULT_SYMBOLS
    spot: SpotVenueConfig = msgspec.field(default_factory=SpotVenueConfig)
    futures: FuturesVenueConfig = msgspec.field(default_factory=FuturesVenueConfig)
    depth: DepthProfile = DepthProfile()
    servers: ServerConfig = ServerConfig()
    pairs: dict[str, tuple[str, str]] = msgspec.field(default_factory=dict)
    binance: SpotVenueConfig | None = None
    """The Binance spot twin's own settings, in place of ``spot``'s (Binance's own still
    where this table keeps the defaults: ``VENUE_SETTINGS``)."""
    binance_futures: FuturesVenueConfig | None = None
    """The Binance USDⓈ-M twin's own settings, in place of ``futures``'."""

    def pair(self, symbol: Symbol) -> tuple[str, str]:
        """The spot and futures venue ``symbol`` trades at."""
        return self.pairs.get(str(symbol), DEFAULT_PAIR)

    def venue_table(self, name: str) -> SpotVenueConfig | FuturesVenueConfig:
        """The settings venue ``name`` starts from: its own table where it has one and
        the config sets it, its leg's (``spot`` or ``futures``) otherwise."""
        own = {"binance": self.binance, "binance_futures": self.binance_futures}.get(name)
        if own is not None:
            return own
        return self.spot if name in SPOT_VENUES else self.futures

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("sim config: at least one symbol is needed")
        names = [str(s.symbol) for s in self.symbols]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"sim config: symbols listed twice: {', '.join(duplicates)}")
        quotes = {s.symbol.quote for s in self.symbols}
        if quotes != {"USDT"}:
            raise ValueError(f"sim config: the venues settle in USDT; quote assets {quotes}")
        for name, (spot, futures) in self.pairs.items():
            if Symbol.parse(name) not in {s.symbol for s in self.symbols}:
                raise ValueError(f"sim config: pairs names {name}, which is not simulated")
            if spot not in SPOT_VENUES or futures not in FUTURES_VENUES:
                raise ValueError(
                    f"sim config: pairs: {name} = [{spot!r}, {futures!r}]: the spot venue is "
                    f"one of {', '.join(SPOT_VENUES)}, the futures one of "
                    f"{', '.join(FUTURES_VENUES)}"
                )


OTHER_START_PRICE = 100.0
"""Where a symbol without a default configuration starts."""


def symbol_config(symbol: Symbol, dislocations_per_hour: float | None = None) -> SymbolConfig:
    """The default configuration of ``symbol`` (BTC, ETH and SOL are the real venues'),
    or a generic coin at 100 USDT; ``dislocations_per_hour`` overrides how often its
    perpetual jumps away from spot."""
    config = next((c for c in DEFAULT_SYMBOLS if c.symbol == symbol), None)
    if config is None:
        config = SymbolConfig(
            symbol,
            OTHER_START_PRICE,
            _spot(0.001, 0.001),
            _perpetual(0.1, 0.001),
        )
    if dislocations_per_hour is not None:
        config = with_dislocations(config, dislocations_per_hour)
    return config


def with_dislocations(config: SymbolConfig, per_hour: float) -> SymbolConfig:
    """``config`` with its perpetual jumping away from spot ``per_hour`` times an hour."""
    process = msgspec.structs.replace(config.process, dislocations_per_hour=per_hour)
    return msgspec.structs.replace(config, process=process)
