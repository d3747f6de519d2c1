"""The clinic profile sets the FHIR patient identifier system and the webhook opt-in."""

from __future__ import annotations

from service.extensions import db
from service.models import Clinic
from tests.accounts.conftest import csrf_from, signed_in

FORM = {"name": "Clinic A", "contact": "555-0101", "emergency_number": "911",
        "out_of_hours": "Call 555-0199 (nurse line)",
        "allowed_embed_origins": ""}


def test_identifier_system_must_be_a_uri_and_is_saved_with_the_opt_in(app, client, people):
    signed_in(client, "admin@a.example")
    for bad in ("MRN numbers", "ftp://x.example/mrn", "https://" + "a" * 300):
        resp = client.post("/admin/clinic", data=dict(
            FORM, csrf_token=csrf_from(client, "/admin/clinic"), fhir_patient_system=bad,
            fhir_in_webhooks="1"))
        assert resp.status_code == 422, bad
        assert 'href="#f-fhir_patient_system"' in resp.get_data(True)
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        assert (clinic.fhir_patient_system, clinic.fhir_in_webhooks) == ("", False)

    resp = client.post("/admin/clinic", data=dict(
        FORM, csrf_token=csrf_from(client, "/admin/clinic"),
        fhir_patient_system="https://portal.a.example/mrn", fhir_in_webhooks="1"))
    assert resp.status_code == 303
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        assert (clinic.fhir_patient_system, clinic.fhir_in_webhooks) == (
            "https://portal.a.example/mrn", True)
    page = client.get("/admin/clinic").get_data(True)
    assert 'value="https://portal.a.example/mrn"' in page
    assert 'name="fhir_in_webhooks" value="1" checked' in page

    # Unticked and emptied: back to Limber's own system and no links.
    client.post("/admin/clinic", data=dict(FORM, csrf_token=csrf_from(client, "/admin/clinic")))
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        assert (clinic.fhir_patient_system, clinic.fhir_in_webhooks) == ("", False)
