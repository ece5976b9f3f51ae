"""Alembic environment: the database comes from `clerk.db.Database` (never from an ini file)."""

from alembic import context
from sqlmodel import SQLModel

import clerk.domain.models  # noqa: F401  (registers the tables)

config = context.config
db = config.attributes["clerk_db"]
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=db.is_sqlite,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
