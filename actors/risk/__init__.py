"""Risk decisions as pure functions: sizing from the books, exposure caps, stops and the
futures leg's liquidation distance (no trio, no I/O: the backtester runs them as the
live system does)."""
