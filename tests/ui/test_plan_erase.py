"""A clinic admin erases a plan from its page after confirming; a clinician cannot."""

from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from tests.accounts.conftest import csrf_from, signed_in
from tests.contract.helpers import make_plan


def test_an_admin_confirms_and_the_plan_is_erased_a_clinician_is_refused(app, client, people):
    from service.audit import AuditEvent
    from service.models import Plan

    plan = make_plan(client, people.keys.a, patient={"display_name": "Erin Erasable"})
    page = f"/plans/{plan['id']}"

    clinician = app.test_client()
    signed_in(clinician, "pt@a.example")
    assert "Erase this plan" not in clinician.get(page).get_data(as_text=True)
    assert clinician.get(f"{page}/erase").status_code == 403
    token = csrf_from(clinician, page)
    assert clinician.post(f"{page}/erase", data={"csrf_token": token}).status_code == 403

    signed_in(client, "admin@a.example")
    assert "Erase this plan" in client.get(page).get_data(as_text=True)
    confirm = client.get(f"{page}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Plan).where(Plan.public_id == plan["id"])) is not None
    done = client.post(f"{page}/erase", data={"csrf_token": csrf_from(client, f"{page}/erase")})
    assert done.status_code == 303 and "Erin" not in done.headers["Location"]
    listing = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "were erased" in listing and "Erin Erasable" not in listing
    assert client.get(page).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Plan).where(Plan.public_id == plan["id"])) is None
        [row] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "plan_deleted")).all()
        assert row.actor.startswith("clinician:") and row.target == plan["id"]
