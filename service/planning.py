"""Service layer between HTTP and the domain: assemble a plan, store its revision and outbox row."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import update

from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.errors import UnprintableText
from plans.guide import require_reachable
from plans.model import (
    ClinicInfo,
    HandoutOptions,
    HandoutSnapshot,
    Irritability,
    PageSize,
    PlanRequest,
    RedFlagClearance,
    Screening,
)
from plans.printable import TextProblem, text_problems
from plans.snapshot import snapshot_to_dict
from service import audit, queue, transaction, webhooks
from service.extensions import db
from service.models import Clinic, Plan, PlanRevision, RenderJob, public_id, utcnow


def plan_request(data: dict[str, Any]) -> PlanRequest:
    """The validated API/form body as the domain's request."""
    screening = data.get("screening") or {}
    clearance = data.get("red_flag_clearance")
    return PlanRequest(
        template_id=data["template_id"],
        patient_name=data["patient"]["display_name"],
        screening=Screening(
            red_flags=frozenset(screening.get("red_flags", [])),
            nerve_symptoms=screening.get("nerve_symptoms", False),
            irritability=Irritability(screening.get("irritability", "low")),
            desk_bound=screening.get("desk_bound", False),
        ),
        dose_changes=data.get("dose_changes") or {},
        add_exercises=tuple(data.get("add_exercises") or ()),
        remove_exercises=tuple(data.get("remove_exercises") or ()),
        notes=data.get("notes") or "",
        clearance=RedFlagClearance(clearance["note"]) if clearance else None,
    )


def handout_options(data: dict[str, Any]) -> HandoutOptions:
    opts = data.get("handout") or {}
    return HandoutOptions(
        large_print=bool(opts.get("large_print", False)),
        page_size=PageSize(opts.get("page_size", "letter")),
    )


def clinic_info(clinic: Clinic) -> ClinicInfo:
    import base64

    logo = base64.b64encode(clinic.logo_png).decode() if clinic.logo_png else ""
    return ClinicInfo(name=clinic.name, contact=clinic.contact,
                      emergency_number=clinic.emergency_number, logo_png_b64=logo,
                      out_of_hours=clinic.out_of_hours or "")


def clinic_text_problems(clinic: Clinic) -> list[TextProblem]:
    """The clinic's own texts every one of its handouts prints, named as the clinic profile
    form names them under `clinic.`."""
    found = text_problems([("clinic.name", clinic.name, False),
                           ("clinic.contact", clinic.contact, False),
                           ("clinic.emergency_number", clinic.emergency_number, False),
                           ("clinic.out_of_hours", clinic.out_of_hours, False)])
    return [TextProblem(p.field, f"{p.message} A clinic admin can change it on the clinic "
                                 "profile page (Clinic profile in the admin menu).", p.code_points)
            for p in found]


def printable_problems(clinic: Clinic, data: dict[str, Any]) -> list[TextProblem]:
    """Every text of this plan's handout that came from a person rather than the vetted
    catalogue, checked again here: the API schema and the forms check what was just sent, but a
    revision also carries forward what an older revision stored, and the clinic's details were
    saved elsewhere. A render must never be left to fail on them."""
    patient = data.get("patient") or {}
    return text_problems([("patient.display_name", patient.get("display_name"), False),
                          ("clinician", data.get("clinician"), False),
                          ("notes", data.get("notes"), True)]) + clinic_text_problems(clinic)


def _canonical_sha256(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def _add_revision(plan: Plan, clinic: Clinic, number: int, data: dict[str, Any],
                  created_by: str) -> RenderJob:
    """Assemble (raising PlanError before anything is written) and stage revision + outbox row."""
    problems = printable_problems(clinic, data)
    if problems:
        raise UnprintableText(problems)
    info = clinic_info(clinic)
    require_reachable(info)
    domain_plan = assemble_plan(default_catalogue(), plan_request(data))
    options = handout_options(data)
    snapshot = snapshot_to_dict(HandoutSnapshot(
        plan_id=plan.public_id,
        revision=number,
        created_on=date.today().isoformat(),
        clinician=data.get("clinician") or "",
        clinic=info,
        plan=domain_plan,
    ))
    revision = PlanRevision(
        plan=plan, number=number,
        template_id=domain_plan.template_id,
        template_version=domain_plan.template_version,
        template_hash=domain_plan.template_hash,
        request=data, snapshot=snapshot, snapshot_sha256=_canonical_sha256(snapshot),
        options={"large_print": options.large_print, "page_size": options.page_size.value},
        created_by=created_by,
    )
    db.session.add(revision)
    job = RenderJob(revision=revision, options_key=options.key, options=revision.options)
    db.session.add(job)
    plan.current_revision = number
    plan.updated_at = utcnow()
    return job


def create_plan(clinic: Clinic, data: dict[str, Any], created_by: str = "") -> Plan:
    """Store a new plan and its first revision in one transaction, then hand the render over.

    Raises plans.errors.PlanError (nothing stored) when the domain refuses the request.
    """
    patient = data["patient"]
    # The id goes into the snapshot before the row is flushed, so it is set here, not by default.
    # Set here, not by the column default at flush: the first revision sets updated_at just
    # below, and a plan must never look updated before it was created.
    plan = Plan(public_id=public_id("pln"), clinic_id=clinic.id, created_at=utcnow(),
                patient_name=patient["display_name"],
                patient_ref=patient.get("reference") or None)
    db.session.add(plan)
    try:
        job = _add_revision(plan, clinic, 1, data, created_by)
        webhooks.record_plan_event(plan, job.revision, "plan.created")
        audit.record(audit.PLAN_CREATED, clinic_id=clinic.id, actor=created_by or "system",
                     target=plan.public_id, detail={"revision": 1})
        _commit_then_dispatch(job)
    except Exception:
        db.session.rollback()
        raise
    return plan


def revise_plan(plan: Plan, clinic: Clinic, data: dict[str, Any], created_by: str = "") -> Plan:
    """A new immutable revision from the merged request; the old revisions stay as they were."""
    if "patient" in data:
        plan.patient_name = data["patient"]["display_name"]
        plan.patient_ref = data["patient"].get("reference") or None
    try:
        number = plan.current_revision + 1
        job = _add_revision(plan, clinic, number, data, created_by)
        webhooks.record_plan_event(plan, job.revision, "plan.revised")
        audit.record(audit.PLAN_REVISED, clinic_id=clinic.id, actor=created_by or "system",
                     target=plan.public_id, detail={"revision": number})
        _commit_then_dispatch(job)
    except Exception:
        db.session.rollback()
        raise
    return plan


def _commit_then_dispatch(job: RenderJob) -> None:
    """Commit (or, inside an idempotent request, leave the one commit to it), then hand the
    render over. A failed hand-over is not an error: the job is pending and the sweeper
    sends it."""
    db.session.flush()
    job_id = job.id

    def dispatch_render() -> None:
        dispatch(job_id)

    transaction.commit(after=dispatch_render)


def dispatch(job_id: int) -> bool:
    """Send a render job to the broker and mark it queued, unless a worker already moved it on."""
    if not queue.send(queue.RENDER_TASK, job_id):
        return False
    db.session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.status == RenderJob.PENDING)
        .values(status=RenderJob.QUEUED, sent_at=utcnow())
    )
    db.session.commit()
    return True
