"""The portfolio's risk decisions, pure functions of state (no trio, no I/O)."""
