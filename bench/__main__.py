"""Run every benchmark in turn: ``make bench`` or ``.venv/bin/python -m bench``."""

import trio

from bench import supervision_bench

for module in (supervision_bench,):
    trio.run(module.main)
    print()
