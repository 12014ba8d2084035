"""Where the commands that read a store without a running system (``basis report``,
``basis state``) find it: the SQLite file in the data directory (``--data-dir``), or,
where the config ``--config`` names keeps its store in PostgreSQL (``[persistence]
backend = "postgresql"``), that database, its connection string from the environment
variable the config's ``dsn_env`` names."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from actors.cli.run import DEFAULT_DATA_DIR
from actors.cli.user_error import UserError
from actors.config_files import load_config
from actors.runtime.persistence.source import SqliteSource, StoreSource, store_source
from actors.runtime.persistence.store import StoreError
from actors.runtime.system import STORE_FILE
from actors.system_config import SystemConfig


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", metavar="DIR", help=f"default ${{BASIS_DATA_DIR}} or ./{DEFAULT_DATA_DIR}"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help='a config (TOML) whose [persistence] backend = "postgresql": read that '
        "database instead, its connection string from the environment variable its "
        "dsn_env names",
    )


def store_named(args: argparse.Namespace) -> StoreSource:
    """The store ``args`` name: the PostgreSQL database of ``--config``'s, or else the
    SQLite file in the data directory (which may not be there). A :class:`UserError`
    where the config's connection string is not in the environment; a
    :class:`~actors.config_files.ConfigError` where the config cannot be read."""
    data_dir = Path(args.data_dir or os.environ.get("BASIS_DATA_DIR") or DEFAULT_DATA_DIR)
    path = data_dir / STORE_FILE
    if args.config is None:
        return SqliteSource(path)
    config = load_config(args.config, SystemConfig)
    if config.persistence.backend != "postgresql":
        return SqliteSource(path)
    try:
        return store_source(config, path)
    except StoreError as error:
        raise UserError(str(error)) from None
