"""Orders: the router actor, its fill accounting and rate limits."""
