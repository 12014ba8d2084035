"""The trading system's configuration file (``basis run CONFIG``, ``basis record``).

Tables: top-level ``mode`` and ``symbols``; ``[venues.spot]`` and ``[venues.futures]``
(kind, endpoints, the names of the environment variables holding keys);
``[strategy]`` (SPEC §1's parameters); ``[sim]`` (the simulated venues, used in paper
mode); ``[http]`` (the status endpoint); ``[persistence]`` (durability). Everything is
validated at load: an unknown key, a wrong type or an impossible value is an error that
names the file and the key.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.config import StrategyConfig
from actors.sim.config import SimConfig
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
    cleanup_after_hours: Annotated[float, msgspec.Meta(gt=0.0)] | None = None


class SystemConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Literal["paper", "live"] = "paper"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    venues: VenuesSection = VenuesSection()
    strategy: StrategyConfig = StrategyConfig()
    sim: SimConfig = msgspec.field(default_factory=SimConfig)
    http: HttpSection = HttpSection()
    persistence: PersistenceSection = PersistenceSection()
    status_every_s: Seconds = 30.0
    """Without a terminal, how often a one-line status goes to the log."""

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError('symbols: list at least one, like ["BTC/USDT"]')
        parsed = [Symbol.parse(text) for text in self.symbols]
        if len(set(parsed)) != len(parsed):
            raise ValueError("symbols: a symbol is listed twice")
        if self.mode == "paper":
            simulated = {config.symbol for config in self.sim.symbols}
            missing = [str(s) for s in parsed if s not in simulated]
            if missing:
                raise ValueError(
                    f"symbols: {', '.join(missing)} not simulated; add them to [[sim.symbols]] "
                    "or trade only simulated symbols"
                )

    @property
    def symbol_list(self) -> list[Symbol]:
        return [Symbol.parse(text) for text in self.symbols]

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
