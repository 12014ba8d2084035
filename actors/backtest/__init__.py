"""The backtester: recorded quotes through the live strategy's state machine, and its report."""
