"""``basis dashboard hash``, and how ``basis run`` sets the dashboard up: its password
(the environment's hash, the config's, or paper mode's own kept in the data directory),
its port claimed before anything is written, and the line saying where it is."""

from __future__ import annotations

import argparse
import io
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from actors.cli.dashboard import PASSWORD_FILE, command_hash, configured_hash, dashboard_server
from actors.cli.user_error import UserError
from actors.dashboard.auth import make_hash, parse_hash, verify_password
from actors.dashboard.server import DashboardPortTaken
from actors.system_config import SystemConfig

ROOT = Path(__file__).resolve().parents[2]
BASIS = [sys.executable, "-m", "actors.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NO_DASHBOARD_ENV = {k: v for k, v in ENV.items() if not k.startswith("BASIS_DASHBOARD_")}


def config(**dashboard) -> SystemConfig:
    return msgspec.convert(
        {"http": {"port": 0}, "dashboard": {"enable": True, "port": 0, **dashboard}},
        SystemConfig,
    )


def test_hash_reads_a_line_of_stdin_and_prints_a_hash_of_it(tmp_path):
    result = subprocess.run(
        [*BASIS, "dashboard", "hash"],
        input="s3cret words\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    hashed = parse_hash(line)
    assert line.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret words", hashed) and not verify_password("s3cret", hashed)


def test_hash_refuses_an_empty_password(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    with pytest.raises(UserError, match="the password is empty"):
        command_hash(argparse.Namespace())
    assert capsys.readouterr().out == ""


def test_hash_refuses_a_password_holding_a_nul(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret\x00\n"))
    with pytest.raises(UserError, match="NUL character"):
        command_hash(argparse.Namespace())
    assert capsys.readouterr().out == ""


def test_a_dashboard_port_in_use_ends_the_run_before_anything_is_written(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "basis.toml").write_text(
            f'symbols = ["BTC/USDT"]\n[http]\nport = 0\n[dashboard]\nenable = true\nport = {port}\n'
        )
        result = subprocess.run(
            [*BASIS, "run", str(tmp_path / "basis.toml"), "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=NO_DASHBOARD_ENV,
        )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert f"127.0.0.1:{port} cannot be used" in line and "[dashboard] port" in line
    assert sorted(path.name for path in data.iterdir()) == ["basis.lock"]


def test_a_live_dashboard_needs_a_password_hash():
    live = msgspec.structs.replace(config(), mode="live")
    with pytest.raises(UserError, match=r"BASIS_DASHBOARD_PASSWORD_HASH .*basis dashboard hash"):
        configured_hash(live, {})
    line = make_hash("pw")
    hashed, source = configured_hash(live, {"BASIS_DASHBOARD_PASSWORD_HASH": line})
    assert verify_password("pw", hashed) and source == "the hash in $BASIS_DASHBOARD_PASSWORD_HASH"
    with pytest.raises(UserError, match="BASIS_DASHBOARD_PASSWORD_HASH: not of the form"):
        configured_hash(live, {"BASIS_DASHBOARD_PASSWORD_HASH": "pw"})
    with pytest.raises(UserError, match="N=1024 is too cheap to guess against"):
        configured_hash(live, {"BASIS_DASHBOARD_PASSWORD_HASH": make_hash("pw", n=1024)})
    with pytest.raises(UserError, match="BASIS_DASHBOARD_SECRET has 3 characters"):
        configured_hash(live, {"BASIS_DASHBOARD_SECRET": "abc"})
    # The environment's hash wins over the config's.
    other = make_hash("other")
    both = msgspec.structs.replace(live, dashboard=config(password_hash=other).dashboard)
    assert configured_hash(both, {})[1] == "the hash in [dashboard] password_hash"
    hashed, _ = configured_hash(both, {"BASIS_DASHBOARD_PASSWORD_HASH": line})
    assert verify_password("pw", hashed)


def test_paper_mode_keeps_its_own_password_for_this_user_only(tmp_path):
    made = dashboard_server(config(), tmp_path, {})
    assert made is not None
    server, line = made
    try:
        path = tmp_path / PASSWORD_FILE
        password = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(password) >= 16
        assert verify_password(password, server.security.password)
        assert line == f"dashboard on http://127.0.0.1:{server.port}/ (password: in {path})"
        assert password not in line
    finally:
        server.listener.close()
    again, _ = dashboard_server(config(), tmp_path, {})
    again.listener.close()
    assert path.read_text().strip() == password
    assert verify_password(password, again.security.password)
    assert dashboard_server(config(enable=False), tmp_path, {}) is None


def test_a_port_taken_is_named_with_its_fix():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DashboardPortTaken, match=r"set \[dashboard\] port to a free port"):
            dashboard_server(config(port=port, password_hash=make_hash("x")), Path("."), {})
