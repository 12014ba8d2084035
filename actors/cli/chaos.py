"""``basis chaos``: the trading system, on the user's configuration, under a fault plan
against the simulated venues; a report of what happened and whether every promise held.

Exit codes: 0 when every invariant held; 4 when one did not (the report says which, with
the seed and the fault timeline to replay it); 2 for bad arguments or a bad config; 3 when
the run itself could not be carried out (the trading process would not start, say).
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
from pathlib import Path

import msgspec
import trio

from actors.chaos import cluster_report
from actors.chaos.cluster import ClusterOptions, MissingDatabase, configured_dsn, run_cluster_chaos
from actors.chaos.db_proxy import UnreachableDsn, upstream_of
from actors.chaos.plan import CLUSTER_SCENARIO, CLUSTER_SUMMARY, SCENARIOS, UnknownScenario
from actors.chaos.report import render
from actors.chaos.runner import ChaosFailed, ChaosOptions, plan_for, run_chaos
from actors.cli.args import positive_seconds
from actors.cli.run import claim_data_dir, load_system_config
from actors.system_config import SystemConfig

log = logging.getLogger("basis.chaos")

EXIT_INVARIANT_BROKEN = 4
"""Not 1, which means only that a supervision tree gave up."""
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3


def add_chaos_commands(commands: argparse._SubParsersAction) -> None:
    chaos = commands.add_parser(
        "chaos",
        help="run the system under venue faults, crashes and kills; check its promises",
        description="Run the trading system on CONFIG (default configs/paper.toml: its "
        "symbols, strategy and feed timings) in a process of its own against the simulated "
        "venues while faults play, then check the invariants against the venues' ledgers. "
        "Several --scenario options play together; the default is 'mixed'.",
        epilog="Scenarios: "
        + "; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values())
        + f"; {CLUSTER_SCENARIO}: {CLUSTER_SUMMARY}"
        + ". Example: basis chaos --duration 120 --scenario flapping-ws-both --seed 7",
    )
    chaos.add_argument("config", nargs="?", metavar="CONFIG", help="system config (TOML)")
    chaos.add_argument(
        "--duration",
        type=positive_seconds,
        required=True,
        metavar="S",
        help="how long faults play (settling and checks follow)",
    )
    chaos.add_argument("--seed", type=int, help="seed of the fault plan and market (default: new)")
    chaos.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, CLUSTER_SCENARIO],
        metavar="NAME",
        help="a scenario to play (repeatable); see below",
    )
    chaos.add_argument("--json", action="store_true", help="print the report as JSON")
    chaos.add_argument(
        "--data-dir", metavar="DIR", help="keep the run's store and logs here (default: temp)"
    )
    chaos.set_defaults(handler=command_chaos)


def command_chaos(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "chaos")
    if config is None:
        return EXIT_BAD_INPUT
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    scenarios = tuple(args.scenario or ["mixed"])
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="basis-chaos-"))
    # Checked, and let go at once: the trading process it starts takes it.
    claim_data_dir(data_dir).close()
    if CLUSTER_SCENARIO in scenarios:
        return _command_cluster(args, config, scenarios, seed, data_dir)
    options = ChaosOptions(scenarios, args.duration, seed, data_dir)
    try:
        plan = plan_for(config, options)
    except UnknownScenario as error:
        print(f"basis chaos: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    log.info(
        "chaos: %d faults from %s over %g s, seed %d; data in %s",
        len(plan),
        ", ".join(scenarios),
        args.duration,
        seed,
        data_dir,
    )
    try:
        report = trio.run(run_chaos, config, options)
    except ChaosFailed as error:
        print(f"basis chaos: the run could not be carried out: {error}", file=sys.stderr)
        print(f"(seed {seed}; the store and logs are in {data_dir})", file=sys.stderr)
        return EXIT_RUN_FAILED
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        print(render(report))
    if report.passed and args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    elif not report.passed:
        print(f"the store and logs of this run are in {data_dir}", file=sys.stderr)
    return 0 if report.passed else EXIT_INVARIANT_BROKEN


def _command_cluster(
    args: argparse.Namespace,
    config: SystemConfig,
    scenarios: tuple[str, ...],
    seed: int,
    data_dir: Path,
) -> int:
    """``basis chaos --scenario cluster``: the cluster's own runner and report."""
    if len(scenarios) > 1:
        print(f"basis chaos: the {CLUSTER_SCENARIO} scenario plays alone", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        dsn = configured_dsn(config)
        upstream_of(dsn)  # one server the proxies can stand in front of
    except (MissingDatabase, UnreachableDsn) as error:
        print(f"basis chaos: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    options = ClusterOptions(args.duration, seed, data_dir)
    log.info(
        "chaos: the cluster scenario over %g s, seed %d; data in %s", args.duration, seed, data_dir
    )
    try:
        report = trio.run(run_cluster_chaos, config, options, dsn)
    except ChaosFailed as error:
        print(f"basis chaos: the run could not be carried out: {error}", file=sys.stderr)
        print(f"(seed {seed}; the instances' logs are in {data_dir})", file=sys.stderr)
        return EXIT_RUN_FAILED
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        print(cluster_report.render(report))
    if report.passed and args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    elif not report.passed:
        print(
            f"the instances' logs of this run are in {data_dir}, its store in the schema "
            f"{report.schema}",
            file=sys.stderr,
        )
    return 0 if report.passed else EXIT_INVARIANT_BROKEN
