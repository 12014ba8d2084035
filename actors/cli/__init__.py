"""The ``basis`` command line: one module per command; paper mode starts the simulated venues."""
