"""Client order ids: the longest fits both venues, each reads back as what made it, and
an id of another instance, of an older Basis or of no Basis at all is told apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import gateio, gateio_rest, mexc_rest
from protocols.client_ids import (
    INSTANCE_ID_LENGTH,
    MAX_EPOCH,
    MAX_SEQ,
    ClientId,
    client_order_id,
    epoch_tag,
    other_instance,
    parse_client_id,
    tag_epoch,
    task_of,
)
from protocols.model import Leg, Order, OrderType, Side, Symbol
from protocols.venue import ApiCredentials

LONGEST_TASK_ID = "abcdefghi_zzzzz9"  # 16: the longest TradingSystem._task_id makes
KEYS = ApiCredentials("key", "secret")

task_ids = st.from_regex(r"[A-Za-z0-9_]{1,16}", fullmatch=True)
instances = st.from_regex(rf"[0-9a-z]{{{INSTANCE_ID_LENGTH}}}", fullmatch=True)
legs = st.sampled_from(Leg)


@pytest.mark.parametrize("leg", list(Leg))
def test_the_longest_id_fits_both_venues(leg):
    client_id = client_order_id(LONGEST_TASK_ID, MAX_SEQ, leg, "zzzz")
    assert len(client_id) == 28
    order = Order(client_id, leg, Symbol("BTC", "USDT"), Side.BUY, 1.0, 100.0, OrderType.LIMIT)
    placed = mexc_rest.place_order_request(order, KEYS, 1)
    assert f"newClientOrderId={client_id}&" in placed.query
    futures = gateio_rest.place_order_request(order, 1.0, KEYS, 1)
    assert f'"text":"t-{client_id}"'.encode() in futures.body
    assert gateio.client_id_from_text(gateio.client_text(client_id)) == client_id


def test_an_order_number_beyond_what_fits_is_refused():
    with pytest.raises(ValueError, match="outside"):
        client_order_id("btc_1", MAX_SEQ + 1, Leg.SPOT, "k3x9")


@given(task_ids, st.integers(0, MAX_SEQ), legs, instances)
def test_every_id_reads_back_as_what_made_it(task_id, seq, leg, instance):
    client_id = client_order_id(task_id, seq, leg, instance)
    assert parse_client_id(client_id) == ClientId(task_id, seq, leg, instance)
    assert task_of(client_id) == task_id


@given(task_ids, st.integers(0, 10**10), legs)
def test_an_id_made_before_instance_ids_reads_back_with_no_instance(task_id, seq, leg):
    client_id = client_order_id(task_id, seq, leg, None)
    assert parse_client_id(client_id) == ClientId(task_id, seq, leg, None)
    assert other_instance(client_id, "k3x9") is None


def test_only_another_instances_ids_are_foreign():
    mine = client_order_id("btc_sj3kx0", 12, Leg.SPOT, "k3x9")
    theirs = client_order_id("btc_sj3kx0", 12, Leg.SPOT, "zz01")
    assert other_instance(mine, "k3x9") is None
    assert other_instance(theirs, "k3x9") == "zz01"
    # The same task and number at another instance is another order: ids differ whole.
    assert mine != theirs and task_of(mine) == task_of(theirs)
    # Orders placed by hand or by other programs carry no Basis id at all.
    for text in ("web", "-", "", "app", "my-order-123", "btc_1-1x", "btc-1-1s-k3x9"):
        assert parse_client_id(text) is None
        assert other_instance(text, "k3x9") is None


@given(st.integers(1, MAX_EPOCH), st.integers(1, MAX_EPOCH))
def test_a_lease_epoch_makes_an_instance_part_that_reads_back_and_keeps_its_order(a, b):
    tag = epoch_tag(a)
    assert len(tag) == INSTANCE_ID_LENGTH and tag_epoch(tag) == a
    assert (epoch_tag(a) < epoch_tag(b)) == (a < b)  # zero-padded: text order is epoch order
    client_id = client_order_id("btc_sj3kx0", 7, Leg.SPOT, tag)
    assert parse_client_id(client_id).instance == tag
    assert other_instance(client_id, epoch_tag(b)) == (None if a == b else tag)


@pytest.mark.parametrize("epoch", [0, -1, MAX_EPOCH + 1])
def test_an_epoch_beyond_what_fits_is_refused(epoch):
    with pytest.raises(ValueError, match="outside"):
        epoch_tag(epoch)
