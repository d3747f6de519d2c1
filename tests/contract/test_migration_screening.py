"""Migration 0013_screening: stored screenings map to the new model and back, losing nothing;
stored snapshots (what the patient was handed) are never touched."""

from __future__ import annotations

import copy

from alembic import command
from sqlalchemy import select

OLD_SAME_DAY = {
    "template_id": "core_routine", "patient": {"display_name": "A. B.", "reference": None},
    "screening": {"red_flags": ["night_pain"], "nerve_symptoms": True, "irritability": "low",
                  "desk_bound": False},
    "red_flag_clearance": {"note": "Night pain is the shoulder; GP reviewed it last week."},
}
OLD_CAUDA = {**OLD_SAME_DAY, "screening": {**OLD_SAME_DAY["screening"],
                                           "red_flags": ["saddle_numbness"]}}


def test_upgrade_maps_the_clearance_and_downgrade_restores_the_stored_request(app):
    from service import schema
    from service.extensions import db
    from service.models import Clinic, Plan, PlanRevision

    with app.app_context():
        clinic = Clinic(slug="mig", name="Mig")
        db.session.add(clinic)
        db.session.flush()
        rows = []
        for i, request in enumerate((OLD_SAME_DAY, OLD_CAUDA)):
            plan = Plan(public_id=f"pln_mig{i}", clinic_id=clinic.id, patient_name="A. B.")
            db.session.add(plan)
            db.session.flush()
            rev = PlanRevision(plan_id=plan.id, number=1, template_id="core_routine",
                               template_version=1, template_hash="0" * 64,
                               request=copy.deepcopy(request), snapshot={"old": "handout"},
                               snapshot_sha256="0" * 64, options={})
            db.session.add(rev)
            rows.append(rev)
        db.session.commit()
        ids = [r.id for r in rows]

        url = app.config["SQLALCHEMY_DATABASE_URI"]
        with db.engine.begin() as connection:
            cfg = schema.alembic_config(url)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0012_operators")
            command.upgrade(cfg, "0013_screening")
        db.session.expire_all()

        def stored(i: int) -> PlanRevision:
            return db.session.scalar(select(PlanRevision).where(PlanRevision.id == ids[i]))

        same_day, cauda = stored(0), stored(1)
        assert same_day.request["screening"]["same_day_review"] == {
            "action": "explained", "reason": OLD_SAME_DAY["red_flag_clearance"]["note"],
            "from": "red_flag_clearance"}
        # Nothing the clinician recorded is dropped; the cauda equina note cannot be mapped
        # (no who or when) and stays as it was.
        assert same_day.request["red_flag_clearance"] == OLD_SAME_DAY["red_flag_clearance"]
        assert cauda.request == OLD_CAUDA
        assert same_day.snapshot == {"old": "handout"} == cauda.snapshot

        with db.engine.begin() as connection:
            cfg = schema.alembic_config(url)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0012_operators")
        db.session.expire_all()
        assert stored(0).request == OLD_SAME_DAY and stored(1).request == OLD_CAUDA
        schema.upgrade(app)
