"""Erasure and retention: a deleted plan's patient text is gone from every table, an audit row
without it stays, and the portal hears plan.deleted."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.operators.conftest import render_all, stored_text

NAME = "Yolandrix Pemberton"
NOTE = "Quibbleknee history from the allotment"
REFERENCE = "MRN-ERASE-77"


def _plan(client, headers, key="idem-1"):
    resp = client.post("/api/v1/plans", headers={**headers, "Idempotency-Key": key}, json={
        "template_id": "core_routine", "notes": NOTE,
        "patient": {"display_name": NAME, "reference": REFERENCE}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _endpoint(client, headers):
    resp = client.post("/api/v1/webhook-endpoints", headers=headers,
                       json={"url": "http://127.0.0.1:9/hooks"})
    assert resp.status_code == 201
    return resp.get_json()


def test_delete_erases_patient_text_from_every_table_and_keeps_an_audit_row(app, client,
                                                                            clinics):
    from service.audit import AuditEvent
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    endpoint = _endpoint(client, clinics.a)
    plan = _plan(client, clinics.a)
    revised = client.patch(f"/api/v1/plans/{plan['id']}", headers={
        **clinics.a, "Idempotency-Key": "idem-2"}, json={"notes": NOTE + " (week 2)"})
    assert revised.status_code == 200
    render_all(app)
    # Another plan of the same clinic, for another patient, stays as it was.
    other = client.post("/api/v1/plans", headers=clinics.a, json={
        "template_id": "core_routine", "patient": {"display_name": "Other Person"}}).get_json()
    before = stored_text(app)
    assert NAME in before and NOTE in before and REFERENCE in before

    resp = client.delete(f"/api/v1/plans/{plan['id']}", headers=clinics.a)
    assert resp.status_code == 204 and resp.get_data() == b""

    after = stored_text(app)
    assert NAME not in after and NOTE not in after and REFERENCE not in after
    assert "Other Person" in after
    assert client.get(f"/api/v1/plans/{other['id']}", headers=clinics.a).status_code == 200
    with app.app_context():
        from service.models import Handout, Plan, PlanRevision, RenderJob

        assert db.session.scalar(select(Plan).where(Plan.public_id == plan["id"])) is None
        # Only the other plan's rows are left.
        assert len(db.session.scalars(select(PlanRevision)).all()) == 1
        assert len(db.session.scalars(select(RenderJob)).all()) == 1
        assert db.session.scalars(select(Handout)).all() == []
        deliveries = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        payloads = [json.loads(d.payload) for d in deliveries]
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "plan_deleted")).all()

    assert client.get(f"/api/v1/plans/{plan['id']}", headers=clinics.a).status_code == 404
    assert client.get(f"/api/v1/plans/{plan['id']}/revisions/1/handout",
                      headers=clinics.a).status_code == 404
    assert client.delete(f"/api/v1/plans/{plan['id']}", headers=clinics.a).status_code == 404
    # A retried create with the old Idempotency-Key no longer replays the patient's name.
    replay = client.post("/api/v1/plans", headers={**clinics.a, "Idempotency-Key": "idem-1"},
                         json={"template_id": "core_routine", "notes": NOTE,
                               "patient": {"display_name": NAME, "reference": REFERENCE}})
    assert replay.headers.get("Idempotent-Replayed") is None

    types = [p["type"] for p in payloads if p["data"]["plan_id"] == plan["id"]]
    assert types[-1] == "plan.deleted" and "plan.created" in types
    assert all(p["data"].get("patient_reference") is None for p in payloads
               if p["data"]["plan_id"] == plan["id"])
    deleted = [p for p in payloads if p["type"] == "plan.deleted"][0]["data"]
    assert deleted == {"plan_id": plan["id"], "revisions": 2, "reason": "request"}
    [row] = audit
    assert row.target == plan["id"] and row.detail["revisions"] == 2
    assert NAME not in json.dumps(row.detail)
    assert endpoint["events"] and "plan.deleted" in endpoint["events"]


def test_retention_erases_plans_past_the_period_at_the_sweep_and_keeps_newer_ones(app, client,
                                                                                 clinics):
    from service import clinics as clinic_service
    from service import erasure
    from service.audit import AuditEvent
    from service.extensions import db
    from service.models import Clinic, Plan, utcnow

    old = _plan(client, clinics.a, key="old")
    new = _plan(client, clinics.a, key="new")
    kept_elsewhere = _plan(client, clinics.b, key="b")
    with app.app_context():
        row = db.session.scalar(select(Plan).where(Plan.public_id == old["id"]))
        row.updated_at = utcnow() - timedelta(days=31)
        # B's old plan is kept: B set no retention.
        b_row = db.session.scalar(select(Plan).where(Plan.public_id == kept_elsewhere["id"]))
        b_row.updated_at = utcnow() - timedelta(days=400)
        db.session.commit()
        clinic_a = db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a"))
        assert erasure.count_expired(clinic_a, 30) == 1
        clinic_service.set_retention(clinic_a, 30)
        from workers.tasks import sweep_outbox

        sweep_outbox()  # the beat's task: retention runs inside it
        assert db.session.scalar(select(Plan).where(Plan.public_id == old["id"])) is None
        assert erasure.sweep_retention() == 0, "a second sweep finds nothing more"
        actions = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "plan_deleted")).all()
        assert [(a.target, a.detail["reason"], a.actor) for a in actions] == [
            (old["id"], "retention", "system")]
    assert client.get(f"/api/v1/plans/{old['id']}", headers=clinics.a).status_code == 404
    assert client.get(f"/api/v1/plans/{new['id']}", headers=clinics.a).status_code == 200
    assert client.get(f"/api/v1/plans/{kept_elsewhere['id']}",
                      headers=clinics.b).status_code == 200
