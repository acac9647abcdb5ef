"""Service group drivers (only the database one, Nova's default)."""
