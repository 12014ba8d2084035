"""Analysis of what the store keeps: the history of every cycle, a summary of it, and
the report."""
