"""Persistence: the writer actor and the SQLite store it alone writes."""
