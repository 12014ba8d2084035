"""The trading system's configuration file (``basis run CONFIG``, ``basis record``).

Tables: top-level ``mode`` and ``symbols``; ``[venues.spot]`` and ``[venues.futures]``
(kind, endpoints, the names of the environment variables holding keys);
``[strategy]`` (SPEC §1's parameters); ``[sim]`` (the simulated venues, used in paper
mode); ``[http]`` (the status endpoint); ``[persistence]`` (durability); ``[chaos]``
(what ``basis chaos`` holds the system to). Everything is
validated at load: an unknown key, a wrong type or an impossible value is an error that
names the file and the key.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.config import StrategyConfig
from actors.sim.config import SimConfig, symbol_config, with_dislocations
from actors.sim.servers import SimUrls
from actors.venue_config import VenueConfig
from protocols.model import Symbol

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class VenuesSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    spot: VenueConfig = VenueConfig("mexc")
    futures: VenueConfig = VenueConfig("gateio_futures")

    def __post_init__(self) -> None:
        if self.spot.kind != "mexc":
            raise ValueError(f"venues.spot.kind must be 'mexc' (got {self.spot.kind!r})")
        if self.futures.kind != "gateio_futures":
            raise ValueError(
                f"venues.futures.kind must be 'gateio_futures' (got {self.futures.kind!r})"
            )


class HttpSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The status endpoint on 127.0.0.1; port 0 picks a free one."""

    port: Port = 8787


class PersistenceSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    durability: Literal["NORMAL", "FULL"] = "NORMAL"
    """NORMAL survives a crash of Basis; FULL also survives a power cut, at a cost per commit."""


class PaperSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Paper mode's simulated market, beyond what ``[sim]`` says."""

    dislocations_per_hour: Annotated[float, msgspec.Meta(ge=0.0)] | None = None
    """How often each symbol's perpetual jumps away from spot (the chances to trade);
    unset keeps each symbol's own setting."""


class ChaosSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``basis chaos`` holds the system to; unset bounds follow from ``[strategy]``."""

    settle_s: Seconds | None = None
    """How soon after a fault clears positions must match the venues again (default
    3 leg timeouts + 5 s: orders in flight end, lookups finish, imbalances correct)."""
    max_unhedged_s: Seconds | None = None
    """How long an unhedged delta above the smallest order either venue takes may last
    (default: a leg timeout for each correction attempt plus three more — the orders
    ending, the flattening, its lookups — and 10 s for a killed process to come back)."""
    memory_allowance_mb: Annotated[float, msgspec.Meta(ge=0.0)] = 16.0
    """Growth of the trading process's memory allowed in any run (caches filling up)."""
    memory_growth_mb_per_h: Annotated[float, msgspec.Meta(ge=0.0)] = 8.0
    """And per hour on top of that."""
    stir_every_s: Seconds = 2.0
    """How often a symbol's perpetual is jumped away from spot (or back), so that
    entries and exits happen while faults play."""

    def settle_bound_s(self, strategy: StrategyConfig) -> float:
        if self.settle_s is not None:
            return self.settle_s
        return 3.0 * strategy.leg_timeout_s + 5.0

    def unhedged_bound_s(self, strategy: StrategyConfig) -> float:
        if self.max_unhedged_s is not None:
            return self.max_unhedged_s
        return strategy.leg_timeout_s * (strategy.max_correction_attempts + 3) + 10.0


class SystemConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Literal["paper", "live"] = "paper"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    venues: VenuesSection = VenuesSection()
    strategy: StrategyConfig = StrategyConfig()
    sim: SimConfig = msgspec.field(default_factory=SimConfig)
    paper: PaperSection = PaperSection()
    http: HttpSection = HttpSection()
    persistence: PersistenceSection = PersistenceSection()
    chaos: ChaosSection = ChaosSection()
    status_every_s: Seconds = 30.0
    """Without a terminal, how often a one-line status goes to the log."""

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError('symbols: list at least one, like ["BTC/USDT"]')
        parsed = [Symbol.parse(text) for text in self.symbols]
        if len(set(parsed)) != len(parsed):
            raise ValueError("symbols: a symbol is listed twice")

    @property
    def symbol_list(self) -> list[Symbol]:
        return [Symbol.parse(text) for text in self.symbols]

    def simulated(self) -> SimConfig:
        """The simulated venues for paper mode: every traded symbol, as ``[sim]``
        configures it or with the defaults, at ``[paper]``'s dislocation rate."""
        configured = {config.symbol: config for config in self.sim.symbols}
        rate = self.paper.dislocations_per_hour
        symbols = []
        for symbol in self.symbol_list:
            config = configured.get(symbol) or symbol_config(symbol)
            symbols.append(config if rate is None else with_dislocations(config, rate))
        return msgspec.structs.replace(self.sim, symbols=tuple(symbols))

    def venues_at(self, urls: SimUrls) -> VenuesSection:
        """The venues to use against simulated venues at ``urls``, with their accounts'
        made-up keys in place of environment variables."""
        spot = msgspec.structs.replace(
            self.venues.spot, rest_url=urls.mexc_rest, ws_url=urls.mexc_ws
        )
        futures = msgspec.structs.replace(
            self.venues.futures, rest_url=urls.gateio_rest, ws_url=urls.gateio_ws
        )
        return VenuesSection(spot, futures)

    def missing_credentials(self) -> list[str]:
        """Environment variables live trading needs and does not have."""
        if self.mode != "live":
            return []
        return [
            *self.venues.spot.missing_credentials(),
            *self.venues.futures.missing_credentials(),
        ]
