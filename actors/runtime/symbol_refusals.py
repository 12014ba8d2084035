"""Why no strategy can be started for a symbol now (``TradingSystem.add_strategy``)."""


class SymbolLocked(Exception):
    """A live strategy already trades this symbol on these venues."""


class SymbolQuarantined(Exception):
    """The symbol waits for the operator: an earlier run quarantined its record."""
