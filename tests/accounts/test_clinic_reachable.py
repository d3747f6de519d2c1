"""A handout needs a way to reach the clinic: phone and out-of-hours route before the first."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.accounts.conftest import csrf_from, signed_in


def _set(app, slug: str, **values: str) -> None:
    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug))
        for key, value in values.items():
            setattr(clinic, key, value)
        db.session.commit()


def _plans(app) -> int:
    from service.extensions import db
    from service.models import Plan

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Plan))


BODY = {"template_id": "core_routine", "patient": {"display_name": "Ana P."}}


def test_a_clinic_without_out_of_hours_route_gets_422_naming_it_and_nothing_stored(
        app, client, clinics):
    _set(app, "clinic-a", out_of_hours="  ")
    resp = client.post("/api/v1/plans", json=BODY, headers=clinics.a)
    assert resp.status_code == 422
    problem = resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in problem["errors"]] == ["clinic.out_of_hours"]
    assert "Clinic profile" in problem["errors"][0]["message"]
    assert "Ana P." not in resp.get_data(as_text=True)
    assert _plans(app) == 0


def test_a_clinic_whose_contact_has_no_phone_number_gets_422_naming_the_contact(
        app, client, clinics):
    _set(app, "clinic-a", contact="riverside.example")
    resp = client.post("/api/v1/plans", json=BODY, headers=clinics.a)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == ["clinic.contact"]
    assert _plans(app) == 0


def test_new_snapshots_carry_the_out_of_hours_route_and_the_safety_netting_tiers(
        app, client, clinics):
    from service.extensions import db
    from service.models import PlanRevision

    resp = client.post("/api/v1/plans", json=BODY, headers=clinics.a)
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        snapshot = db.session.scalars(select(PlanRevision)).one().snapshot
    assert snapshot["clinic"]["out_of_hours"].startswith("Call 555-0191")
    tiers = [t["tier"] for t in snapshot["plan"]["guide"]["safety_net"]]
    assert tiers == ["emergency", "same_day", "slow_down"]


def test_clinic_profile_requires_a_phone_number_and_out_of_hours_help(app, client, people):
    from service.extensions import db
    from service.models import Clinic

    signed_in(client, "admin@a.example")
    page = client.get("/admin/clinic").get_data(as_text=True)
    assert 'name="out_of_hours"' in page
    form = {"name": "Clinic A", "contact": "clinic-a.example", "emergency_number": "112",
            "out_of_hours": "   ", "csrf_token": csrf_from(client, "/admin/clinic")}
    resp = client.post("/admin/clinic", data=form)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'href="#f-contact"' in text and 'href="#f-out_of_hours"' in text
    assert "phone number" in text and "when the clinic is closed" in text

    good = dict(form, contact="Phone 555-0101", out_of_hours="Call NHS 111",
                csrf_token=csrf_from(client, "/admin/clinic"))
    assert client.post("/admin/clinic", data=good).status_code == 303
    with app.app_context():
        clinic = db.session.get(Clinic, people.clinic_a)
        assert clinic.out_of_hours == "Call NHS 111"
    assert "Call NHS 111" in client.get("/admin/clinic").get_data(as_text=True)
