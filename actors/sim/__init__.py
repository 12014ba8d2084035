"""Simulated venues: a market model and exchanges speaking the real wire formats."""
