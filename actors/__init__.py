"""The Basis trading system: actors built on ``supervision`` and ``protocols``."""
