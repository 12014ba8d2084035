"""Alerts: incidents, their durable outbox, and the sinks that tell the operator."""
