"""The trading runtime: the supervision tree built from a configuration and venue URLs."""
