"""``basis sim`` as a user or the trading process runs it: a real process that announces
its URLs on one JSON line, serves until SIGTERM, and reads its ``[sim]`` config."""

from __future__ import annotations

import functools
import signal
import socket
import subprocess

import httpx
import msgspec
import trio

from actors.sim import SimUrls
from actors.venues.mexc import MexcRouterCodec
from actors.venues.rest import RestClient
from protocols.model import Leg, Order, Side, Symbol
from protocols.venue import ApiCredentials, BadCredentials
from tests.integration.sim_process import BASIS, STARTUP_S, read_line
from tests.venue_wire import mexc as mexc_wire

from .support import WAIT_S, now

BTC = Symbol("BTC", "USDT")


async def test_basis_sim_announces_serves_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text(
        '[sim]\nseed = 3\n[sim.spot]\napi_key = "cli-key"\napi_secret = "cli-secret"\n'
    )
    command = [*BASIS, "sim", "--config", str(config), "--seed", "4"]
    with (tmp_path / "stderr.log").open("wb") as log:
        run = functools.partial(
            trio.run_process, command, stdout=subprocess.PIPE, stderr=log, check=False
        )
        async with trio.open_nursery() as nursery:
            process = await nursery.start(run)
            with trio.fail_after(STARTUP_S):
                urls = msgspec.json.decode(await read_line(process.stdout), type=SimUrls)
            assert urls.mexc_ws.startswith("ws://127.0.0.1:") and urls.mexc_ws.endswith("/ws")
            with trio.fail_after(WAIT_S):
                ledger = await place_and_read_the_ledger(urls)
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(WAIT_S):
                await process.wait()
    assert ledger["mexc"][0]["order"]["client_id"] == "cli-1"
    assert process.returncode == 0
    assert "SIGTERM received: stopping" in (tmp_path / "stderr.log").read_text()


async def place_and_read_the_ledger(urls: SimUrls) -> dict:
    """Buy at the ask with the configured credentials (others are refused), then read
    the ledger from the control API."""
    async with RestClient(urls.mexc_rest) as rest:
        ticker = await rest.send(mexc_wire.book_ticker_request(BTC))
        ask = mexc_wire.parse_book_ticker(ticker.body, now()).ask
        router = MexcRouterCodec(ApiCredentials("cli-key", "cli-secret"))
        order = Order("cli-1", Leg.SPOT, BTC, Side.BUY, 0.0001, ask)
        placed = await rest.send(router.place(order, None, now()))
        assert placed.status == 200, placed.body
        stranger = MexcRouterCodec(ApiCredentials("sim-key", "sim-secret"))
        refused = await rest.send(stranger.query(BTC, "cli-1", None, now()))
        assert isinstance(stranger.error(refused, now()), BadCredentials)
    async with httpx.AsyncClient(base_url=urls.control) as control:
        return (await control.get("/ledger")).json()


def test_a_config_mistake_names_the_file_and_the_key(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text('[sim.spot]\napi_kee = "x"\n')
    result = subprocess.run(
        [*BASIS, "sim", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"{config}: unknown key 'sim.spot.api_kee'" in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_reported():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*BASIS, "sim", "--mexc-port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert f"basis sim: cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "choose another port, or 0 for any free one" in result.stderr


def test_help_names_the_command_with_an_example():
    result = subprocess.run([*BASIS, "sim", "--help"], capture_output=True, text=True, check=True)
    assert "--control-port" in result.stdout
    assert "Example: basis sim" in result.stdout
