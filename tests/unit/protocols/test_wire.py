"""The decimal writers the venue codecs share: products and differences of prices and
quantities print as the exact decimals they are, without float noise."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from protocols._wire import decimal, decimals_of, exact_difference, exact_product

# Prices and quantities as venues print them: whole numbers of a decimal step.
prices = st.builds(
    lambda units, places: units / 10**places, st.integers(1, 10**8), st.integers(0, 4)
)
quantities = st.builds(
    lambda units, places: units / 10**places, st.integers(1, 10**6), st.integers(0, 6)
)


def exact(value: float) -> Decimal:
    return Decimal(decimal(value))


@given(price=prices, qty=quantities)
def test_a_product_prints_as_the_exact_decimal_product(price, qty):
    assert exact(exact_product(qty, price)) == exact(qty) * exact(price)


@given(a=prices, b=prices)
def test_a_difference_prints_as_the_exact_decimal_difference(a, b):
    assert exact(exact_difference(a, b)) == exact(a) - exact(b)


def test_the_float_noise_of_a_product_and_a_difference_is_gone():
    assert 0.000323 * 65001.25 == 20.995403749999998
    assert decimal(exact_product(0.000323, 65001.25)) == "20.99540375"
    assert 65014.79 - 65002.24 == 12.55000000000291
    assert decimal(exact_difference(65014.79, 65002.24)) == "12.55"
    assert (decimals_of(65025.7), decimals_of(3.0), decimals_of(0.0001)) == (1, 0, 4)
