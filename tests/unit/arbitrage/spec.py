"""The cash flows of docs/strategy.md ("Formulas"), verbatim: the oracle the machine's and
the backtester's P&L are checked against (the machine computes it its own way, from what
was filled)."""

from __future__ import annotations


def entry_cash_flows(
    q: float, sa: float, fb: float, spot_fee: float, fut_fee: float
) -> tuple[float, float]:
    """(spot paid, futures received) for an entry of ``q``."""
    return q * sa * (1.0 + spot_fee), q * fb * (1.0 - fut_fee)


def exit_cash_flows(
    q: float, sb: float, fa: float, spot_fee: float, fut_fee: float
) -> tuple[float, float]:
    """(spot received, futures paid) for an exit of ``q``."""
    return q * sb * (1.0 - spot_fee), q * fa * (1.0 + fut_fee)


def pnl_usdt(
    spot_paid: float, futures_received: float, spot_received: float, futures_paid: float
) -> float:
    return (spot_received - spot_paid) + (futures_received - futures_paid)


def round_trip_pnl_usdt(
    q: float, sa: float, fb: float, sb: float, fa: float, spot_fee: float, fut_fee: float
) -> float:
    """P&L of entering at (``sa``, ``fb``) and exiting at (``sb``, ``fa``)."""
    spot_paid, futures_received = entry_cash_flows(q, sa, fb, spot_fee, fut_fee)
    spot_received, futures_paid = exit_cash_flows(q, sb, fa, spot_fee, fut_fee)
    return pnl_usdt(spot_paid, futures_received, spot_received, futures_paid)
