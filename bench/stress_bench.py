"""The stress demo's figures: 200 strategies at 20 quotes/s per leg (8,000 quotes/s)
against the simulated venues, which run in a process of their own so that the trading
process's CPU is read apart from theirs. It prints the quotes received, the decision lag
and journal commit p99, the CPU of each process (per 1,000 quotes too) and every group of
mailboxes' peak depth over the run and over its last quarter (growth shows there).

Run: ``.venv/bin/python -m bench.stress_bench``
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import trio

from actors.cli.demo import stress

STRATEGIES = 200
SECONDS = 60.0


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as data_dir:
        print(await stress(STRATEGIES, SECONDS, Path(data_dir)))


if __name__ == "__main__":
    trio.run(main)
