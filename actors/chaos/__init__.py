"""Chaos runs: the trading system under exchange disconnects, venue faults, actor crashes
and process kills, held to its promises against the simulated venues' own ledgers.

``plan`` makes fault plans from named scenarios and a seed; ``runner`` plays one against
the system in a process of its own; ``invariants`` checks what was recorded; ``report``
says what happened. ``basis chaos`` is the command.
"""
