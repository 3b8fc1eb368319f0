"""Use cases: one transaction each, each state change writing its audit event."""
