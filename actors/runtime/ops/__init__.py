"""Operations: status, metrics, the status endpoint, logs, GC tuning, crash injection."""
