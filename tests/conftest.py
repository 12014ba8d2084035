"""Suite-wide options: soak tests run only when asked for (``make soak``)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-soak",
        action="store_true",
        help="run the long soak tests (marked `soak`) instead of skipping them",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with `make soak`")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the whole run (a test fails, naming the fix,
    where PostgreSQL is not installed)."""
    from actors.chaos.throwaway_postgres import PostgresMissing, PostgresServer

    try:
        server = PostgresServer()
    except PostgresMissing as missing:
        pytest.fail(str(missing))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(postgres_server) -> str:
    """A fresh, empty database on the run's PostgreSQL server: its connection string."""
    return postgres_server.new_database()
