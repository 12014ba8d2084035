"""The webhook sink against a receiver on 127.0.0.1: signed bodies, and each way a
delivery can fail said as retryable or not."""

from __future__ import annotations

import httpx
import pytest
import trio

from actors.runtime.alerts.alert import DeliveryFailed
from actors.runtime.alerts.webhook import WebhookSink
from tests.integration.alert_receiver import ALERT, AlertReceiver


async def test_an_alert_arrives_whole_and_signed(nursery):
    receiver = AlertReceiver(secret=b"k3y")
    url = await nursery.start(receiver.serve)
    sink = WebhookSink(url, "k3y")
    await sink.send(ALERT)
    assert receiver.alerts == [ALERT]
    assert receiver.bad_signatures == 0
    await sink.aclose()


async def test_a_receiver_with_another_key_refuses_it_and_the_sink_says_it_is_permanent(nursery):
    receiver = AlertReceiver(secret=b"theirs")
    url = await nursery.start(receiver.serve)
    sink = WebhookSink(url, "ours")
    with pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert failed.value.permanent and "401" in str(failed.value)
    assert (receiver.alerts, receiver.bad_signatures) == ([], 1)
    await sink.aclose()


async def test_a_receiver_that_errs_is_a_failure_worth_retrying(nursery):
    receiver = AlertReceiver(fail_next=1)
    url = await nursery.start(receiver.serve)
    sink = WebhookSink(url)
    with pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert not failed.value.permanent
    await sink.send(ALERT)
    assert receiver.alerts == [ALERT]
    await sink.aclose()


async def test_a_receiver_that_hangs_costs_the_timeout_and_no_more(nursery):
    receiver = AlertReceiver(hang_s=30.0)
    url = await nursery.start(receiver.serve)
    sink = WebhookSink(url, timeout_s=0.2)
    with trio.fail_after(5), pytest.raises(DeliveryFailed) as failed:
        await sink.send(ALERT)
    assert "Timeout" in str(failed.value)
    assert not failed.value.permanent
    await sink.aclose()


async def test_nobody_listening_is_a_failure_worth_retrying():
    async with httpx.AsyncClient() as client:
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        port = listener.socket.getsockname()[1]
        await listener.aclose()
        sink = WebhookSink(f"http://127.0.0.1:{port}/alerts", client=client)
        with pytest.raises(DeliveryFailed) as failed:
            await sink.send(ALERT)
        assert not failed.value.permanent
