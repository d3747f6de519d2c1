"""POST /api/v1/plans stores a plan in one commit and a handful of statements, with or without
an Idempotency-Key, and what it stores is still whole: plan, revision, queued render job,
audit row, webhook event (issue 14)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy import event, func, select

from tests.contract.helpers import make_plan, plan_body
from tests.webhooks.conftest import register

PLANS = "/api/v1/plans"
# Key lookup (with its clinic and whether it has a webhook endpoint), then the plan, revision,
# render job and audit row: four INSERTs on SQLite, one chained INSERT on PostgreSQL.
MAX_STATEMENTS = {"sqlite": 5, "postgresql": 2}
# An Idempotency-Key adds: the key's earlier answer, forgetting it if expired, (PostgreSQL)
# the lock timeout, and storing its answer.
KEY_STATEMENTS = 4
# A clinic with an enabled endpoint adds the endpoints' lookup and the delivery row and, after
# the commit, the note (on a connection of its own) that it was handed to the broker.
ENDPOINT_STATEMENTS = 3


def _max_statements(app) -> int:
    from service.extensions import db

    with app.app_context():
        return MAX_STATEMENTS[db.engine.dialect.name]


def _create(app, client, headers, **body) -> tuple[dict, list[str], int]:
    """The answer, the SQL statements the request ran, and how many transactions it committed."""
    from service.extensions import db

    seen: list[str] = []
    commits = [0]

    def statement(conn, cursor, text, *args) -> None:
        seen.append(text)

    def commit(conn) -> None:
        commits[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        resp = client.post(PLANS, json=plan_body(**body), headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json(), seen, commits[0]


def _stored(app, plan_id: str) -> dict[str, object]:
    from service import audit
    from service.audit import AuditEvent
    from service.extensions import db
    from service.models import Plan, PlanRevision, RenderJob
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.public_id == plan_id))
        revision = db.session.scalar(select(PlanRevision).where(PlanRevision.plan_id == plan.id))
        job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == revision.id))
        return {
            "job": (job.status, job.sent_at is not None),
            "audit": db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.target == plan_id, AuditEvent.action == audit.PLAN_CREATED)),
            "deliveries": db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                            .where(WebhookDelivery.event_type == "plan.created")),
        }


def test_a_plan_is_created_in_one_commit_and_few_statements(app, client, clinics):
    make_plan(client, clinics.a)  # the key's first use of the minute also records it: not ours
    plan, seen, commits = _create(app, client, clinics.a)
    assert commits == 1, seen
    assert len(seen) <= _max_statements(app), seen
    # The answer shows the job it staged; it was committed queued and handed to the broker.
    assert plan["handout"]["status"] == "queued"
    stored = _stored(app, plan["id"])
    assert stored["job"] == ("queued", True) and stored["audit"] == 1


def test_with_an_idempotency_key_it_is_still_one_commit(app, client, clinics):
    make_plan(client, clinics.a)
    headers = {**clinics.a, "Idempotency-Key": str(uuid.uuid4())}
    plan, seen, commits = _create(app, client, headers)
    assert commits == 1 and len(seen) <= _max_statements(app) + KEY_STATEMENTS, seen
    # The replay runs no write at all and answers with the same plan.
    again, replay_seen, replay_commits = _create(app, client, headers)
    assert again["id"] == plan["id"]
    assert not [s for s in replay_seen if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_a_subscribed_endpoint_gets_its_delivery_in_the_same_commit(app, client, clinics):
    register(client, clinics.a, "http://127.0.0.1:9/hooks", events=["plan.created"])
    make_plan(client, clinics.a)
    plan, seen, commits = _create(app, client, clinics.a)
    assert commits == 2 and len(seen) <= _max_statements(app) + ENDPOINT_STATEMENTS, seen
    # The plan, its delivery and the rest were one transaction; the second is the note alone.
    assert seen[-1].lstrip().upper().startswith("UPDATE WEBHOOK_DELIVERIES"), seen[-1]
    assert _stored(app, plan["id"])["deliveries"] == 2  # this plan's and the one before


def test_the_rows_written_without_the_session_read_back_as_the_answer(app, client, clinics):
    """Plan, revision, job and audit row are plain INSERTs (one chained statement on
    PostgreSQL): each row carries its parent's new id, the snapshot's stored hash is that of
    the stored snapshot, and reading the plan back gives the answer the creation gave."""
    import hashlib
    import json

    from service.audit import AuditEvent
    from service.extensions import db
    from service.models import Plan, PlanRevision, RenderJob

    make_plan(client, clinics.a)
    plan, _, _ = _create(app, client, clinics.a)
    with app.app_context():
        stored = db.session.scalar(select(Plan).where(Plan.public_id == plan["id"]))
        revision = db.session.scalar(select(PlanRevision).where(
            PlanRevision.plan_id == stored.id))
        job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == revision.id))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.target == plan["id"]))
        assert (stored.current_revision, revision.number) == (1, 1)
        assert stored.updated_at >= stored.created_at
        assert revision.snapshot["plan_id"] == plan["id"]
        canonical = json.dumps(revision.snapshot, sort_keys=True, separators=(",", ":"))
        assert revision.snapshot_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
        # Encoded once: the column holds the very text that was hashed, not a second encoding.
        text = db.session.execute(sa.text(
            "SELECT CAST(snapshot AS TEXT) FROM plan_revisions WHERE id = :id"),
            {"id": revision.id}).scalar_one()
        assert text == canonical
        assert (job.status, job.attempts, job.options) == ("queued", 0, revision.options)
        assert event.detail == {"revision": 1} and event.actor.startswith("api-key:")
    again = client.get(f"{PLANS}/{plan['id']}", headers=clinics.a).get_json()
    assert again == plan


def test_the_key_lookup_tells_whether_the_clinic_has_an_enabled_endpoint(app, client, clinics):
    """The key lookup also reads whether the clinic has an enabled webhook endpoint, so a
    clinic without one pays no endpoint query; disabling and enabling it again are seen by
    the next creation."""
    endpoint = register(client, clinics.a, "http://127.0.0.1:9/hooks", events=["plan.created"])
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    make_plan(client, clinics.a)
    assert client.patch(path, json={"enabled": False}, headers=clinics.a).status_code == 200
    _, seen, commits = _create(app, client, clinics.a)
    assert commits == 1 and len(seen) <= _max_statements(app), seen
    # Only the key lookup names the endpoints (its EXISTS); no query of them follows.
    assert not [s for s in seen[1:] if "webhook" in s.lower()], seen
    assert client.patch(path, json={"enabled": True}, headers=clinics.a).status_code == 200
    plan, seen, _ = _create(app, client, clinics.a)
    assert [s for s in seen if s.lstrip().upper().startswith("INSERT INTO WEBHOOK_DELIVERIES")]
    assert _stored(app, plan["id"])["deliveries"] == 2  # the first plan's and this one's
