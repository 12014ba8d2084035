"""``basis risk``: its arguments, and each mistake one line with exit 2 before anything
is asked of an instance."""

from __future__ import annotations

import socket

import pytest

from actors.cli.main import build_parser, main
from actors.runtime.ops.control_endpoints import CONTROL_TOKEN_ENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(capsys, *args: str) -> tuple[int, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own mistakes
        code = exit_.code
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_the_actions_and_their_arguments_parse():
    parser = build_parser()
    halt = parser.parse_args(["risk", "halt", "--reason", "maintenance", "--port", "8800"])
    assert (halt.risk_action, halt.reason, halt.port) == ("halt", "maintenance", 8800)
    status = parser.parse_args(["risk", "status", "--config", "basis.toml"])
    assert (status.risk_action, status.config) == ("status", "basis.toml")
    resume = parser.parse_args(["risk", "resume"])
    assert not hasattr(resume, "reason")  # a resume needs no reason


def test_the_help_says_what_each_mode_means_and_that_resume_lifts_a_stop(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["risk", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "reducing: no new entries" in text
    assert "halted: nothing new is placed" in text
    assert "high-water mark starts from the P&L now" in text


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["risk"], {}, "the following arguments are required: ACTION"),
        (["risk", "pause"], {}, "invalid choice: 'pause'"),
        (["risk", "halt", "--port", "70000"], {}, "0-65535"),
        (["risk", "halt", "--port", "0"], {CONTROL_TOKEN_ENV: "t"}, "--port 0 names no instance"),
        (["risk", "resume", "--port", "PORT"], {}, f"{CONTROL_TOKEN_ENV} is not set"),
        (["risk", "reduce", "--port", "PORT"], {CONTROL_TOKEN_ENV: "t"}, "start basis run first"),
        (["risk", "status", "--port", "PORT"], {}, "no instance answers"),
    ],
)
def test_a_mistake_is_one_line_with_exit_2(capsys, monkeypatch, args, env, says):
    monkeypatch.delenv(CONTROL_TOKEN_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    port = str(free_port())
    code, err = run(capsys, *[port if a == "PORT" else a for a in args])
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("basis")
    assert says in line
