"""`basis state` on a store a run left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]


def basis(*args):
    return subprocess.run([*BASIS, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("state")
    config = data / "basis.toml"
    config.write_text('symbols = ["BTC/USDT", "ETH/USDT"]\n[http]\nport = 0\n')
    run = basis("run", str(config), "--duration", "3", "--data-dir", str(data))
    assert run.returncode == 0, run.stderr
    return data


def test_list_shows_every_task(data_dir):
    listed = basis("state", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0
    assert listed.stdout.startswith("2 active, 0 completed, 0 quarantined")
    assert "BTC/USDT" in listed.stdout and "ETH/USDT" in listed.stdout


def test_show_and_export_give_snapshots_and_orders(data_dir):
    exported = json.loads(basis("state", "export", "--data-dir", str(data_dir)).stdout)
    assert {task["symbol"] for task in exported["tasks"]} == {"BTC/USDT", "ETH/USDT"}
    assert exported["quarantined"] == []
    task_id = exported["tasks"][0]["task_id"]
    shown = json.loads(basis("state", "show", task_id, "--data-dir", str(data_dir)).stdout)
    assert shown["snapshot"]["task_id"] == task_id
    assert all({"client_id", "status", "filled_qty"} <= set(o) for o in shown["orders"])


def test_cleanup_keeps_active_tasks(data_dir):
    done = basis("state", "cleanup", "--max-age-hours", "0.0001", "--data-dir", str(data_dir))
    assert done.stdout.startswith("removed 0 completed task(s)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state", "list", "--data-dir", "/nonexistent"], "no store at /nonexistent/basis.db"),
        (["state", "show"], "name the task"),
        (["state", "show", "nope"], "no task 'nope'"),
        (["state", "cleanup"], "say how old"),
    ],
)
def test_bad_requests_say_what_to_do(data_dir, args, message):
    if "--data-dir" not in args:
        args = [*args, "--data-dir", str(data_dir)]
    result = basis(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_the_instance_id_is_shown_and_is_the_one_the_tasks_trade_under(data_dir):
    exported = json.loads(basis("state", "export", "--data-dir", str(data_dir)).stdout)
    instance = exported["instance"]
    assert len(instance) == 4
    assert {task["snapshot"]["instance"] for task in exported["tasks"]} == {instance}
    listed = basis("state", "list", "--data-dir", str(data_dir)).stdout
    assert listed.splitlines()[1].startswith(f"instance {instance}")
