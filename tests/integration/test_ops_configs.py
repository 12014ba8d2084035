"""What ``configs/`` ships for operators holds: the systemd units start valid ``basis``
commands with the settings they promise, and every Prometheus alerting rule is well formed
and names only metrics a running instance's ``/metrics`` really exports."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from actors.cli.main import build_parser
from actors.cli.run import command_run
from actors.cli.watchdog import command_watchdog
from actors.config_files import load_config
from actors.system_config import SystemConfig

ROOT = Path(__file__).parents[2]
BASIS = [sys.executable, "-m", "actors.cli"]
RULES = ROOT / "configs" / "prometheus" / "basis-alerts.yml"
UNITS = ROOT / "configs" / "systemd"

PROMETHEUS_MADE = {"up"}
"""Series Prometheus writes itself for every scrape target."""


# ---------------------------------------------------------------- the rules file's YAML


def yaml_subset(text: str) -> object:
    """The rules file read as YAML, for the part of YAML it uses: block mappings and
    sequences by indentation, plain and double-quoted scalars, whole-line comments.
    Anything else (flow collections, anchors, block scalars, tabs) is refused, so that
    the file stays within what this reads correctly."""
    lines: list[tuple[int, str, int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw:
            raise ValueError(f"line {number}: a tab")
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((len(raw) - len(raw.lstrip(" ")), stripped, number))

    def scalar(token: str, number: int) -> object:
        if token.startswith('"'):
            if not token.endswith('"') or len(token) < 2:
                raise ValueError(f"line {number}: an unclosed string")
            return json.loads(token)
        if token[0] in "[{&*|>'!%@`" or " #" in token:
            raise ValueError(f"line {number}: {token!r} is beyond the subset")
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if re.fullmatch(r"-?\d+\.\d*", token):
            return float(token)
        return token

    def block(at: int, indent: int) -> tuple[object, int]:
        if lines[at][1].startswith("- "):
            items = []
            while at < len(lines) and lines[at][0] == indent and lines[at][1].startswith("- "):
                _, content, number = lines[at]
                lines[at] = (indent + 2, content[2:].lstrip(), number)
                item, at = block(at, indent + 2)
                items.append(item)
            return items, at
        mapping: dict[str, object] = {}
        while at < len(lines) and lines[at][0] == indent and not lines[at][1].startswith("- "):
            _, content, number = lines[at]
            key, colon, rest = content.partition(":")
            if not colon or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"line {number}: expected 'key: value', got {content!r}")
            if key in mapping:
                raise ValueError(f"line {number}: {key!r} twice")
            rest = rest.strip()
            at += 1
            if rest:
                mapping[key] = scalar(rest, number)
            elif at < len(lines) and lines[at][0] > indent:
                mapping[key], at = block(at, lines[at][0])
            elif at < len(lines) and lines[at][0] == indent and lines[at][1].startswith("- "):
                mapping[key], at = block(at, indent)
            else:
                raise ValueError(f"line {number}: {key!r} has no value")
        return mapping, at

    value, end = block(0, lines[0][0])
    if end != len(lines):
        raise ValueError(f"line {lines[end][2]}: indentation does not match any block")
    return value


def test_the_subset_reader_reads_yaml_as_yaml_and_refuses_the_rest():
    text = 'a:\n  - x: 1\n    y: "q: \\"z\\""\n  - x: up == 0\nb: c\n'
    assert yaml_subset(text) == {"a": [{"x": 1, "y": 'q: "z"'}, {"x": "up == 0"}], "b": "c"}
    for beyond in ("a: [1, 2]\n", "a: &x 1\n", "a: |\n  text\n", "a:\n\t- 1\n", "a: 1\n a: 2\n"):
        with pytest.raises(ValueError):
            yaml_subset(beyond)


def rules() -> list[dict]:
    document = yaml_subset(RULES.read_text())
    assert isinstance(document, dict) and list(document) == ["groups"]
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_well_formed():
    found = rules()
    assert len(found) >= 8
    names = [rule["alert"] for rule in found]
    assert len(names) == len(set(names))
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Basis[A-Z][A-Za-z]+", rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(")")
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert set(rule["annotations"]) == {"summary", "description"}
    severities = {rule["alert"]: rule["labels"]["severity"] for rule in found}
    assert severities["BasisDown"] == severities["BasisFailing"] == "critical"


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads (not its functions, keywords, labels)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function
        if match.group() not in {"and", "or", "unless", "bool", "offset"}:
            names.add(match.group())
    return names


def test_the_expression_reader_finds_series_only():
    expr = 'histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="b c"}[5m]))) > 0.1 and on(i) d'
    assert metric_names(expr) == {"a_bucket", "d"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_rule_names_only_metrics_a_running_instance_exports(tmp_path):
    port = free_port()
    config = tmp_path / "basis.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[http]\nport = {port}\n[sim]\nseed = 3\n')
    process = subprocess.Popen(
        [*BASIS, "run", str(config), "--data-dir", str(tmp_path / "data"), "--no-view"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        lines: list[str] = []
        while not any("status on http://127.0.0.1:" in line for line in lines):
            assert process.poll() is None, lines
            lines.append(process.stderr.readline())
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        process.terminate()
        process.communicate(timeout=30)
    exported = {
        sample.name
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
    }
    assert "basis_decision_lag_seconds_bucket" in exported
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, rule["expr"]
        assert names <= exported | PROMETHEUS_MADE, (rule["alert"], names - exported)


# ------------------------------------------------------------------------ systemd units


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def basis_command(exec_start: str):
    argv = shlex.split(exec_start)
    assert Path(argv[0]).name == "basis" and argv[0].startswith("/"), argv
    return build_parser().parse_args(argv[1:])


def test_the_basis_unit_runs_basis_run_and_stops_it_gracefully():
    service = unit("basis.service")["Service"]
    args = basis_command(service["ExecStart"])
    assert args.handler is command_run
    assert args.config and args.data_dir and args.no_view
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"
    assert service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["WorkingDirectory"].startswith("/") and service["User"]
    # Time for a graceful stop: every leg in flight may take its timeout, twice over
    # (the order, then its lookup), before the store's last write.
    strategy = SystemConfig().strategy
    assert int(service["TimeoutStopSec"]) >= 4 * strategy.leg_timeout_s + 10


def test_the_watchdog_unit_runs_basis_watchdog_apart_from_basis():
    parsed = unit("basis-watchdog.service")
    service = parsed["Service"]
    args = basis_command(service["ExecStart"])
    assert args.handler is command_watchdog
    assert args.config == basis_command(unit("basis.service")["Service"]["ExecStart"]).config
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"].startswith("/etc/") and service["User"]
    # It must outlive the instance it watches.
    for binding in ("Requires", "BindsTo", "PartOf"):
        assert binding not in parsed["Unit"]
    assert "StateDirectory" not in service


def test_the_cluster_unit_runs_each_instance_on_its_own_config_and_data_directory():
    service = unit("basis-cluster@.service")["Service"]
    args = basis_command(service["ExecStart"].replace("%i", "east-1"))
    assert args.handler is command_run
    assert args.config == "/etc/basis/cluster-east-1.toml"
    assert args.data_dir == "/var/lib/basis/east-1" and args.no_view
    # Restarted like basis.service, and given as long to stop (and hand its leases back).
    alone = unit("basis.service")["Service"]
    for key in ("Restart", "RestartPreventExitStatus", "KillSignal", "TimeoutStopSec"):
        assert service[key] == alone[key]


def test_the_cluster_example_is_an_instance_of_a_cluster_on_postgresql():
    config = load_config(ROOT / "configs" / "cluster.example.toml", SystemConfig)
    assert config.mode == "live" and config.persistence.backend == "postgresql"
    assert config.cluster is not None and config.cluster.name == "east-1"
    assert config.cluster.renew_s * 3 <= config.cluster.lease_ttl_s
    assert len(config.symbols) > 1
