"""How Basis reaches a venue: its kind, endpoints, credentials and feed timings; and
which pair of venues, spot and perpetual, each symbol trades at.

Endpoints default to the real venues; the simulated venues set loopback addresses. Keys
are never in a config file: the config names the environment variables that hold them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import attrs
import msgspec

from actors.venues.kinds import venue_of_kind
from protocols.model import Leg
from protocols.venue import ApiCredentials

VenueKind = Literal["mexc", "gateio_futures", "binance", "binance_futures"]
"""Every kind ``actors.venues.kinds`` knows, spot and futures: which leg takes which is
checked by ``[venues]``."""

Seconds = Annotated[float, msgspec.Meta(gt=0.0)]


class VenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[venues.NAME]`` table."""

    kind: VenueKind
    rest_url: str | None = None
    ws_url: str | None = None
    api_key_env: str | None = None
    api_secret_env: str | None = None
    stale_after_s: Seconds = 10.0
    """No data for this long on a connection: treat it as stalled and reconnect."""
    live_within_s: Seconds = 1.0
    """No frame at all (data, pong, acknowledgement) for this long: the connection is not
    live, and no entry is decided on its quotes until it is again. A quiet connection is
    pinged after half of it (docs/strategy.md, "Live data")."""
    rotate_after_s: Seconds = 23 * 3600.0
    """Reconnect before the venue's 24 h connection limit."""
    user_id: str | int = ""
    """The account's user id, which Gate.io's private channels name (not a secret). Basis
    reads it from the venue; set, it must be the key's account's or the start is refused.
    Gate.io shows it as a number, so a number is taken too (kept as its digits)."""
    request_timeout_s: Seconds = 5.0
    rules_refresh_s: Seconds = 3600.0
    funding_poll_s: Seconds = 60.0
    """How often the futures account's ledger is read for funding settlements."""
    position_check_s: Seconds = 3.0
    """How often the futures venue's position of each symbol a strategy holds a short in
    is read, to catch a shrink no order of ours made (a position push catches it sooner;
    this catches a push that never came)."""
    depth: bool = True
    """Build quotes from the venue's depth stream (a local book, resynced from a REST
    snapshot after a gap in versions) instead of its best bid/ask stream."""

    def __post_init__(self) -> None:
        if not self.live_within_s < self.stale_after_s:
            raise ValueError(
                f"live_within_s = {self.live_within_s:g} must be below stale_after_s = "
                f"{self.stale_after_s:g}: a connection is judged not live long before it is "
                "judged stalled; set it to about 1 s (the default)"
            )
        if isinstance(self.user_id, int):
            msgspec.structs.force_setattr(self, "user_id", str(self.user_id))

    @property
    def rest(self) -> str:
        return (self.rest_url or venue_of_kind(self.kind).endpoints[0]).rstrip("/")

    @property
    def ws(self) -> str:
        return self.ws_url or venue_of_kind(self.kind).endpoints[1]

    def missing_credentials(self, environ: Mapping[str, str] = os.environ) -> list[str]:
        """The environment variables this venue needs for trading that are unset or empty."""
        names = [self.api_key_env, self.api_secret_env]
        if None in names:
            return [f"<api_key_env and api_secret_env for a {self.kind} venue>"]
        return [name for name in names if name and not environ.get(name)]

    def credentials(self, environ: Mapping[str, str] = os.environ) -> ApiCredentials | None:
        if self.missing_credentials(environ):
            return None
        assert self.api_key_env and self.api_secret_env
        return ApiCredentials(environ[self.api_key_env], environ[self.api_secret_env])


@attrs.frozen
class VenuePair:
    """The spot venue and the perpetual venue one symbol trades at."""

    spot: VenueConfig
    futures: VenueConfig
    tables: tuple[str, str] = ("venues.spot", "venues.futures")
    """Where the config file sets them, spot first: what a message about them names."""
    spot_fee: float | None = None
    """The pair's own taker rates, where its table sets them (``[strategy]``'s apply
    otherwise)."""
    fut_fee: float | None = None

    def fee_key(self, leg: Leg) -> str:
        """Where the config sets ``leg``'s taker rate for this pair."""
        own = self.spot_fee if leg is Leg.SPOT else self.fut_fee
        key = "spot_fee" if leg is Leg.SPOT else "fut_fee"
        if own is None:
            return f"strategy.{key}"
        return f"{self.tables[0].removesuffix('.spot')}.{key}"

    def of(self, leg: Leg) -> VenueConfig:
        return self.spot if leg is Leg.SPOT else self.futures

    def table(self, leg: Leg) -> str:
        return self.tables[0] if leg is Leg.SPOT else self.tables[1]

    @property
    def kinds(self) -> dict[Leg, str]:
        """Each leg's venue kind."""
        return {Leg.SPOT: self.spot.kind, Leg.FUTURES: self.futures.kind}

    @property
    def title(self) -> str:
        return f"{self.spot.kind}/{self.futures.kind}"
