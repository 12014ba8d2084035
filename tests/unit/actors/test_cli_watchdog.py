"""``basis watchdog``'s mistakes: each exits 2 with one line that names it and the fix."""

from __future__ import annotations

import pytest

from actors.cli.main import build_parser

WEBHOOK = '[alerts.webhook]\nurl = "http://127.0.0.1:9/alerts"\n'


def watchdog(tmp_path, capsys, config: str, *extra: str) -> tuple[int, list[str]]:
    path = tmp_path / "basis.toml"
    path.write_text(config)
    args = build_parser().parse_args(["watchdog", str(path), *extra])
    code = args.handler(args)
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("config", "extra", "named"),
    [
        ("", (), "add [alerts.webhook], [alerts.telegram] or [alerts.discord]"),
        (
            '[alerts.telegram]\nchat_id = 42\ntoken_env = "NO_SUCH_TOKEN_VAR"\n',
            (),
            "$NO_SUCH_TOKEN_VAR",
        ),
        ('[alerts.discord]\nurl_env = "NO_SUCH_URL_VAR"\n', (), "$NO_SUCH_URL_VAR"),
        (WEBHOOK + 'secret_env = "NO_SUCH_KEY_VAR"\n', (), "$NO_SUCH_KEY_VAR"),
        ("[http]\nport = 0\n" + WEBHOOK, (), "give --port or --url"),
        (WEBHOOK, ("--url", "127.0.0.1:8787/health"), "--url expects an http(s) URL"),
        ("[watchdog]\npoll_seconds = 2\n" + WEBHOOK, (), "poll_seconds"),
        ("[watchdog]\nafter_s = 0\n" + WEBHOOK, (), "after_s"),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, config, extra, named):
    for name in ("NO_SUCH_TOKEN_VAR", "NO_SUCH_URL_VAR", "NO_SUCH_KEY_VAR"):
        monkeypatch.delenv(name, raising=False)
    code, err = watchdog(tmp_path, capsys, config, *extra)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("basis watchdog: "), err
    assert named in err[0]


def test_a_bad_port_is_refused_by_the_arguments(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["watchdog", "--port", "http"])
    assert exited.value.code == 2
    assert "expected a port number" in capsys.readouterr().err
