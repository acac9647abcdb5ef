"""alembic's environment and the schema's migrations (``versions/``), one revision each.

Run through ``nova_sim.db.migration`` (``nova-sim db sync``), never by hand.
"""
