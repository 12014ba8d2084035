"""The dashboard's cost with 50 symbols trading: the page's first load (time until every
strategy is drawn, bytes transferred) and the event stream (events and bytes per second,
compressed and not), and the CPU of the trading process with nothing connected, with a
stream reader, and with the page open in a browser, measured in the same run.

The simulated venues (``basis sim``, 50 symbols at 20 quotes/s per leg) and ``basis run``
(live mode against them, the dashboard on) run as processes of their own, so that the
trading process's CPU is read from ``/proc`` apart from the venues', the readers' and the
browser's.
Run: ``.venv/bin/python -m bench.dashboard_bench`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from actors.cli.demo import stress_symbols
from actors.dashboard.auth import make_hash

SYMBOLS = 50
PHASE_S = 20.0
WARM_S = 15.0
PASSWORD = "bench password"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CHROMIUM_ARGS += ["--disable-background-networking", "--disable-component-update"]

SIM_CONFIG = f"""mode = "paper"
symbols = {json.dumps(stress_symbols(SYMBOLS))}
[paper]
dislocations_per_hour = 20.0
[sim.servers]
tick_s = 0.05
[sim.spot]
balances = {{ USDT = 60000.0 }}
[sim.futures]
balance_usdt = 60000.0
"""
SIM_KEYS = {"BASIS_SIM_KEY": "sim-key", "BASIS_SIM_SECRET": "sim-secret"}


def live_config(urls: dict[str, str]) -> str:
    return f"""mode = "live"
symbols = {json.dumps(stress_symbols(SYMBOLS))}
status_every_s = 60.0
[venues.spot]
kind = "mexc"
rest_url = "{urls["mexc_rest"]}"
ws_url = "{urls["mexc_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
[venues.futures]
kind = "gateio_futures"
rest_url = "{urls["gateio_rest"]}"
ws_url = "{urls["gateio_ws"]}"
api_key_env = "BASIS_SIM_KEY"
api_secret_env = "BASIS_SIM_SECRET"
[strategy]
base_position_size_usdt = 200.0
cooldown_s = 5.0
[http]
port = 0
[dashboard]
enable = true
port = 0
"""


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start(folder: Path) -> tuple[subprocess.Popen, subprocess.Popen, str]:
    """The simulated venues, and ``basis run`` against them: both processes, and the
    dashboard's address."""
    basis = [sys.executable, "-m", "actors.cli"]
    (folder / "sim.toml").write_text(SIM_CONFIG)
    sim = subprocess.Popen(
        [sys.executable, "-m", "bench.paper_venues", str(folder / "sim.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sim.stdout is not None
    urls = json.loads(sim.stdout.readline())
    config = folder / "bench.toml"
    config.write_text(live_config(urls))
    log = folder / "basis.log"
    env = {**os.environ, **SIM_KEYS, "BASIS_DASHBOARD_PASSWORD_HASH": make_hash(PASSWORD)}
    with log.open("a") as stderr:
        process = subprocess.Popen(
            [*basis, "run", str(config), "--data-dir", str(folder / "data"), "--no-view"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"dashboard on (http://127\.0\.0\.1:\d+)/", log.read_text())
        if found:
            return sim, process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    sim.kill()
    raise SystemExit(f"basis run did not serve its dashboard:\n{log.read_text()}")


def signed_in(base: str) -> httpx.Client:
    web = httpx.Client(base_url=base, timeout=10)
    reply = web.post("/login", data={"password": PASSWORD}, headers={"Origin": base})
    assert reply.status_code == 303, reply.text
    return web


def idle(pid: int) -> float:
    """Percent of one core the process used over a phase with nothing connected."""
    before, at = cpu_s(pid), time.monotonic()
    time.sleep(PHASE_S)
    return (cpu_s(pid) - before) / (time.monotonic() - at) * 100


def stream(pid: int, base: str, encoding: str) -> dict[str, float]:
    """A stream read for a phase with ``Accept-Encoding: encoding``: the snapshot's size,
    events, wire and decoded bytes per second after it, and the process's CPU."""
    web = signed_in(base)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    wire = decoded = events = 0
    snapshot_wire = snapshot_decoded = 0
    headers = {"Accept-Encoding": encoding}
    with web.stream("GET", "/events", headers=headers, timeout=None) as reply:
        chunks = reply.iter_raw()
        text = b""
        while b"event: snapshot" not in text or not text.endswith(b"\n\n"):
            chunk = next(chunks)
            snapshot_wire += len(chunk)
            text += inflate.decompress(chunk) if inflate else chunk
        snapshot_decoded = len(text)
        before, at = cpu_s(pid), time.monotonic()
        for chunk in chunks:
            wire += len(chunk)
            data = inflate.decompress(chunk) if inflate else chunk
            decoded += len(data)
            events += data.count(b"\nevent: ")
            if time.monotonic() - at >= PHASE_S:
                break
        elapsed = time.monotonic() - at
        cpu = cpu_s(pid) - before
    web.close()
    return {
        "snapshot_wire": snapshot_wire,
        "snapshot_decoded": snapshot_decoded,
        "events_s": events / elapsed,
        "wire_s": wire / elapsed,
        "decoded_s": decoded / elapsed,
        "cpu_pct": cpu / elapsed * 100,
    }


def signed_in_page(browser: Browser, base: str) -> tuple[BrowserContext, Page]:
    """A new browser context (nothing cached) with the dashboard signed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(f"{base}/login")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/")
    return context, tab


def page(pid: int, base: str) -> dict[str, float]:
    """The page: its first load (to every strategy drawn, and bytes moved), then a
    phase with it open."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, chromium_sandbox=False
        )
        loads = []
        for _ in range(3):
            context, tab = signed_in_page(browser, base)
            tab.wait_for_function(
                f"() => document.querySelectorAll('[data-task-id]').length >= {SYMBOLS}"
            )
            # From the password's submission (the navigation the page came with).
            drawn_ms = tab.evaluate("() => performance.now()")
            moved = tab.evaluate(
                """() => performance.getEntriesByType('navigation')
                    .concat(performance.getEntriesByType('resource'))
                    .filter((e) => !e.name.endsWith('/events'))
                    .reduce((sum, e) => sum + e.transferSize, 0)"""
            )
            loads.append((drawn_ms, moved))
            context.close()
        context, tab = signed_in_page(browser, base)
        applied = tab.evaluate("() => window.basis.seqs.length")
        before, at = cpu_s(pid), time.monotonic()
        time.sleep(PHASE_S)
        elapsed = time.monotonic() - at
        cpu = (cpu_s(pid) - before) / elapsed * 100
        applied = (tab.evaluate("() => window.basis.seqs.length") - applied) / elapsed
        browser.close()
    loads.sort()
    return {
        "first_load_ms": loads[len(loads) // 2][0],
        "first_load_bytes": loads[len(loads) // 2][1],
        "cpu_pct": cpu,
        "applied_s": applied,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="basis-dashboard-bench-") as scratch:
        sim, process, base = start(Path(scratch))
        try:
            time.sleep(WARM_S)
            pid = process.pid
            alone = idle(pid)
            gzipped = stream(pid, base, "gzip")
            plain = stream(pid, base, "identity")
            opened = page(pid, base)
            alone_after = idle(pid)
        finally:
            for running in (process, sim):
                running.send_signal(signal.SIGTERM)
                running.wait(timeout=60)
    print(
        "\n".join(
            [
                f"== dashboard: {SYMBOLS} symbols trading at 20 quotes/s per leg, "
                f"phases of {PHASE_S:.0f} s",
                f"  first load: every strategy drawn {opened['first_load_ms']:.0f} ms after "
                f"the password's submission (median of 3, nothing cached), "
                f"{opened['first_load_bytes'] / 1024:.0f} KiB moved before the stream",
                f"  snapshot: {gzipped['snapshot_wire'] / 1024:.1f} KiB gzipped "
                f"({gzipped['snapshot_decoded'] / 1024:.1f} KiB as JSON)",
                f"  stream: {gzipped['events_s']:.0f} events/s, "
                f"{gzipped['wire_s'] / 1024:.1f} KiB/s gzipped, "
                f"{plain['wire_s'] / 1024:.1f} KiB/s plain "
                f"(ratio {plain['wire_s'] / gzipped['wire_s']:.1f}x); the page applied "
                f"{opened['applied_s']:.0f} events/s",
                f"  CPU of basis run (the venues apart): nothing connected "
                f"{alone:.0f}% / {alone_after:.0f}% (before / after) of one core",
                f"    a gzipped stream read: {gzipped['cpu_pct']:.0f}%, a plain stream read: "
                f"{plain['cpu_pct']:.0f}%, the page open: {opened['cpu_pct']:.0f}% "
                f"(+{opened['cpu_pct'] - (alone + alone_after) / 2:.0f} points)",
            ]
        )
    )


if __name__ == "__main__":
    main()
