"""alembic's environment: run the migrations on the connection ``nova_sim.db.migration``
passes in ``config.attributes["connection"]`` (there is no alembic.ini)."""

from __future__ import annotations

from alembic import context

from nova_sim.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    compare_server_default=True,
)
with context.begin_transaction():
    context.run_migrations()
