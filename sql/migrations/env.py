"""Alembic's entry point: runs the migrations on the connection tidecast hands over.

tidecast runs Alembic itself (`tidecast migrate`, `tidecast.schema`), inside the
caller's transaction, so on PostgreSQL a migration that fails half-way changes nothing.
"""

from alembic import context

from tidecast.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run the migrations with `tidecast migrate --database-url …`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
)
with context.begin_transaction():
    context.run_migrations()
