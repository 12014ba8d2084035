"""Run every benchmark in turn: ``make bench`` or ``.venv/bin/python -m bench``."""

import trio

from bench import sim_bench, supervision_bench

for module in (supervision_bench, sim_bench):
    trio.run(module.main)
    print()
