"""Market data: feeds, private streams, local order books, the websocket client."""
