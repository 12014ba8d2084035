"""The [dashboard] table: defaults, and bad values named with their fix."""

from __future__ import annotations

import pytest

from actors.config_files import ConfigError, load_config
from actors.dashboard.auth import make_hash
from actors.system_config import SystemConfig


def load(tmp_path, text):
    path = tmp_path / "basis.toml"
    path.write_text(text)
    return load_config(path, SystemConfig)


def test_the_dashboard_is_off_on_loopback_by_default(tmp_path):
    section = load(tmp_path, "").dashboard
    assert (section.enable, section.host, section.port) == (False, "127.0.0.1", 8788)
    assert section.password_hash is None and section.allowed_hosts == ()
    assert (section.sample_s, section.session_hours) == (0.2, 12.0)


def test_the_paper_config_turns_it_on():
    section = load_config("configs/paper.toml", SystemConfig).dashboard
    assert section.enable and section.port == 8788


def test_a_hash_and_hosts_are_taken(tmp_path):
    line = make_hash("pw")
    section = load(
        tmp_path,
        f'[dashboard]\nenable = true\npassword_hash = "{line}"\n'
        'allowed_hosts = ["basis.example.org"]\nport = 0\n',
    ).dashboard
    assert section.password_hash == line and section.allowed_hosts == ("basis.example.org",)
    assert not section.secure_cookie  # plain http unless a TLS proxy is said to be in front


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("enable = 1\n", "dashboard.enable: expected true or false"),
        ("port = 70000\n", "dashboard.port: expected a whole number <= 65535"),
        ("sample_s = 0\n", "dashboard.sample_s: expected a number >= 0.05"),
        ("session_hours = -1\n", "dashboard.session_hours: expected a number > 0"),
        ('password_hash = "hunter2"\n', "make one with basis dashboard hash"),
        (
            f'password_hash = "{make_hash("pw", n=1024)}"\n',
            "N=1024 is too cheap to guess against; N must be at least 16384",
        ),
        ("secure_cookie = 'yes'\n", "dashboard.secure_cookie: expected true or false"),
        ('host = ""\n', "is not an address to listen on"),
        ('allowed_hosts = ["https://x.org"]\n', "without scheme or port"),
        ("pasword_hash = 'x'\n", "unknown key 'dashboard.pasword_hash'"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, "[dashboard]\n" + text)
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "basis.toml"))
