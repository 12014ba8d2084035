"""The trading runtime's configuration: the tables of a configuration file it acts on.

Top-level ``mode`` and ``symbols``; ``[venues.spot]`` and ``[venues.futures]`` (kind,
endpoints, the names of the environment variables holding keys); ``[strategy]``;
``[risk]`` (sizing from the books, caps, stops); ``[http]`` (the status endpoint);
``[persistence]`` (durability, the sampled series); ``[alerts]`` (where alerts go). The
file's other tables (the simulated venues, paper mode, chaos runs) belong to the tools
that read them: see ``actors.system_config``. Everything is validated at load: an
unknown key, a wrong type or an impossible value is an error that names the file and the
key.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.arbitrage.config import StrategyConfig
from actors.risk.config import RiskConfig
from actors.risk.liquidation import leverage_refusal
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.venue_config import VenueConfig
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
    series_interval_s: Seconds = 1.0
    """How often each strategy samples its series (entry cost %, an open position's
    P&L) for the history, at most."""
    series_full_days: Annotated[float, msgspec.Meta(gt=0.0)] = 2.0
    """How many days of the series are kept at every sample; older points are thinned
    to one a minute."""


class RuntimeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Literal["paper", "live"] = "paper"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    venues: VenuesSection = VenuesSection()
    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    http: HttpSection = HttpSection()
    persistence: PersistenceSection = PersistenceSection()
    alerts: AlertsSection = AlertsSection()
    status_every_s: Seconds = 30.0
    """Without a terminal, how often a one-line status goes to the log."""

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError('symbols: list at least one, like ["BTC/USDT"]')
        parsed = [Symbol.parse(text) for text in self.symbols]
        if len(set(parsed)) != len(parsed):
            raise ValueError("symbols: a symbol is listed twice")
        refusal = leverage_refusal(self.strategy.futures_leverage, self.strategy.fut_fee, self.risk)
        if refusal is not None:
            raise ValueError(refusal)

    @property
    def symbol_list(self) -> list[Symbol]:
        return [Symbol.parse(text) for text in self.symbols]

    def missing_credentials(self) -> list[str]:
        """Environment variables live trading needs and does not have."""
        if self.mode != "live":
            return []
        return [
            *self.venues.spot.missing_credentials(),
            *self.venues.futures.missing_credentials(),
        ]
