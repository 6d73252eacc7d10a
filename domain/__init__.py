"""The domain: aggregates, their events, value rules and errors.

Imports only the standard library and ``eventsourcing.domain`` (a test enforces it).
"""
