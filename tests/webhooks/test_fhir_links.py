"""A clinic that opts in gets the FHIR bundle's URL in plan.created and handout.ready."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.webhooks.conftest import make_plan, register


def _events(app) -> list[tuple[str, dict]]:
    from service.extensions import db
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [(r.event_type, json.loads(r.payload)["data"]) for r in rows]


def _opt_in(app, on: bool) -> None:
    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        db.session.scalar(select(Clinic).where(Clinic.slug == "clinic-a")).fhir_in_webhooks = on
        db.session.commit()


def _render(app) -> None:
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    with app.app_context():
        for job_id in db.session.scalars(select(RenderJob.id).where(
                RenderJob.status != RenderJob.DONE)).all():
            render_handout(job_id)


def test_fhir_url_only_for_a_clinic_that_opted_in_and_only_on_its_two_events(app, client,
                                                                              clinics):
    register(client, clinics.a, "http://127.0.0.1:9/hooks")
    make_plan(client, clinics.a)
    assert all("fhir_url" not in data for _, data in _events(app))

    _opt_in(app, True)
    plan = make_plan(client, clinics.a)
    assert client.patch(f"/api/v1/plans/{plan['id']}", headers=clinics.a,
                        json={"screening": {"desk_bound": True}}).status_code == 200
    _render(app)
    links = {(kind, data["revision"]): data.get("fhir_url") for kind, data in _events(app)
             if data["plan_id"] == plan["id"]}
    base = f"/api/v1/plans/{plan['id']}/revisions"
    assert links[("plan.created", 1)].endswith(f"{base}/1/fhir")
    assert links[("plan.revised", 2)] is None
    assert links[("handout.ready", 2)].endswith(f"{base}/2/fhir")
    # The link answers with the bundle of that revision, for this clinic's key only.
    path = urlsplit(links[("plan.created", 1)]).path
    resp = client.get(path, headers=clinics.a)
    assert resp.status_code == 200 and resp.mimetype == "application/fhir+json"
    assert client.get(path, headers=clinics.b).status_code == 404
