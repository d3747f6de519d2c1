"""PATCH /api/v1/plans/{id}: a new immutable revision from just the fields that change."""

from __future__ import annotations

from sqlalchemy import select

from tests.contract.helpers import make_plan

CLEARED = {"screening": {"red_flags": ["saddle_numbness"], "irritability": "moderate",
                         "nerve_symptoms": True, "cauda_equina_rule_out": {
                             "assessed_by": "Sam Okafor, PT", "assessed_on": "2026-11-01",
                             "finding": "Saddle sensation normal, stable, investigated."}},
           "red_flag_clearance": {"note": "Examined today; saddle sensation normal."}}


def test_patching_one_screening_answer_keeps_the_recorded_red_flags(app, client, clinics):
    """Before: the other screening answers were reset to defaults, dropping the red flag from
    revision 2 while its clearance note stayed, so the handout lost its warning."""
    from service.extensions import db
    from service.models import PlanRevision

    plan = make_plan(client, clinics.a, **CLEARED)
    resp = client.patch(f"/api/v1/plans/{plan['id']}", json={"screening": {"desk_bound": True}},
                        headers=clinics.a)
    assert resp.status_code == 200, resp.get_json()
    revised = resp.get_json()
    assert revised["revision"] == 2
    assert revised["red_flags_present"] == ["saddle_numbness"]
    assert revised["red_flag_clearance"] == CLEARED["red_flag_clearance"]
    with app.app_context():
        latest = db.session.scalars(select(PlanRevision).order_by(PlanRevision.number)).all()[-1]
        stored = latest.request["screening"]
        assert {k: stored[k] for k in CLEARED["screening"]} == CLEARED["screening"]
        assert stored["desk_bound"] is True


def test_patching_the_reference_keeps_the_display_name_and_other_fields(app, client, clinics):
    from service.extensions import db
    from service.models import PlanRevision

    plan = make_plan(client, clinics.a, notes="Keep it gentle.",
                     handout={"large_print": True, "page_size": "a4"})
    resp = client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a, json={
        "patient": {"reference": "MRN-2"}, "handout": {"page_size": "letter"}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["patient"] == {"display_name": "Ana P.", "reference": "MRN-2"}
    with app.app_context():
        latest = db.session.scalars(select(PlanRevision).order_by(PlanRevision.number)).all()[-1]
        assert latest.number == 2 and latest.request["notes"] == "Keep it gentle."
        # The large print a patient needs is not lost by changing the paper size.
        assert latest.options == {"large_print": True, "page_size": "letter"}


def test_a_patch_is_still_validated_field_by_field(client, clinics):
    plan = make_plan(client, clinics.a)
    url = f"/api/v1/plans/{plan['id']}"
    for body, field in (({"patient": {"display_name": ""}}, "patient.display_name"),
                        ({"screening": {"irritability": "extreme"}}, "screening.irritability"),
                        ({"screening": {"sleep": 1}}, "screening.sleep"),
                        ({"red_flag_clearance": {}}, "red_flag_clearance.note")):
        resp = client.patch(url, json=body, headers=clinics.a)
        assert resp.status_code == 422, body
        assert [e["field"] for e in resp.get_json()["errors"]] == [field]
    assert client.get(url, headers=clinics.a).get_json()["revision"] == 1
