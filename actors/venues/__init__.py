"""Each venue's side of the feed and router actors: which codec functions to call."""
