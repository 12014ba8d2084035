"""The portfolio's risk at run time: its state, the risk actor, the venues' balances."""
