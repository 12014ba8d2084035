"""Suite-wide options and fixtures: soak tests run only when asked for (``make soak``), a
throwaway PostgreSQL server for the tests that need one, and the logging as the tests set
it up, whatever a test ran in-process."""

from __future__ import annotations

import logging

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


@pytest.fixture(autouse=True)
def console_logging_restored():
    """``basis`` run in-process (``main([...])``) sets up the console's logging for the
    whole process: put back the tests' after each test, so that its lines, written by a
    thread of their own a little later, never land in the next test's captured output."""
    from actors.runtime.ops.logs import flush_logs

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    flush_logs()  # the lines the test logged, written while it is still the test's output
    root.handlers[:] = handlers
    root.setLevel(level)
