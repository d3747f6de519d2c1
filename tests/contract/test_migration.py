"""Migration 0003_api_contract creates exactly what the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

OURS = {"idempotency_keys", "ix_plans_clinic_created"}


def _names(diff: object) -> set[str]:
    """Table and index names a (possibly nested) autogenerate diff entry mentions."""
    if isinstance(diff, list):
        return set().union(*(_names(d) for d in diff)) if diff else set()
    found: set[str] = set()
    for part in diff if isinstance(diff, tuple) else ():
        name = getattr(part, "name", None)
        if isinstance(name, str):
            found.add(name)
        table = getattr(part, "table", None)
        if table is not None and isinstance(getattr(table, "name", None), str):
            found.add(table.name)
    return found


def test_models_and_migrations_agree_on_the_contract_tables(app):
    from service import idempotency  # noqa: F401  the model lives beside its decorator
    from service.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, db.metadata)
        assert "idempotency_keys" in conn.dialect.get_table_names(conn)
    drift = [d for d in diffs if _names(d) & OURS]
    assert not drift, drift
