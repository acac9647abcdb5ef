"""The migrations of nova-sim's schema, in revision order."""
