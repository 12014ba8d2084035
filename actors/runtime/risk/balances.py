"""The venues' free balances, as the caps count them: MEXC spot USDT ``free`` and Gate.io
USDT futures ``available``."""

from __future__ import annotations

from actors.risk.caps import Balances
from actors.venues.gateio import futures_account
from actors.venues.rest import RestClient
from protocols import mexc_rest
from protocols.venue import ApiCredentials


async def read_balances(
    spot: tuple[str, RestClient, ApiCredentials],
    futures: tuple[str, RestClient, ApiCredentials],
    now: float,
) -> Balances:
    """Both venues' free USDT now; raises what the requests raise (``VENUE_FAILURES``)."""
    spot_venue, spot_rest, spot_keys = spot
    response = await spot_rest.send(mexc_rest.account_request(spot_keys, int(now * 1000)))
    if response.status != 200:
        raise mexc_rest.error_from_response(response)
    free = next((b.free for b in mexc_rest.parse_account(response.body) if b.asset == "USDT"), 0.0)
    futures_venue, futures_rest, futures_keys = futures
    account = await futures_account(futures_rest, futures_keys, now)
    return Balances({spot_venue: free}, {futures_venue: account.available})
