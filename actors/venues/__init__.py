"""How to talk to each venue: the HTTP client and one adapter per venue for feeds and routers."""
