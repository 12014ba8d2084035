"""The trading runtime's configuration: the tables of a configuration file it acts on.

Top-level ``mode`` and ``symbols``; ``[venues.spot]`` and ``[venues.futures]`` (kind,
endpoints, the names of the environment variables holding keys); ``[strategy]``;
``[risk]`` (sizing from the books, caps, stops); ``[http]`` (the status endpoint);
``[persistence]`` (the store: SQLite or PostgreSQL, durability, the sampled series);
``[cluster]`` (this instance's part in several sharing the symbols over PostgreSQL);
``[alerts]`` (where alerts go). The file's other tables (the simulated venues, paper
mode, chaos runs) belong to the tools that read them: see ``actors.system_config``.
Everything is validated at load: an unknown key, a wrong type or an impossible value is
an error that names the file and the key.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from actors.arbitrage.config import StrategyConfig
from actors.risk.config import RiskConfig
from actors.risk.liquidation import leverage_refusal
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.venue_config import VenueConfig
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES
from protocols.model import Symbol

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class VenuesSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    spot: VenueConfig = VenueConfig("mexc")
    futures: VenueConfig = VenueConfig("gateio_futures")

    def __post_init__(self) -> None:
        for leg, venue, kinds in (
            ("spot", self.spot, SPOT_VENUES),
            ("futures", self.futures, FUTURES_VENUES),
        ):
            if venue.kind not in kinds:
                raise ValueError(
                    f"venues.{leg}.kind must be a {leg} venue: "
                    f"{' or '.join(map(repr, kinds))} (got {venue.kind!r})"
                )
            if venue.user_id and venue.kind != "gateio_futures":
                raise ValueError(
                    f"venues.{leg}.user_id names a Gate.io account; {venue.kind} names the "
                    "account by its API key alone: remove user_id"
                )


class HttpSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The status endpoint on 127.0.0.1; port 0 picks a free one."""

    port: Port = 8787


class PersistenceSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    """Where the store is: SQLite in the data directory, or a PostgreSQL database (which
    several instances may share, with ``[cluster]``)."""
    dsn_env: str = "BASIS_POSTGRES_DSN"
    """The name of the environment variable holding PostgreSQL's connection string: it
    may hold a password, so it is read from the environment only, never from this file,
    and never logged."""
    durability: Literal["NORMAL", "FULL"] = "NORMAL"
    """NORMAL survives a crash of Basis; FULL also survives a power cut, at a cost per commit."""
    series_interval_s: Seconds = 1.0
    """How often each strategy samples its series (entry cost %, an open position's
    P&L) for the history, at most."""
    series_full_days: Annotated[float, msgspec.Meta(gt=0.0)] = 2.0
    """How many days of the series are kept at every sample; older points are thinned
    to one a minute."""

    def __post_init__(self) -> None:
        # Checked here rather than by a pattern on the field, whose error would quote the
        # value: a connection string put here by mistake, and its password with it.
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.dsn_env) is None:
            raise ValueError(
                "dsn_env is not the name of an environment variable: name the variable that "
                'holds the connection string, like dsn_env = "BASIS_POSTGRES_DSN", and set '
                "the connection string in the environment, never in this file"
            )


DEFAULT_LEASE_TTL_S = 10.0
"""How long a lease lasts unrenewed unless ``[cluster]`` says: an instance that dies or
is cut off loses its symbols within it."""

InstanceName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
"""How an instance is named in a cluster: what ``basis cluster status`` shows."""


class ClusterSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """This instance's part in a cluster: instances sharing the symbols of one PostgreSQL
    store, each symbol leased to one of them at a time (``actors.runtime.cluster``)."""

    name: InstanceName
    """Unique in the cluster, and kept across restarts: the leases are held in its name."""
    capacity: Annotated[int, msgspec.Meta(ge=1)]
    """The most symbols this instance trades at once: it takes its even share of the
    symbols, never more than this."""
    lease_ttl_s: Annotated[float, msgspec.Meta(ge=1.0)] = DEFAULT_LEASE_TTL_S
    """How long a lease lasts unrenewed, by the database's clock: an instance that dies or
    is cut off loses its symbols to the others after this. At least a second, as a
    renewal is a round trip and a commit that a loaded database can take a good part of a
    second over."""
    renew_every_s: Seconds | None = None
    """How often the leases are renewed (default a quarter of ``lease_ttl_s``): at most a
    third of it, so that two renewals in a row can fail before a lease ends."""

    def __post_init__(self) -> None:
        if self.renew_every_s is not None and self.renew_every_s * 3 > self.lease_ttl_s:
            raise ValueError(
                f"renew_every_s = {self.renew_every_s:g}: renew at least three times per "
                f"lease_ttl_s ({self.lease_ttl_s:g} s), so that a lease outlives two failed "
                f"renewals; set it to {self.lease_ttl_s / 3:.3g} or less, or leave it out"
            )

    @property
    def renew_s(self) -> float:
        """How often the leases are renewed."""
        if self.renew_every_s is not None:
            return self.renew_every_s
        return self.lease_ttl_s / 4


class RuntimeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Literal["paper", "live"] = "paper"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    venues: VenuesSection = VenuesSection()
    strategy: StrategyConfig = StrategyConfig()
    risk: RiskConfig = RiskConfig()
    http: HttpSection = HttpSection()
    persistence: PersistenceSection = PersistenceSection()
    alerts: AlertsSection = AlertsSection()
    cluster: ClusterSection | None = None
    """Absent: this instance trades every symbol alone."""
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
        if self.cluster is not None and self.persistence.backend != "postgresql":
            raise ValueError(
                "cluster: instances share their symbols through a PostgreSQL store; set "
                '[persistence] backend = "postgresql" (the connection string in '
                f"${self.persistence.dsn_env}), or remove [cluster]"
            )

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
