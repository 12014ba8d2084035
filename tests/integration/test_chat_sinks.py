"""The Telegram and Discord sinks against fakes of their APIs on 127.0.0.1: delivery,
the length limits, rate limits said as when to try again, refusals said as permanent,
hangs bounded by the timeout, and the token in no log line and no error."""

from __future__ import annotations

import logging

import pytest
import trio

from actors.http_server import HttpRequest, HttpResponse, HttpServer
from actors.runtime.alerts.alert import Alert, DeliveryFailed
from actors.runtime.alerts.chat import (
    DiscordSink,
    MissingSecret,
    TelegramSink,
    chat_sinks,
)
from actors.runtime.alerts.config import AlertsSection, DiscordSinkConfig, TelegramSinkConfig
from tests.integration.alert_receiver import ALERT
from tests.integration.chat_fakes import FakeDiscord, FakeTelegram

TOKEN = "123456:AAF-secret-bot-token"
WEBHOOK_TOKEN = "hook-secret-token-xyz"
WEBHOOK_ID = "778899001122"


def long_alert(detail: str) -> Alert:
    return Alert(**{**{f: getattr(ALERT, f) for f in ALERT.__struct_fields__}, "detail": detail})


async def test_telegram_delivers_the_alert_text_to_the_chat(nursery):
    fake = FakeTelegram(TOKEN)
    url = await nursery.start(fake.serve)
    sink = TelegramSink(TOKEN, 42, api_url=url)
    await sink.send(ALERT)
    assert fake.messages == [("42", ALERT.text())]
    await sink.aclose()


async def test_telegram_cuts_a_long_message_to_4096_utf16_units(nursery):
    fake = FakeTelegram(TOKEN)
    url = await nursery.start(fake.serve)
    sink = TelegramSink(TOKEN, "42", api_url=url)
    # Each of these is two UTF-16 code units: counting characters would send too many.
    await sink.send(long_alert("🚨" * 3000))
    [(_, text)] = fake.messages
    assert text.endswith("\n…")
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert len(text.encode("utf-16-le")) // 2 > 4090
    await sink.aclose()


async def test_telegram_flood_control_says_when_to_try_again(nursery):
    fake = FakeTelegram(TOKEN, flood_next=1, retry_after=7)
    url = await nursery.start(fake.serve)
    sink = TelegramSink(TOKEN, "42", api_url=url)
    with pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert failed.value.retry_after_s == 7
    assert not failed.value.permanent
    assert "429" in str(failed.value)
    await sink.send(ALERT)
    assert len(fake.messages) == 1
    await sink.aclose()


async def test_telegram_with_a_wrong_token_or_chat_is_permanent(nursery):
    fake = FakeTelegram(TOKEN)
    url = await nursery.start(fake.serve)
    wrong_token = TelegramSink("999:not-the-bot", "42", api_url=url)
    with pytest.raises(DeliveryFailed) as failed:
        await wrong_token.send(ALERT)
    assert failed.value.permanent
    assert str(failed.value) == "telegram: HTTP 401: Unauthorized"
    wrong_chat = TelegramSink(TOKEN, "7", api_url=url)
    with pytest.raises(DeliveryFailed) as failed:
        await wrong_chat.send(ALERT)
    assert failed.value.permanent
    assert "chat not found" in str(failed.value)
    assert fake.messages == []
    await wrong_token.aclose()
    await wrong_chat.aclose()


async def test_telegram_that_hangs_costs_the_timeout_and_no_more(nursery):
    fake = FakeTelegram(TOKEN, hang_s=30.0)
    url = await nursery.start(fake.serve)
    sink = TelegramSink(TOKEN, "42", api_url=url, timeout_s=0.2)
    with trio.fail_after(5), pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert "Timeout" in str(failed.value)
    assert not failed.value.permanent
    await sink.aclose()


async def test_the_bot_token_is_in_no_log_line_and_no_error(nursery, caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeTelegram(TOKEN)
    url = await nursery.start(fake.serve)
    errors: list[str] = []

    async def echo_path(request: HttpRequest) -> HttpResponse:
        # A proxy's error page that repeats the URL it was asked for.
        return HttpResponse(502, f"<h1>502 for {request.path}</h1>".encode(), "text/html")

    echo_port = await nursery.start(HttpServer(echo_path).serve)
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    closed_port = listener.socket.getsockname()[1]
    await listener.aclose()
    delivering = TelegramSink(TOKEN, "42", api_url=url)
    await delivering.send(ALERT)
    for api_url, timeout_s in (
        (f"http://127.0.0.1:{echo_port}", 5.0),
        (f"http://127.0.0.1:{closed_port}", 5.0),
    ):
        sink = TelegramSink(TOKEN, "42", api_url=api_url, timeout_s=timeout_s)
        with pytest.raises(DeliveryFailed) as failed:
            await sink.send(ALERT)
        errors.append(str(failed.value))
        await sink.aclose()
    fake.hang_s = 30.0
    hanging = TelegramSink(TOKEN, "42", api_url=url, timeout_s=0.1)
    with pytest.raises(DeliveryFailed) as failed:
        await hanging.send(ALERT)
    errors.append(str(failed.value))
    await hanging.aclose()
    # The token was used (the fake saw it) and the failures were real ones.
    assert f"/bot{TOKEN}/sendMessage" in fake.requested_paths
    assert "502" in errors[0] and "<secret>" in errors[0]
    logged = [record.getMessage() for record in caplog.records]
    assert any("bot***/sendMessage" in line for line in logged), logged
    for text in (*errors, *logged):
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text
    await delivering.aclose()


async def test_discord_delivers_with_wait_and_without_pinging_anyone(nursery):
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN)
    url = await nursery.start(fake.serve)
    sink = DiscordSink(url)
    await sink.send(ALERT)
    assert fake.contents == [ALERT.text()]
    assert fake.queries == [{"wait": "true"}]
    assert fake.allowed_mentions == [{"parse": []}]
    await sink.aclose()


async def test_discord_keeps_the_query_of_the_webhook_url(nursery):
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN)
    url = await nursery.start(fake.serve)
    sink = DiscordSink(f"{url}?thread_id=98765")
    await sink.send(ALERT)
    assert fake.queries == [{"thread_id": "98765", "wait": "true"}]
    await sink.aclose()


async def test_discord_cuts_a_long_message_to_2000_characters(nursery):
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN)
    url = await nursery.start(fake.serve)
    sink = DiscordSink(url)
    await sink.send(long_alert("x" * 5000))
    [content] = fake.contents
    assert len(content) <= 2000 and len(content) > 1990
    assert content.endswith("\n…")
    await sink.aclose()


async def test_discord_rate_limit_says_when_to_try_again_from_its_body(nursery):
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN, limit_next=1, retry_after=1.5)
    url = await nursery.start(fake.serve)
    sink = DiscordSink(url)
    with pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    # The body's float, not the header's whole seconds.
    assert failed.value.retry_after_s == 1.5
    assert not failed.value.permanent
    await sink.send(ALERT)
    assert len(fake.contents) == 1
    await sink.aclose()


async def test_discord_with_a_wrong_token_is_permanent_and_does_not_say_the_url(nursery, caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN)
    url = await nursery.start(fake.serve)
    wrong = url.replace(WEBHOOK_TOKEN, "stale-token-abc")
    sink = DiscordSink(wrong)
    with pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert failed.value.permanent
    assert str(failed.value) == "discord: HTTP 401: Invalid Webhook Token"
    logged = [record.getMessage() for record in caplog.records]
    assert any("/api/webhooks/***" in line for line in logged), logged
    assert not any("stale-token-abc" in line or WEBHOOK_ID in line for line in logged)
    await sink.aclose()


async def test_discord_that_hangs_costs_the_timeout_and_no_more(nursery):
    fake = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN, hang_s=30.0)
    url = await nursery.start(fake.serve)
    sink = DiscordSink(url, timeout_s=0.2)
    with trio.fail_after(5), pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert "Timeout" in str(failed.value)
    assert not failed.value.permanent
    assert WEBHOOK_TOKEN not in str(failed.value)
    await sink.aclose()


async def test_the_sinks_come_from_alerts_and_their_secrets_from_the_environment(nursery):
    fake_telegram = FakeTelegram(TOKEN)
    fake_discord = FakeDiscord(WEBHOOK_ID, WEBHOOK_TOKEN)
    api_url = await nursery.start(fake_telegram.serve)
    hook_url = await nursery.start(fake_discord.serve)
    section = AlertsSection(
        telegram=TelegramSinkConfig(chat_id=42, token_env="TG_TOKEN", api_url=api_url),
        discord=DiscordSinkConfig(url_env="DISCORD_URL"),
    )
    sinks = chat_sinks(section, {"TG_TOKEN": TOKEN, "DISCORD_URL": hook_url})
    assert [sink.name for sink in sinks] == ["telegram", "discord"]
    for sink in sinks:
        await sink.send(ALERT)
        await sink.aclose()
    assert (len(fake_telegram.messages), len(fake_discord.contents)) == (1, 1)
    assert chat_sinks(AlertsSection(), {}) == []
    with pytest.raises(MissingSecret, match=r"\$TG_TOKEN"):
        chat_sinks(section, {"DISCORD_URL": hook_url})
    with pytest.raises(MissingSecret, match=r"\$DISCORD_URL does not hold an http\(s\) URL"):
        chat_sinks(section, {"TG_TOKEN": TOKEN, "DISCORD_URL": "hook-secret"})
