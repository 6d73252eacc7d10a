"""Everything that touches the outside: settings, databases, the event store,
projections, the service layer's wiring, the HTTP API and the CLI."""
