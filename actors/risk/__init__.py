"""Risk decisions as pure functions of state, and the ``[risk]`` table."""
