"""Narrated teaching demos: run them with ``nova-sim demo NAME`` (``--list`` lists them)."""
