"""The venues' free balances, as the caps count them: each spot account's free USDT and
each futures account's available USDT."""

from __future__ import annotations

from collections.abc import Sequence

from actors.risk.caps import Balances
from actors.venues.kinds import futures_venue, spot_venue
from actors.venues.rest import RestClient
from protocols.venue import ApiCredentials


async def read_balances(
    spot: Sequence[tuple[str, RestClient, ApiCredentials]],
    futures: Sequence[tuple[str, RestClient, ApiCredentials]],
    now: float,
) -> Balances:
    """Every venue's free USDT now (each given as its kind, client and keys); raises what
    the requests raise (``VENUE_FAILURES``)."""
    free = {}
    for kind, rest, keys in spot:
        free[kind] = await spot_venue(kind).free_usdt(rest, keys, now)
    available = {}
    for kind, rest, keys in futures:
        available[kind] = await futures_venue(kind).available(rest, keys, now)
    return Balances(free, available)
