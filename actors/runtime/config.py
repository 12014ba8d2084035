"""The trading runtime's configuration: the tables of a configuration file it acts on.

Top-level ``mode`` and ``symbols``; ``[funding_carry]`` (the symbols that run the
carry task, and its parameters); ``[venues.spot]`` and ``[venues.futures]`` (kind,
endpoints, the names of the environment variables holding keys), and ``[[venues.pairs]]``
for symbols that trade at other venues; ``[strategy]``;
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
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

import msgspec

from actors.arbitrage.config import Fee, FundingCarryConfig, StrategyConfig
from actors.risk.config import RiskConfig
from actors.risk.liquidation import leverage_refusal
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.venue_config import VenueConfig, VenuePair
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES
from protocols.model import Leg, Symbol

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class PairSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[[venues.pairs]]`` table: symbols that trade at a pair of venues of their own
    rather than at ``[venues.spot]`` and ``[venues.futures]``."""

    symbols: tuple[str, ...]
    spot: VenueConfig
    futures: VenueConfig
    spot_fee: Fee | None = None
    """The spot venue's taker rate for these symbols, in place of ``[strategy] spot_fee``
    (which is another venue's when the pairs' venues charge differently)."""
    fut_fee: Fee | None = None
    """The futures venue's, in place of ``[strategy] fut_fee``."""


class VenuesSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where each symbol trades: at its ``[[venues.pairs]]`` pair if one lists it, at
    ``spot`` and ``futures`` otherwise. A venue is one account and one set of
    connections, so a kind configured in several tables must be configured alike."""

    spot: VenueConfig = VenueConfig("mexc")
    futures: VenueConfig = VenueConfig("gateio_futures")
    pairs: tuple[PairSection, ...] = ()

    def __post_init__(self) -> None:
        for where, leg, venue in self._tables():
            kinds = SPOT_VENUES if leg is Leg.SPOT else FUTURES_VENUES
            if venue.kind not in kinds:
                raise ValueError(
                    f"{where}.kind must be a {leg.value} venue: "
                    f"{' or '.join(map(repr, kinds))} (got {venue.kind!r})"
                )
            if venue.user_id and venue.kind != "gateio_futures":
                raise ValueError(
                    f"{where}.user_id names a Gate.io account; {venue.kind} names the "
                    "account by its API key alone: remove user_id"
                )
        listed_in: dict[Symbol, int] = {}
        for n, pair in enumerate(self.pairs):
            if not pair.symbols:
                raise ValueError(
                    f"venues.pairs[{n}].symbols: list the symbols that trade at "
                    f'{pair.spot.kind} and {pair.futures.kind}, like ["ETH/USDT"]'
                )
            for text in pair.symbols:
                symbol = _symbol(f"venues.pairs[{n}].symbols", text)
                if symbol in listed_in:
                    raise ValueError(
                        f"venues.pairs[{n}].symbols: {symbol} is also in "
                        f"venues.pairs[{listed_in[symbol]}]; a symbol trades at one pair of "
                        "venues: list it once"
                    )
                listed_in[symbol] = n

    def _tables(self) -> Iterator[tuple[str, Leg, VenueConfig]]:
        """Every venue table, where the file has it."""
        yield "venues.spot", Leg.SPOT, self.spot
        yield "venues.futures", Leg.FUTURES, self.futures
        for n, pair in enumerate(self.pairs):
            yield f"venues.pairs[{n}].spot", Leg.SPOT, pair.spot
            yield f"venues.pairs[{n}].futures", Leg.FUTURES, pair.futures

    def pair_of(self, symbol: Symbol) -> VenuePair:
        """The venues ``symbol`` trades at."""
        for n, pair in enumerate(self.pairs):
            if any(Symbol.parse(text) == symbol for text in pair.symbols):
                tables = (f"venues.pairs[{n}].spot", f"venues.pairs[{n}].futures")
                return VenuePair(pair.spot, pair.futures, tables, pair.spot_fee, pair.fut_fee)
        return VenuePair(self.spot, self.futures)

    def in_use(self, symbols: Iterable[Symbol]) -> dict[str, VenueConfig]:
        """The venues ``symbols`` trade at, by kind, the spot venues first. ``ValueError``
        when one kind is configured two ways for them."""
        pairs = [self.pair_of(symbol) for symbol in symbols]
        found: dict[str, VenueConfig] = {}
        for venue in [pair.spot for pair in pairs] + [pair.futures for pair in pairs]:
            if found.setdefault(venue.kind, venue) != venue:
                where = [where for where, _, table in self._tables() if table.kind == venue.kind]
                raise ValueError(
                    f"{' and '.join(where)} configure {venue.kind} differently; a venue is "
                    "one account and one set of connections: make its tables alike"
                )
        return found

    def symbols_at(self, kind: str, symbols: Iterable[Symbol]) -> list[Symbol]:
        """Those of ``symbols`` that trade at the venue of ``kind``."""
        return [s for s in symbols if kind in self.pair_of(s).kinds.values()]


def _symbol(where: str, text: str) -> Symbol:
    try:
        return Symbol.parse(text)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


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
    funding_carry: FundingCarryConfig | None = None
    """Absent: every symbol runs ``spot_futures_arbitrage``."""
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
        parsed = [_symbol("symbols", text) for text in self.symbols]
        if len(set(parsed)) != len(parsed):
            raise ValueError("symbols: a symbol is listed twice")
        for n, pair in enumerate(self.venues.pairs):
            for text in pair.symbols:
                if Symbol.parse(text) not in parsed:
                    raise ValueError(
                        f"venues.pairs[{n}].symbols names {text}, which symbols does not "
                        "list: add it to symbols, or remove it from the pair"
                    )
        self.venues.in_use(parsed)
        for text in self.funding_carry.symbols if self.funding_carry is not None else ():
            if Symbol.parse(text) not in parsed:
                raise ValueError(
                    f"funding_carry.symbols names {text}, which symbols does not list: add "
                    "it to symbols, or remove it from funding_carry"
                )
        for symbol in parsed:
            strategy = self.strategy_of(symbol)
            refusal = leverage_refusal(strategy.futures_leverage, strategy.fut_fee, self.risk)
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

    def pair_of(self, symbol: Symbol) -> VenuePair:
        """The venues ``symbol`` trades at."""
        return self.venues.pair_of(symbol)

    def strategy_of(self, symbol: Symbol) -> StrategyConfig:
        """``[strategy]`` as ``symbol`` trades it: with its pair's fee rates where the pair
        sets them."""
        pair = self.venues.pair_of(symbol)
        fees = {"spot_fee": pair.spot_fee, "fut_fee": pair.fut_fee}
        changed = {key: fee for key, fee in fees.items() if fee is not None}
        return msgspec.structs.replace(self.strategy, **changed) if changed else self.strategy

    @property
    def venues_in_use(self) -> dict[str, VenueConfig]:
        """The venues this instance's symbols trade at, by kind, the spot venues first."""
        return self.venues.in_use(self.symbol_list)

    def symbols_at(self, kind: str) -> list[Symbol]:
        """The symbols that trade at the venue of ``kind``."""
        return self.venues.symbols_at(kind, self.symbol_list)

    def missing_credentials(self) -> list[str]:
        """Environment variables live trading needs and does not have."""
        if self.mode != "live":
            return []
        return [
            name for venue in self.venues_in_use.values() for name in venue.missing_credentials()
        ]
