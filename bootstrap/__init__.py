"""The legacy side: reading legacy rows, turning them into seed events, assessment,
verification, cutover and rollback."""
