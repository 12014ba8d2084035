"""The venues' free balances, as the caps count them: the spot account's free USDT and
the futures account's available USDT."""

from __future__ import annotations

from actors.risk.caps import Balances
from actors.venues.kinds import futures_venue, spot_venue
from actors.venues.rest import RestClient
from protocols.venue import ApiCredentials


async def read_balances(
    spot: tuple[str, RestClient, ApiCredentials],
    futures: tuple[str, RestClient, ApiCredentials],
    now: float,
) -> Balances:
    """Both venues' free USDT now (each given as its kind, client and keys); raises what
    the requests raise (``VENUE_FAILURES``)."""
    spot_kind, spot_rest, spot_keys = spot
    free = await spot_venue(spot_kind).free_usdt(spot_rest, spot_keys, now)
    futures_kind, futures_rest, futures_keys = futures
    account = await futures_venue(futures_kind).account(futures_rest, futures_keys, now)
    return Balances({spot_kind: free}, {futures_kind: account.available})
