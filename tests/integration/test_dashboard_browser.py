"""The dashboard in a real browser (headless Chromium): one paper ``basis run`` with its
dashboard on (the tests play its simulated market and read the venues' ledgers through
their control API), and one signed-in page for the module.

What it shows: a fill appears within a second with no reload; every number on the page
equals ``/status`` (the market held still), also after the event stream is cut and
reconnects without a gap; pause stops entries and resume restarts them; a quarantine
resolved from the page is resolved in the store; without the password only the login
page is served, and a POST from another origin is refused. The tests run in the file's
order on the one instance: the last stops it from the page."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, sync_playwright

from actors.arbitrage.context import ArbitrageState, Positions, new_context
from actors.dashboard.auth import make_hash
from actors.runtime.persistence.store import SnapshotRecord, Store
from protocols.model import LegPosition, Symbol
from tests.integration.chromium import launch
from tests.integration.test_cli_controls import BASIS, ROOT

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
QUARANTINED = "ETH/USDT"
SYMBOLS = ("BTC/USDT", QUARANTINED, "SOL/USDT")


@attrs.frozen
class Instance:
    process: subprocess.Popen
    control: str
    """The simulated venues' control API."""
    status: str
    """The status port's ``/status``."""
    dashboard: str
    data_dir: Path
    log: Path

    def status_now(self) -> dict[str, Any]:
        return httpx.get(self.status, timeout=5).json()

    def task(self, symbol: str) -> dict[str, Any] | None:
        tasks = self.status_now()["tasks"]
        return next((t for t in tasks if t["symbol"] == symbol and t["state"] != "stopped"), None)

    def ledger_fills(self) -> list[dict[str, Any]]:
        ledger = httpx.get(f"{self.control}/ledger", timeout=10).json()
        return [
            e["fill"] for venue in ledger.values() for e in venue if e["type"] == "FillExecuted"
        ]


def quarantine_in_store(data_dir: Path) -> None:
    """A stored record of ETH/USDT that the venues contradicted, as recovery leaves it:
    the instance holds the symbol out of trading until it is resolved."""
    ctx = new_context("eth_q1", Symbol("ETH", "USDT"), now=1.0).evolve(
        state=ArbitrageState.POSITION_OPEN,
        positions=Positions(LegPosition(0.06, 3_000.0), LegPosition(0.06, 3_010.0)),
    )
    record = SnapshotRecord(
        "eth_q1", ctx.task_type, QUARANTINED, "position_open", msgspec.json.encode(ctx), 1.0, False
    )
    with Store(data_dir / "basis.db") as store:
        store.write_batch([record], [], [])
        store.quarantine("eth_q1", "contradicts the venues: a test", None, QUARANTINED)


def wait_until(predicate, timeout_s: float = 20.0, every_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        found = predicate()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(every_s)


CONFIG = f"""mode = "paper"
symbols = {json.dumps(SYMBOLS)}
[strategy]
base_position_size_usdt = 200.0
max_entry_cost_pct = -0.5      # enter only on a premium the tests play
[paper]
dislocations_per_hour = 0.0    # the market moves, but jumps only when told
[http]
port = 0
[dashboard]
enable = true
port = 0
"""


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    folder = tmp_path_factory.mktemp("dashboard")
    data_dir = folder / "data"
    quarantine_in_store(data_dir)
    config = folder / "paper.toml"
    config.write_text(CONFIG)
    log = folder / "basis.log"
    env = {**os.environ, "BASIS_DASHBOARD_PASSWORD_HASH": make_hash(PASSWORD)}
    with log.open("a") as stderr:
        process = subprocess.Popen(
            [*BASIS, "run", str(config), "--data-dir", str(data_dir), "--no-view"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            cwd=ROOT,
        )
    try:

        def serving() -> tuple[str, str, str] | None:
            text = log.read_text()
            assert process.poll() is None, text
            found = [
                re.search(pattern, text)
                for pattern in (
                    r"control API on (http://127\.0\.0\.1:\d+)",
                    r"status on (http://127\.0\.0\.1:\d+/status)",
                    r"dashboard on (http://127\.0\.0\.1:\d+)/",
                )
            ]
            return tuple(f.group(1) for f in found) if all(found) else None

        control, status, dashboard = wait_until(serving, timeout_s=60)
        running = Instance(process, control, status, dashboard, data_dir, log)
        wait_until(lambda: running.task("BTC/USDT") and running.task("SOL/USDT"), timeout_s=30)
        yield running
        assert PASSWORD not in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def sign_in(page: Page, instance: Instance) -> None:
    page.goto(f"{instance.dashboard}/login")
    page.fill("input[name=who]", "tester")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{instance.dashboard}/")


@pytest.fixture(scope="module")
def page(browser: Browser, instance: Instance) -> Iterator[Page]:
    """The dashboard signed in, on a phone's width; what went wrong in it is checked at
    the end of the module (script errors, anything CSP refused)."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def console(message: ConsoleMessage) -> None:
        # A control the instance refuses is answered 4xx, and a stream cut or an instance
        # stopped fails the stream's requests until it is back: the browser logs both.
        expected = ("/api/control/", "/events")
        if message.type == "error" and not any(p in message.location["url"] for p in expected):
            problems.append(f"console: {message.text} ({message.location['url']})")

    page.on("console", console)
    sign_in(page, instance)
    page.wait_for_function("() => window.basis.connected && window.basis.model !== null")
    yield page
    context.close()
    assert problems == []


# --------------------------------------------------------------- what the page shows


def formatted(value: Any, decimals: int, unit: str) -> str:
    """A number as the page writes it (app.js ``fmt``): fixed decimals rounded half away
    from zero, thousands grouped with commas, then the unit."""
    if value is None:
        return "—"
    if unit == "time":
        return datetime.fromtimestamp(int(value // 1), UTC).strftime("%H:%M:%S")
    if unit == "rate%":
        value, unit = value * 100, "%"
    places = Decimal(1).scaleb(-decimals)
    text = f"{Decimal(value).quantize(places, rounding=ROUND_HALF_UP):,}"
    return f"{text} {unit}" if unit else text


KEYS = ("task_id", "fill_id", "client_id", "name", "cap", "symbol", "id", "key")
"""What names an element of a list in a ``data-path``: ``tasks.btc_x1.qty`` is the task
whose ``task_id`` is ``btc_x1``."""


def at_path(status: Any, path: str) -> Any:
    here = status
    for part in path.split("."):
        if isinstance(here, list):
            matches = [item for item in here if any(item.get(k) == part for k in KEYS)]
            assert len(matches) == 1, f"{path}: {part} names {len(matches)} items"
            here = matches[0]
        else:
            assert part in here, f"{path}: no {part}"
            here = here[part]
    return here


MOVING = ("last_data_age_s",)
"""Numbers that change at every sample whether or not anything happens."""


def shown_numbers(page: Page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "[data-path]",
        """els => els.map(e => ({path: e.dataset.path, value: e.dataset.value,
            decimals: e.dataset.decimals, unit: e.dataset.unit, text: e.textContent}))""",
    )


def differences(page: Page, status: dict[str, Any]) -> list[str]:
    """Where the page differs from ``status``: every number (its value and its text) and
    every task's state; empty when they agree."""
    found = []
    for shown in shown_numbers(page):
        path, value = shown["path"], json.loads(shown["value"])
        text = formatted(value, int(shown["decimals"]), shown["unit"])
        if shown["text"] != text:
            found.append(f"{path}: shows {shown['text']!r} for {value!r}, not {text!r}")
        if path.endswith(MOVING):
            continue
        expected = at_path(status, path)
        if value != expected:
            found.append(f"{path}: page {value!r}, /status {expected!r}")
    cards = sorted(
        page.eval_on_selector_all(
            "article.card", "els => els.map(e => [e.dataset.taskId, e.dataset.state])"
        )
    )
    states = sorted([t["task_id"], t["state"]] for t in status["tasks"])
    if cards != states:
        found.append(f"states: page {cards}, /status {states}")
    return found


def agrees_with_status(page: Page, instance: Instance, timeout_s: float = 5.0) -> int:
    """Waits for the page to equal ``/status`` (it follows within a sample or two) and
    returns how many numbers it compared; fails naming what still differs."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = instance.status_now()
        found = differences(page, status)
        if not found:
            return len(shown_numbers(page))
        if time.monotonic() > deadline:
            pytest.fail("the page differs from /status:\n" + "\n".join(found[:30]))
        time.sleep(0.2)


def hold_the_market(instance: Instance, seconds: float) -> None:
    held = httpx.post(f"{instance.control}/hold", json={"seconds": seconds}, timeout=5)
    assert held.status_code == 200, held.text


def seqs(page: Page) -> list[int]:
    return page.evaluate("window.basis.seqs")


def confirm(page: Page, button: Locator, says: str) -> str:
    """Clicks ``button``, checks that the dialog says ``says``, confirms, and returns the
    instance's answer as the dialog shows it."""
    button.click()
    dialog = page.locator("dialog#confirm")
    assert says in dialog.inner_text()
    page.click("#confirm-ok")
    answer = page.locator("#confirm-answer:not([data-outcome=waiting])")
    answer.wait_for(timeout=15_000)
    text = answer.inner_text()
    page.click("#confirm-cancel")
    return text


def card(page: Page, symbol: str) -> Locator:
    return page.locator("article.card", has=page.locator("h3", has_text=symbol)).filter(
        has_not=page.locator('.state-badge[data-state="stopped"]')
    )


# ----------------------------------------------------------------------------- tests


def test_without_the_password_only_the_login_page_is_served(browser: Browser, instance) -> None:
    url = instance.dashboard
    with httpx.Client(base_url=url, timeout=5) as client:
        root = client.get("/")
        assert root.status_code == 303 and root.headers["location"].endswith("/login")
        for path in ("/events", "/api/history?minutes=60"):
            assert client.get(path).status_code == 401, path
        assert client.get("/static/app.js").status_code != 200
        assert client.get("/static/login.css").status_code == 200
        login = client.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        assert "default-src 'self'" in login.headers["content-security-policy"]
        # Not no-referrer: under it a browser sends "Origin: null" with the page's POSTs.
        assert login.headers["referrer-policy"] == "same-origin"
        unsigned = client.post(
            "/api/control/pause", json={"symbol": None, "confirmed": True}, headers={"Origin": url}
        )
        assert unsigned.status_code == 401

        wrong = client.post("/login", data={"password": "not it"}, headers={"Origin": url})
        assert wrong.status_code == 401 and 'name="password"' in wrong.text
        signed = client.post("/login", data={"password": PASSWORD}, headers={"Origin": url})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert client.get("/api/history?minutes=1").status_code == 200  # the session works

        body = {"symbol": "BTC/USDT", "confirmed": True}
        for origin in ({"Origin": "http://evil.example"}, {}):
            refused = client.post("/api/control/pause", json=body, headers=origin)
            assert refused.status_code == 403, origin
        unconfirmed = client.post(
            "/api/control/pause", json={"symbol": "BTC/USDT"}, headers={"Origin": url}
        )
        assert unconfirmed.status_code == 400
    assert instance.task("BTC/USDT")["paused_reason"] is None  # nothing refused was done

    context = browser.new_context(viewport=PHONE)
    try:
        stranger = context.new_page()
        stranger.goto(f"{url}/")
        assert stranger.url == f"{url}/login"
        assert stranger.locator("input[name=password]").count() == 1
        assert stranger.locator("#tasks").count() == 0
        answer = stranger.request.get(f"{url}/events")
        assert answer.status == 401

        sign_in(stranger, instance)  # in, and out again by the page's button
        stranger.click("form.logout button")
        stranger.wait_for_url(f"{url}/login")
        stranger.goto(f"{url}/")
        assert stranger.url == f"{url}/login"
    finally:
        context.close()


def test_a_fill_played_on_the_venue_appears_on_the_page_within_a_second(page, instance) -> None:
    before = {(f["venue"], f["trade_id"]) for f in instance.ledger_fills()}
    played_at = time.time()
    played = httpx.post(
        f"{instance.control}/dislocate", json={"symbol": "BTC/USDT", "size": 0.012}, timeout=5
    )
    assert played.status_code == 200, played.text

    def new_spot_fill() -> dict[str, Any] | None:
        fills = [
            f
            for f in instance.ledger_fills()
            if (f["venue"], f["trade_id"]) not in before and f["venue"] == "mexc"
        ]
        return fills[0] if fills else None

    fill = wait_until(new_spot_fill, timeout_s=20, every_s=0.02)
    seen_on_venue = time.time()
    fill_id = f"{fill['client_id']}:{fill['trade_id']}"  # FillOut.fill_id
    page.locator(f'#fills tr[data-fill-id="{fill_id}"]').wait_for(timeout=1000)  # no reload
    received = page.evaluate("id => window.basis.fillSeenAt[id]", fill_id)
    assert received - fill["ts"] < 1.0, (received, fill["ts"], seen_on_venue)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    wait_until(lambda: instance.task("BTC/USDT")["state"] == "position_open", timeout_s=20)
    # The chart marks the entry where the transition into the position fell.
    page.wait_for_function(
        "t => window.basis.marks('BTC/USDT').some(([ts, kind]) => kind === 'entry' && ts >= t)",
        arg=played_at,
        timeout=2000,
    )


def test_pause_stops_entries_and_resume_restarts_them(page, instance) -> None:
    sol = card(page, "SOL/USDT")
    answer = confirm(page, sol.locator("button", has_text="Pause"), "takes no new entry")
    assert answer.startswith("paused SOL/USDT"), answer
    wait_until(lambda: instance.task("SOL/USDT")["paused_reason"] is not None)
    sol.locator("button", has_text="Resume").wait_for(timeout=2000)

    def sol_fills() -> int:
        return sum(1 for f in instance.ledger_fills() if f["symbol"]["base"] == "SOL")

    fills = sol_fills()
    httpx.post(f"{instance.control}/dislocate", json={"symbol": "SOL/USDT", "size": 0.012})
    time.sleep(0.5)  # the premium is there; a strategy free to enter would have by now
    assert sol_fills() == fills
    assert instance.task("SOL/USDT")["state"] in ("monitoring", "paused")

    answer = confirm(page, sol.locator("button", has_text="Resume"), "may enter again")
    assert answer.startswith("resumed SOL/USDT"), answer
    httpx.post(f"{instance.control}/dislocate", json={"symbol": "SOL/USDT", "size": 0.012})
    wait_until(lambda: sol_fills() > fills, timeout_s=15)
    with Store(instance.data_dir / "basis.db") as store:
        actions = [(a.action, a.symbol, a.who) for a in store.operator_actions()]
    assert [a[:2] for a in actions[-2:]] == [("pause", "SOL/USDT"), ("resume", "SOL/USDT")]
    assert all(a[2].startswith("tester via the dashboard from 127.0.0.1") for a in actions[-2:])


def test_a_quarantine_resolved_from_the_page_is_resolved_in_the_store(page, instance) -> None:
    held = page.locator(f'#quarantine li[data-symbol="{QUARANTINED}"]')
    held.wait_for(timeout=2000)
    answer = confirm(page, held.locator("button[data-resolve=forget]"), "dropped")
    assert "the venues untouched" in answer, answer
    with Store(instance.data_dir / "basis.db") as store:
        assert [q.symbol for q in store.quarantined()] == []
    held.wait_for(state="detached", timeout=2000)
    wait_until(lambda: instance.task(QUARANTINED) is not None)  # a new task trades it
    card(page, QUARANTINED).wait_for(timeout=2000)


STALE_MS = 2500
"""The silence that ends a connection in these tests (``window.basis.staleMs``; the page's
own is longer): more than the 2 s between keep-alives, with room for a loaded machine."""


def test_a_silent_stream_is_cut_and_reconnected_by_the_page(page, instance) -> None:
    """A dead network gives no error: the connection just brings nothing more. The page
    cuts it by itself once nothing (no event, no keep-alive) came for ``staleMs``, says
    so, and opens it again with Last-Event-ID: the replay leaves no gap."""
    opened: list[str | None] = []

    def on_request(request) -> None:
        if request.url.endswith("/events"):
            opened.append(request.headers.get("last-event-id"))

    page.on("request", on_request)
    page_stale_ms = page.evaluate(f"[window.basis.staleMs, window.basis.staleMs = {STALE_MS}][0]")
    try:
        # What the banner and the badge say, as they change.
        page.evaluate("""() => {
            window.said = [];
            for (const id of ['banner', 'connection']) {
                const node = document.getElementById(id);
                const seen = new MutationObserver(() => window.said.push([id, node.textContent]));
                seen.observe(node, {childList: true, characterData: true, subtree: true});
                window.listening = [...(window.listening || []), seen];
            }
        }""")
        snapshots = page.evaluate("window.basis.snapshots")
        run, before = page.evaluate(
            "() => { window.basis.silence(); return [window.basis.run, window.basis.seqs]; }"
        )
        # It is over in a moment (the silence was the wait): what the page said shows it.
        page.wait_for_function(
            "() => window.said.some(([id, text]) => text === 'not answering')",
            timeout=STALE_MS + 3000,
        )
        page.wait_for_function("() => window.basis.connected", timeout=5000)
        said = page.evaluate("window.said")
        assert any("has not answered since" in text for _, text in said), said
        assert page.locator("#banner").is_hidden()
        wait_until(lambda: len(seqs(page)) > len(before) + 5, timeout_s=5)
        after = seqs(page)
        assert after[: len(before)] == before
        assert after == list(range(after[0], after[0] + len(after)))
        assert page.evaluate("window.basis.snapshots") == snapshots  # replayed, not started anew
        assert opened == [f"{run}.{before[-1]}"]  # one attempt, following what was applied
        hold_the_market(instance, 4)
        agrees_with_status(page, instance)
    finally:
        page.remove_listener("request", on_request)
        page.evaluate("() => window.listening.forEach((seen) => seen.disconnect())")
        page.evaluate("ms => { window.basis.staleMs = ms; }", page_stale_ms)


def stream_of(*events: tuple[int, str, Any]) -> str:
    """An event stream as the server writes it, of events ``(seq, kind, data)`` of a run
    called ``made``."""
    return "retry: 1000\n\n" + "".join(
        f"id: made.{seq}\nevent: {kind}\ndata: {json.dumps(data)}\n\n" for seq, kind, data in events
    )


def answer_events(page: Page, answers: list[str | int | None]) -> list[str | None]:
    """Answers the page's requests for /events in turn: a text as the stream's body, a
    number as that status, None by the instance itself (also every request after the
    last answer). Returns the Last-Event-ID of each request, filled as they come."""
    asked: list[str | None] = []

    def events(route) -> None:
        asked.append(route.request.headers.get("last-event-id"))
        answer = answers[len(asked) - 1] if len(asked) <= len(answers) else None
        if answer is None:
            route.continue_()
        elif isinstance(answer, int):
            route.fulfill(status=answer, json={"error": "not signed in"})
        else:
            route.fulfill(status=200, content_type="text/event-stream", body=answer)

    page.route("**/events", events)
    return asked


def test_a_gap_or_an_event_not_applied_starts_again_from_a_snapshot(page, instance) -> None:
    """An event the page cannot apply, or a seq skipped, is not stepped over: the page
    forgets where it was and asks for a fresh snapshot (no Last-Event-ID)."""
    status = instance.status_now()
    at = time.time()
    snapshot = {"run": "made", "at": at, "status": status}
    totals = {"at": at, "totals": status["totals"]}
    no_fill = {"at": at}  # a fill event without its fill
    made = {
        "a seq skipped": stream_of(
            (1, "snapshot", snapshot), (2, "totals", totals), (4, "totals", totals)
        ),
        "an event not applied": stream_of(
            (1, "snapshot", snapshot), (2, "totals", totals), (3, "fill", no_fill)
        ),
    }
    pages = {case: page.context.new_page() for case in made}  # signed in as the module's
    try:
        asked = {case: answer_events(pages[case], [stream]) for case, stream in made.items()}
        for other in pages.values():
            other.goto(f"{instance.dashboard}/")
        for case, other in pages.items():
            other.wait_for_function(
                "() => window.basis.snapshots === 2 && window.basis.connected", timeout=10_000
            )
            assert asked[case] == [None, None], case  # made.2 was not followed
            assert other.evaluate("window.basis.run") != "made", case
            applied = seqs(other)
            assert applied == list(range(applied[0], applied[0] + len(applied))), case
    finally:
        for other in pages.values():
            other.close()


def test_signed_out_the_page_goes_to_the_login_page(page, instance) -> None:
    """The stream ends with ``bye`` "signed out" at a logout or when the session expires,
    and a reconnection is refused 401 once it has: both take the page to /login. A bye for
    any other reason is a stop."""
    for answer in (stream_of((1, "bye", {"reason": "signed out"})), 401):
        other = page.context.new_page()
        try:
            answer_events(other, [answer])
            other.goto(f"{instance.dashboard}/")
            other.wait_for_url(f"{instance.dashboard}/login", timeout=5000)
        finally:
            other.close()
    other = page.context.new_page()
    try:
        answer_events(other, [stream_of((1, "bye", {"reason": "stopping"}))])
        other.goto(f"{instance.dashboard}/")
        other.locator('#banner[data-state="stopped"]').wait_for(timeout=5000)
        assert "(stopping)" in other.inner_text("#banner")
        assert other.url == f"{instance.dashboard}/"
    finally:
        other.close()


def test_a_cut_stream_reconnects_without_a_gap(page, instance) -> None:
    before = seqs(page)
    snapshots = page.evaluate("window.basis.snapshots")
    page.route("**/events", lambda route: route.abort())
    try:
        page.evaluate("window.basis.cut()")
        page.wait_for_function("() => !window.basis.connected")
        assert "Reconnecting since" in page.inner_text("#banner")
        time.sleep(0.6)  # the market moves on while the page is away
    finally:
        page.unroute("**/events")
    page.wait_for_function("() => window.basis.connected", timeout=5000)
    assert page.locator("#banner").is_hidden()
    wait_until(lambda: len(seqs(page)) > len(before) + 5, timeout_s=5)
    after = seqs(page)
    assert after[: len(before)] == before
    assert after == list(range(after[0], after[0] + len(after)))
    assert page.evaluate("window.basis.snapshots") == snapshots  # replayed, not started anew
    hold_the_market(instance, 10)
    agrees_with_status(page, instance)


def test_every_number_on_the_page_equals_status(page, instance) -> None:
    hold_the_market(instance, 30)
    compared = agrees_with_status(page, instance)
    assert compared > 100  # tasks, legs, P&L, totals, fills, caps, the tree
    paths = [n["path"] for n in shown_numbers(page)]
    btc = instance.task("BTC/USDT")["task_id"]
    for field in ("position_qty", "futures_qty", "realized_pnl_usdt", "unrealized_pnl_usdt"):
        assert f"tasks.{btc}.{field}" in paths
    assert "totals.total_pnl_usdt" in paths


def test_on_a_phone_the_page_fits_and_each_symbol_has_its_chart(page, instance) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#charts").scroll_into_view_if_needed()
    for symbol in SYMBOLS:
        canvas = page.locator(f'#charts figure[data-symbol="{symbol}"] canvas')
        canvas.wait_for(timeout=3000)
        box = canvas.bounding_box()
        assert box is not None and 200 <= box["width"] <= PHONE["width"], (symbol, box)


def test_the_risk_mode_set_from_the_page(page, instance) -> None:
    page.select_option("#risk-form select[name=mode]", "reducing")
    page.fill("#risk-form input[name=reason]", "a test")
    answer = confirm(page, page.locator("#risk-form button"), "No new entries")
    assert answer.startswith("risk mode reducing"), answer
    assert instance.status_now()["risk"]["mode"] == "reducing"
    page.locator('#risk .mode-badge[data-mode="reducing"]').wait_for(timeout=1000)
    page.select_option("#risk-form select[name=mode]", "active")
    answer = confirm(page, page.locator("#risk-form button"), "Entries are allowed again")
    assert answer.startswith("risk mode active"), answer


def test_stopped_from_the_page_the_page_says_so(page, instance) -> None:
    answer = confirm(page, page.locator("[data-control=stop]"), "Open positions are kept")
    assert answer.startswith("stopping"), answer
    assert instance.process.wait(timeout=30) == 0
    page.locator('#banner[data-state="stopped"]').wait_for(timeout=2000)
    assert not page.evaluate("window.basis.connected")
    assert page.inner_text("#connection") == "stopped"
