"""The stress demo's figures: 50 strategies at 20 quotes/s per leg against the
simulated venues (in the same process, so their CPU is counted too).

Run: ``.venv/bin/python -m bench.stress_bench``
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import trio

from actors.cli.demo import stress

STRATEGIES = 50
SECONDS = 60.0


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as data_dir:
        print(await stress(STRATEGIES, SECONDS, Path(data_dir)))


if __name__ == "__main__":
    trio.run(main)
