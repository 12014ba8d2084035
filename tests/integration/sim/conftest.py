"""The simulated venues on real loopback sockets: ``still`` (one coin that never moves,
so a test knows the quotes an order meets) and ``moving`` (the default coins, for the
streams), with REST clients for each venue."""

from __future__ import annotations

import pytest

from actors.venues.rest import RestClient

from .support import moving, start, still


@pytest.fixture
async def still_sim(nursery):
    return await start(nursery, still())


@pytest.fixture
async def moving_sim(nursery):
    return await start(nursery, moving())


@pytest.fixture
async def mexc_client(still_sim):
    async with RestClient(still_sim.urls.mexc_rest) as client:
        yield client


@pytest.fixture
async def gateio_client(still_sim):
    async with RestClient(still_sim.urls.gateio_rest) as client:
        yield client
