"""The configuration file as a whole (``basis run CONFIG``, ``basis chaos``, ``basis record``,
``basis watchdog``).

The runtime's tables (:class:`~actors.runtime.config.RuntimeConfig`) plus those of the
tools around it: ``[sim]`` (the simulated venues, used in paper mode), ``[paper]`` (how
lively paper mode's market is), ``[chaos]`` (what ``basis chaos`` holds the system to),
``[watchdog]`` (how ``basis watchdog`` watches it) and ``[dashboard]`` (the live web
dashboard ``basis run`` serves). One file, validated whole at load; the runtime is
handed it as a :class:`RuntimeConfig` and never reads the other tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import msgspec

from actors.dashboard.config import DashboardSection
from actors.runtime.config import RuntimeConfig, Seconds, VenuesSection
from actors.runtime.venue_config import VenueConfig
from actors.sim.config import SimConfig, symbol_config, with_dislocations
from actors.sim.views import SimUrls
from actors.venues.kinds import (
    FUTURES_VENUES,
    SPOT_VENUES,
    futures_venue,
    spot_venue,
    venue_of_kind,
)
from protocols.venue import ApiCredentials


class PaperSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Paper mode's simulated market, beyond what ``[sim]`` says."""

    dislocations_per_hour: Annotated[float, msgspec.Meta(ge=0.0)] | None = None
    """How often each symbol's perpetual jumps away from spot (the chances to trade);
    unset keeps each symbol's own setting."""


def unknown_outcome_s(venues: Iterable[VenueConfig]) -> float:
    """How long an order's outcome may stay unknown: a placement left unanswered is
    looked up after ``request_timeout_s``, and a lookup that says "no such order" proves
    that it never arrived only once its venue's read-after-write lag has passed since
    the request, which can begin no earlier than that timeout ended; so the timeout plus
    the lag, the longest over ``venues`` (10 s with the default venues: MEXC's 5 s on a
    5 s timeout)."""
    return max(
        venue.request_timeout_s + venue_of_kind(venue.kind).read_after_write_s for venue in venues
    )


class ChaosSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``basis chaos`` holds the system to; unset bounds follow from ``[venues]``.

    Both default bounds are multiples of :func:`unknown_outcome_s` (10 s with the
    default venues): how long an order's outcome may stay unknown is what keeps
    positions from settling, and a leg unhedged, when no fault has broken anything. The
    multiples put the worst of good runs at about half the bound or less (measured in
    ``bench/RESULTS.md``), so that a regression that doubles the time is caught."""

    settle_s: Seconds | None = None
    """How soon after the last fault clears positions must match the venues again
    (default :func:`unknown_outcome_s`: the orders in flight then end within it; a killed
    process's start-up and recovery take about 2 s)."""
    max_unhedged_s: Seconds | None = None
    """How long an unhedged delta above the smallest order either venue takes may last
    (default twice :func:`unknown_outcome_s`: a leg is left unhedged while its partner's
    outcome is unknown, then corrected; a kill between the legs costs the process's
    restart instead, about 2 s)."""
    memory_allowance_mb: Annotated[float, msgspec.Meta(ge=0.0)] = 16.0
    """Growth of the trading process's memory allowed in any run (caches filling up)."""
    memory_growth_mb_per_h: Annotated[float, msgspec.Meta(ge=0.0)] = 8.0
    """And per hour on top of that."""
    stir_every_s: Seconds = 2.0
    """How often a symbol's perpetual is jumped away from spot (or back), so that
    entries and exits happen while faults play."""
    min_hit_share: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.8
    """The least share of a run's faults, and of its order faults, that must hit what
    they aim at (an order fault its placement before its deadline): a run below it
    fails, as its figures would overstate what it exercised."""
    min_aimed_faults: Annotated[int, msgspec.Meta(ge=1)] = 10
    """The fewest faults (all of a run's, or its order faults) whose share of hits is
    judged: below it one fault expiring on a loaded machine moves the share by more than
    the margin ``min_hit_share`` leaves, so the tally is reported but not judged."""

    def settle_bound_s(self, venues: Iterable[VenueConfig]) -> float:
        if self.settle_s is not None:
            return self.settle_s
        return unknown_outcome_s(venues)

    def unhedged_bound_s(self, venues: Iterable[VenueConfig]) -> float:
        if self.max_unhedged_s is not None:
            return self.max_unhedged_s
        return 2.0 * unknown_outcome_s(venues)


class WatchdogSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How ``basis watchdog`` watches the instance. With the defaults an instance killed
    outright is announced within 27 s: ``after_s``, two polls (the one that first finds
    it gone comes up to one period late, the one that finds it gone long enough another),
    a look's ``timeout_s`` and a sink's own timeout (5 s by default)."""

    poll_s: Seconds = 2.0
    """How often ``/health`` is asked."""
    after_s: Seconds = 15.0
    """How long the instance must be unreachable or failing before the alert: longer
    than a restart by systemd takes, so that one is not an incident."""
    timeout_s: Seconds = 3.0
    """How long one look at ``/health`` may take before it counts as unreachable."""


class SystemConfig(RuntimeConfig, frozen=True, forbid_unknown_fields=True):
    sim: SimConfig = msgspec.field(default_factory=SimConfig)
    paper: PaperSection = PaperSection()
    chaos: ChaosSection = ChaosSection()
    watchdog: WatchdogSection = WatchdogSection()
    dashboard: DashboardSection = DashboardSection()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == "paper":
            # The simulated venues are USDT spot markets and USDT-settled perpetuals.
            other = [str(s) for s in self.symbol_list if s.quote != "USDT"]
            if other:
                raise ValueError(
                    f"symbols: paper mode's simulated venues quote USDT pairs only, not "
                    f"{', '.join(other)}; use {other[0].partition('/')[0]}/USDT"
                )

    def simulated(self) -> SimConfig:
        """The simulated venues for paper mode: every traded symbol, as ``[sim]``
        configures it or with the defaults, at ``[paper]``'s dislocation rate, at the
        simulated twins of ``[venues]``."""
        configured = {config.symbol: config for config in self.sim.symbols}
        rate = self.paper.dislocations_per_hour
        symbols = []
        for symbol in self.symbol_list:
            config = configured.get(symbol) or symbol_config(symbol)
            symbols.append(config if rate is None else with_dislocations(config, rate))
        pairs = {}
        for symbol in self.symbol_list:
            pair = self.pair_of(symbol)
            pairs[str(symbol)] = (
                spot_venue(pair.spot.kind).exchange,
                futures_venue(pair.futures.kind).exchange,
            )
        return msgspec.structs.replace(self.sim, symbols=tuple(symbols), pairs=pairs)

    def venues_at(self, urls: SimUrls) -> VenuesSection:
        """The venues to use against simulated venues at ``urls``: their endpoints (the
        keys are :meth:`simulated_credentials`; the user id is the venue's to say)."""

        served = self.venues_in_use

        def at(venue: VenueConfig) -> VenueConfig:
            if venue.kind not in served:
                return venue  # no symbol trades there: nothing reaches it
            rest, ws = urls.of(venue_of_kind(venue.kind).exchange)
            return msgspec.structs.replace(venue, rest_url=rest, ws_url=ws)

        venues = self.venues
        pairs = tuple(
            msgspec.structs.replace(pair, spot=at(pair.spot), futures=at(pair.futures))
            for pair in venues.pairs
        )
        return VenuesSection(at(venues.spot), at(venues.futures), pairs)

    def at_simulated_venues(self, urls: SimUrls) -> SystemConfig:
        """This config with its venues at the simulated ones at ``urls``."""
        return msgspec.structs.replace(self, venues=self.venues_at(urls))

    def simulated_credentials(self) -> dict[str, ApiCredentials]:
        """The simulated accounts' made-up keys, by venue kind, in place of environment
        variables: each twin's (``SimConfig.venue_table``)."""
        found = {}
        for kind in (*SPOT_VENUES, *FUTURES_VENUES):
            table = self.sim.venue_table(venue_of_kind(kind).exchange)
            found[kind] = ApiCredentials(table.api_key, table.api_secret)
        return found
