"""GET /api/v1/plans/{id}/fhir and /revisions/{n}/fhir: the stored plan as a FHIR R4 Bundle."""

from __future__ import annotations

import base64
import logging

from sqlalchemy import select

from tests.contract.helpers import make_plan
from tests.fhir_checks import failed_invariants, validated


def render_all(app) -> None:
    """Runs the render jobs the way a worker does, in this process."""
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    with app.app_context():
        for job_id in db.session.scalars(select(RenderJob.id).where(
                RenderJob.status != RenderJob.DONE)).all():
            render_handout(job_id)


def stored_pdf(app, plan_id: str, number: int) -> bytes:
    from service.extensions import db
    from service.models import Handout, Plan, PlanRevision

    with app.app_context():
        return db.session.scalar(select(Handout.pdf).join(PlanRevision).join(Plan).where(
            Plan.public_id == plan_id, PlanRevision.number == number))


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_bundle_holds_the_plan_and_the_stored_handouts_hash(app, client, clinics, caplog):
    caplog.set_level(logging.DEBUG)
    plan = make_plan(client, clinics.a, screening={"nerve_symptoms": True},
                     patient={"display_name": "Zed Q. Patient", "reference": "MRN-77"})
    render_all(app)
    resp = client.get(f"/api/v1/plans/{plan['id']}/fhir", headers=clinics.a)
    assert resp.status_code == 200
    assert resp.mimetype == "application/fhir+json"
    bundle = validated(resp.get_data(as_text=True))
    pdf = stored_pdf(app, plan["id"], 1)
    assert failed_invariants(bundle, pdf) == []
    assert bundle["type"] == "collection"
    care_plan, = resources(bundle, "CarePlan")
    assert care_plan["subject"]["identifier"] == {
        "system": "https://limber.example/fhir/sid/patient-reference/clinic-a", "value": "MRN-77"}
    assert [a["reference"]["reference"] for a in care_plan["activity"]] == [
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert [s["code"]["text"] for s in resources(bundle, "ServiceRequest")] == [
        e["name"] for e in plan["exercises"]]
    document, = resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    assert attachment["url"].endswith(f"/api/v1/plans/{plan['id']}/revisions/1/handout")
    assert "data" not in attachment
    # The URL serves exactly the PDF the hash describes.
    assert client.get(attachment["url"], headers=clinics.a).data == pdf
    provenance, = resources(bundle, "Provenance")
    assert provenance["entity"][0]["what"]["identifier"]["value"] == \
        f"{plan['template']['id']}|{plan['template']['version']}"
    # The patient's name is in the chart-bound body only, never in a log line.
    assert "Zed Q" not in caplog.text  # the name, not "Zed" alone: log lines carry random ids


def test_inline_pdf_puts_the_stored_pdf_in_the_attachment(app, client, clinics):
    plan = make_plan(client, clinics.a)
    render_all(app)
    resp = client.get(f"/api/v1/plans/{plan['id']}/fhir?inline_pdf=1", headers=clinics.a)
    document, = resources(validated(resp.get_data(as_text=True)), "DocumentReference")
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == \
        stored_pdf(app, plan["id"], 1)


def test_revisions_export_on_their_own_and_the_old_one_is_superseded(app, client, clinics):
    plan = make_plan(client, clinics.a)
    render_all(app)
    assert client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a, json={
        "screening": {"irritability": "high"}}).status_code == 200
    render_all(app)
    old = validated(client.get(f"/api/v1/plans/{plan['id']}/revisions/1/fhir",
                               headers=clinics.a).get_data(as_text=True))
    new = validated(client.get(f"/api/v1/plans/{plan['id']}/revisions/2/fhir",
                               headers=clinics.a).get_data(as_text=True))
    assert failed_invariants(old, stored_pdf(app, plan["id"], 1)) == []
    assert failed_invariants(new, stored_pdf(app, plan["id"], 2)) == []
    assert resources(old, "CarePlan")[0]["status"] == "revoked"
    assert resources(new, "CarePlan")[0]["status"] == "active"
    assert resources(new, "CarePlan")[0]["replaces"][0]["identifier"]["value"] == \
        f"{plan['id']}/r1"
    # Each revision's attachment points at a URL that serves that revision's PDF only, so an
    # EHR that stored revision 1 still fetches the bytes its hash describes after revision 2.
    for number, bundle in ((1, old), (2, new)):
        attachment = resources(bundle, "DocumentReference")[0]["content"][0]["attachment"]
        assert attachment["url"].endswith(f"/api/v1/plans/{plan['id']}/revisions/{number}/handout")
        assert "data" not in attachment
        assert client.get(attachment["url"], headers=clinics.a).data == \
            stored_pdf(app, plan["id"], number)
    latest = client.get(f"/api/v1/plans/{plan['id']}/fhir", headers=clinics.a).get_json()
    assert latest == new


def test_before_the_handout_is_rendered_the_bundle_has_no_document_yet(client, clinics):
    plan = make_plan(client, clinics.a)
    bundle = validated(client.get(f"/api/v1/plans/{plan['id']}/fhir",
                                  headers=clinics.a).get_data(as_text=True))
    assert failed_invariants(bundle) == []
    assert resources(bundle, "DocumentReference") == []
    assert "supportingInfo" not in resources(bundle, "CarePlan")[0]


def test_refusals_are_problem_json_naming_the_field(client, clinics):
    plan = make_plan(client, clinics.a, patient={"display_name": "Ana P."})
    resp = client.get(f"/api/v1/plans/{plan['id']}/fhir", headers=clinics.a)
    assert resp.status_code == 409 and resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == ["patient.reference"]
    assert "Ana P." not in resp.get_data(as_text=True)  # the whole name: ids are random
    # The API refuses unprintable names at the door (plans/printable.py); a reference is not
    # printed, so it can still hold text a FHIR string cannot.
    odd = make_plan(client, clinics.a, patient={"display_name": "Ana P.",
                                                "reference": "MRN\u20281"})
    resp = client.get(f"/api/v1/plans/{odd['id']}/fhir", headers=clinics.a)
    assert resp.status_code == 409
    assert [e["field"] for e in resp.get_json()["errors"]] == ["patient.reference"]
    assert client.patch(f"/api/v1/plans/{odd['id']}", headers=clinics.a, json={
        "patient": {"reference": "MRN-1"}}).status_code == 200
    bundle = validated(client.get(f"/api/v1/plans/{odd['id']}/fhir",
                                  headers=clinics.a).get_data(as_text=True))
    assert resources(bundle, "CarePlan")[0]["subject"]["display"] == "Ana P."
    plan = make_plan(client, clinics.a)
    for query, status in (("?inline_pdf=maybe", 422), ("?format=xml", 422)):
        resp = client.get(f"/api/v1/plans/{plan['id']}/fhir{query}", headers=clinics.a)
        assert resp.status_code == status and resp.mimetype == "application/problem+json"
    resp = client.get(f"/api/v1/plans/{plan['id']}/revisions/9/fhir", headers=clinics.a)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/plans/{plan['id']}/fhir").status_code == 401


def test_a_clinics_own_identifier_system_names_the_patient(app, client, clinics):
    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a")) \
            .fhir_patient_system = "urn:oid:1.2.36.146.595.217.0.1"
        db.session.commit()
    plan = make_plan(client, clinics.a)
    bundle = client.get(f"/api/v1/plans/{plan['id']}/fhir", headers=clinics.a).get_json()
    assert {e["resource"]["subject"]["identifier"]["system"] for e in bundle["entry"]
            if "subject" in e["resource"]} == {"urn:oid:1.2.36.146.595.217.0.1"}
