"""Run every benchmark in turn: ``make bench`` or ``.venv/bin/python -m bench``."""

import trio

from bench import (
    backtest_bench,
    chaos_bench,
    dashboard_bench,
    feed_bench,
    persistence_bench,
    sim_bench,
    stress_bench,
    supervision_bench,
    tick_bench,
)

trio.run(supervision_bench.main)
print()
backtest_bench.main()
print()
sim_bench.main()
print()
trio.run(feed_bench.main)
print()
trio.run(tick_bench.main)
print()
trio.run(stress_bench.main)
print()
trio.run(persistence_bench.main)
print()
trio.run(chaos_bench.main)
print()
dashboard_bench.main()
