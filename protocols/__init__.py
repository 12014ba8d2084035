"""Data and pure functions: the domain model and the venues' wire formats. No I/O."""
