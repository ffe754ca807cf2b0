"""``ctx.state``: scoped JSON key-value storage in the database."""
