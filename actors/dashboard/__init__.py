"""The live web dashboard: a Starlette app on hypercorn's trio worker, served by the trading
process itself (``basis run``), with its page under ``static/``."""
