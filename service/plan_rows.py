"""A new plan's rows (plan, first revision, render job, audit event) as plain INSERTs."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, true

from service.audit import AuditEvent
from service.jsontext import EncodedJSON
from service.models import Plan, PlanRevision, RenderJob

# The rows are new and nothing else in the request changes them, so the session's unit of work
# (change tracking, a dependency sort, a flush before every query) only added cost: it took
# more time than the statements themselves (docs/performance.md, plan creation).
_PLAN = ("public_id", "clinic_id", "patient_name", "patient_ref", "current_revision",
         "created_at", "updated_at")
_REVISION = ("number", "template_id", "template_version", "template_hash", "request",
             "snapshot", "snapshot_sha256", "options", "created_by", "created_at")
_JOB = ("options_key", "options", "status", "attempts", "sent_at", "error", "created_at")


def _values(row: Any, columns: tuple[str, ...]) -> dict[str, Any]:  # noqa: ANN401 - a model
    return {name: getattr(row, name) for name in columns}


def insert_new_plan(conn: Connection, plan: Plan, revision: PlanRevision, job: RenderJob,
                    audit_event: dict[str, Any], snapshot_text: EncodedJSON) -> None:
    """Insert the four rows on the session's connection (its transaction) and set the new ids
    on the objects, which stay out of the session: nothing will flush them again. The
    revision's snapshot is stored as `snapshot_text`, its canonical text, already encoded.

    PostgreSQL gets one statement (INSERTs chained by data-modifying WITH clauses, each row
    taking its parent's new id), so the creation pays one round trip instead of four; SQLite,
    in-process, has no round trips to save and no such clauses, and gets four INSERTs."""
    revision_values = {**_values(revision, _REVISION), "snapshot": snapshot_text}
    if conn.dialect.name == "postgresql":
        params = {**_prefixed("plan", _values(plan, _PLAN)),
                  **_prefixed("revision", revision_values),
                  **_prefixed("job", _values(job, _JOB)),
                  **_prefixed("event", audit_event)}
        plan.id, revision.id, job.id = conn.execute(_chained(), params).one()
    else:
        plan.id = _insert(conn, Plan.__table__, _values(plan, _PLAN))
        revision.id = _insert(conn, PlanRevision.__table__,
                              {"plan_id": plan.id, **revision_values})
        job.id = _insert(conn, RenderJob.__table__,
                         {"revision_id": revision.id, **_values(job, _JOB)})
        conn.execute(insert(AuditEvent.__table__), audit_event)
    revision.plan_id, job.revision_id = plan.id, revision.id


def _insert(conn: Connection, table: Table, values: dict[str, Any]) -> int:
    return conn.execute(insert(table), values).inserted_primary_key[0]


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in values.items()}


_EVENT = ("clinic_id", "actor", "action", "target", "detail", "source", "at")


@functools.cache
def _chained() -> Any:  # noqa: ANN401 - a statement
    """Built once, with named parameters (`plan_public_id`, `revision_snapshot`, ...): building
    the clauses per request cost more than the round trips it saves."""
    plans, revisions = Plan.__table__, PlanRevision.__table__
    jobs, events = RenderJob.__table__, AuditEvent.__table__

    def params(table: Table, prefix: str, columns: tuple[str, ...]) -> dict[str, Any]:
        return {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type)
                for name in columns}

    def child(table: Table, prefix: str, columns: tuple[str, ...], parent_key: str,
              parent: Any) -> Any:  # noqa: ANN401 - a statement
        # INSERT ... SELECT parent.id, <parameters> FROM parent RETURNING id
        row = select(parent.c.id, *params(table, prefix, columns).values())
        return insert(table).from_select([parent_key, *columns], row).returning(table.c.id)

    new_plan = (insert(plans).values(params(plans, "plan", _PLAN)).returning(plans.c.id)
                .cte("new_plan"))
    new_revision = child(revisions, "revision", _REVISION, "plan_id", new_plan
                         ).cte("new_revision")
    new_job = child(jobs, "job", _JOB, "revision_id", new_revision).cte("new_job")
    new_event = (insert(events).values(params(events, "event", _EVENT)).returning(events.c.id)
                 .cte("new_event"))
    return (select(new_plan.c.id, new_revision.c.id, new_job.c.id)
            .select_from(new_plan).join(new_revision, true()).join(new_job, true())
            .add_cte(new_event))
