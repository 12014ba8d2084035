"""Several instances sharing the symbols of one PostgreSQL store: which instance trades
which symbol, and for how long.

Each symbol is leased to one instance at a time for a short time to live measured on the
database's clock, and renewed while the instance is healthy; every grant carries a new
epoch, which the store's writes and the venues' client order ids are fenced by. Here:
the lease book (:mod:`.leases`), the database's side of joining, claiming, renewing and
handing back leases, and the cluster's status; and the placement (:mod:`.placement`),
the arithmetic of how many symbols each live instance should hold.
"""
