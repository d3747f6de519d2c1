"""Alembic environment: migrates the database of the Flask app that calls service.schema."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from service import audit, idempotency, models  # noqa: F401  registers the tables on db.metadata
from service.accounts import models as account_models  # noqa: F401
from service.embed import models as embed_models  # noqa: F401
from service.extensions import db
from service.webhooks import models as webhook_models  # noqa: F401

config = context.config
target_metadata = db.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:  # noqa: ANN001
    # Batch mode lets later migrations alter columns on SQLite, which has no ALTER COLUMN.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
