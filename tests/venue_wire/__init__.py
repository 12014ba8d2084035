"""The client's side of venue messages Basis itself never sends or reads: tests use them
to check that the simulated venues serve what the real ones do, and against the venues'
documented examples."""
