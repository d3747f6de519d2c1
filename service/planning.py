"""Service layer between HTTP and the domain: assemble a plan, store its revision and outbox row."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import update

from plans.assembly import resolve_plan
from plans.catalogue import default_catalogue
from plans.errors import FieldProblem, PlanError, PlanRefused
from plans.guide import require_reachable
from plans.model import (
    CaudaEquinaRuleOut,
    ClinicInfo,
    HandoutOptions,
    HandoutSnapshot,
    Irritability,
    PageSize,
    PlanRequest,
    RedFlagClearance,
    RiskFactorReview,
    SameDayReview,
    Screening,
)
from plans.model import (
    Plan as DomainPlan,
)
from plans.printable import TextProblem, text_problems
from plans.snapshot import snapshot_to_dict
from service import audit, jsontext, plan_rows, problems, queue, transaction, webhooks
from service.extensions import db
from service.jsontext import EncodedJSON
from service.models import Clinic, Plan, PlanRevision, RenderJob, public_id, utcnow


def plan_request(data: dict[str, Any]) -> PlanRequest:
    """The validated API/form body (or the best-effort rest of an invalid one) as the domain's
    request. The first API's shapes map here: `red_flag_clearance.note` stays the plan's
    clearance and the rules read it as the reason explaining same-day signs (never as a cauda
    equina rule-out or a risk-factor review); `screening.nerve_symptoms` is a nerve finding."""
    screening = data.get("screening") or {}
    clearance = data.get("red_flag_clearance")
    ce = screening.get("cauda_equina_rule_out")
    rf = screening.get("risk_factor_review")
    sd = screening.get("same_day_review")
    return PlanRequest(
        template_id=data.get("template_id") or "",
        patient_name=(data.get("patient") or {}).get("display_name") or "",
        screening=Screening(
            red_flags=frozenset(screening.get("red_flags", [])),
            nerve_symptoms=bool(screening.get("nerve_symptoms", False)),
            irritability=Irritability(screening.get("irritability", "low")),
            desk_bound=bool(screening.get("desk_bound", False)),
            cauda_equina_rule_out=CaudaEquinaRuleOut(
                ce.get("assessed_by") or "", str(ce.get("assessed_on") or ""),
                ce.get("finding") or "") if ce else None,
            risk_factor_review=RiskFactorReview(
                rf.get("concern") or "", rf.get("decision") or "", rf.get("note") or "")
            if rf else None,
            same_day_review=SameDayReview(sd.get("action") or "", sd.get("reason") or "")
            if sd else None,
            tendon_referral=bool(screening.get("tendon_referral", False)),
        ),
        dose_changes=data.get("dose_changes") or {},
        add_exercises=tuple(data.get("add_exercises") or ()),
        remove_exercises=tuple(data.get("remove_exercises") or ()),
        notes=data.get("notes") or "",
        clearance=RedFlagClearance(clearance.get("note") or "")
        if isinstance(clearance, dict) else None,
        today=date.today().isoformat(),
    )


def resolve(data: dict[str, Any], clinic: Clinic | None = None
            ) -> tuple[DomainPlan | None, list[PlanError]]:
    """The plan this body would make and every problem with it (domain rules, registered
    checkers and, given the clinic, what its profile lacks for a handout); stores nothing."""
    plan, found = resolve_plan(default_catalogue(), plan_request(data))
    found = found + problems.checker_problems(data)
    if clinic is not None:
        found = clinic_problems(clinic) + found
    return plan, problems.unique(found)


def stored_request_for_check(request: dict[str, Any]) -> dict[str, Any]:
    """A stored request as a create body: without the marker the screening migration put on a
    mapped same-day review (not a field of the API), so re-checking it reports only real
    problems."""
    screening = request.get("screening")
    review = screening.get("same_day_review") if isinstance(screening, dict) else None
    if isinstance(review, dict) and "from" in review:
        review = {k: v for k, v in review.items() if k != "from"}
        request = {**request, "screening": {**screening, "same_day_review": review}}
    return request


def check_raw(schema: Schema, raw: Any, clinic: Clinic | None = None
              ) -> tuple[dict[str, Any] | None, DomainPlan | None, list[PlanError]]:
    """(loaded body or None, resolved plan or None, every problem) for a raw request body:
    the schema's errors and, on the rest of the body, the domain's, the checkers' and the
    clinic's (when given)."""
    if not isinstance(raw, dict):
        found = problems.from_messages({"body": ["Send a JSON object."]})
        return None, None, found + (clinic_problems(clinic) if clinic is not None else [])
    try:
        data = schema.load(raw)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"body": exc.messages}
        found = problems.from_messages(messages)
        try:
            rest = schema.load(problems.without_errors(raw, messages), partial=True)
        except ValidationError:
            more = problems.checker_problems(raw)
            if clinic is not None:
                more = clinic_problems(clinic) + more
            return None, None, problems.unique(found + more)
        plan, more = resolve(rest, clinic)
        return None, plan, problems.unique(found + more)
    plan, found = resolve(data, clinic)
    return data, plan, found


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


def request_text_problems(data: dict[str, Any]) -> list[TextProblem]:
    """The request's own texts the handout prints. The body may be raw (not validated): a
    value that is not text is the schema's problem, not this check's."""
    patient = data.get("patient")
    name = patient.get("display_name") if isinstance(patient, dict) else None

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    return text_problems([("patient.display_name", text(name), False),
                          ("clinician", text(data.get("clinician")), False),
                          ("notes", text(data.get("notes")), True)])


def printable_problems(clinic: Clinic, data: dict[str, Any]) -> list[TextProblem]:
    """Every text of this plan's handout that came from a person rather than the vetted
    catalogue, checked again here: the API schema and the forms check what was just sent, but a
    revision also carries forward what an older revision stored, and the clinic's details were
    saved elsewhere. A render must never be left to fail on them."""
    return request_text_problems(data) + clinic_text_problems(clinic)


@problems.register
def printable_checker(body: dict[str, Any]) -> list[PlanError]:
    """Unprintable request text as problems of the one list (with screening, doses, fields),
    for the API, its preview, the builder and the embed alike. The schema's validator reports
    what was just sent with the same field and message (the list keeps one of them); this also
    covers text a revision carries forward from an older stored request."""
    return [FieldProblem(p.field, p.message) for p in request_text_problems(body)]


def clinic_problems(clinic: Clinic) -> list[PlanError]:
    """What the clinic's profile lacks or holds that every handout of this clinic would need:
    a way to reach it (phone, out-of-hours route) and details the handout can print. Fixed on
    the clinic profile page, so the messages say so; they join the request's one list."""
    found: list[PlanError] = []
    try:
        require_reachable(clinic_info(clinic))
    except PlanError as error:
        found.append(error)
    # One problem per field: an out-of-hours route of only invisible characters is a missing
    # route, and saying so once is clearer than also saying it prints as nothing.
    missing = {p.field for p in found}
    found += [FieldProblem(p.field, p.message) for p in clinic_text_problems(clinic)
              if p.field not in missing]
    return found


def _assemble_revision(plan: Plan, clinic: Clinic, number: int, data: dict[str, Any],
                       created_by: str) -> tuple[PlanRevision, RenderJob, EncodedJSON]:
    """Assemble (raising PlanRefused with every problem before anything is written) the
    revision and its outbox row, not yet added to the session, and the snapshot's canonical
    text (its hash is of that text; a plain INSERT stores it without encoding it again). A
    clinic the handout cannot tell patients how to reach, and text it cannot print (the
    request's, carried forward or new, and the clinic's), are more problems in the same
    list."""
    info = clinic_info(clinic)
    domain_plan, found = resolve(data, clinic)
    if found or domain_plan is None:
        raise PlanRefused(found)
    options = handout_options(data)
    snapshot = snapshot_to_dict(HandoutSnapshot(
        plan_id=plan.public_id,
        revision=number,
        created_on=date.today().isoformat(),
        clinician=data.get("clinician") or "",
        clinic=info,
        plan=domain_plan,
    ))
    now = utcnow()
    encoded = jsontext.canonical(snapshot)
    revision = PlanRevision(
        plan=plan, number=number,
        template_id=domain_plan.template_id,
        template_version=domain_plan.template_version,
        template_hash=domain_plan.template_hash,
        request=data, snapshot=snapshot, snapshot_sha256=jsontext.sha256(encoded),
        options={"large_print": options.large_print, "page_size": options.page_size.value},
        created_by=created_by, created_at=now,
    )
    # Queued already, as if sent: see _commit_then_dispatch.
    job = RenderJob(revision=revision, options_key=options.key, options=revision.options,
                    status=RenderJob.QUEUED, attempts=0, sent_at=now, error="", created_at=now)
    return revision, job, encoded


def _add_revision(plan: Plan, clinic: Clinic, number: int, data: dict[str, Any],
                  created_by: str) -> RenderJob:
    """Assemble and stage revision + outbox row on an existing plan, through the session."""
    revision, job, _ = _assemble_revision(plan, clinic, number, data, created_by)
    db.session.add(revision)
    db.session.add(job)
    plan.current_revision = number
    plan.updated_at = utcnow()
    return job


def create_plan(clinic: Clinic, data: dict[str, Any], created_by: str = ""
                ) -> tuple[Plan, RenderJob]:
    """Store a new plan and its first revision in one transaction, then hand the render over.
    Returns the plan and its render job (so an answer can show its state without reading it
    back).

    The plan, revision, render job and audit rows are plain INSERTs (service/plan_rows.py), not
    the session's unit of work: the objects returned are filled in, ids included, but are not
    in the session. Read them; do not change them.

    Raises plans.errors.PlanError (nothing stored) when the domain refuses the request.
    """
    patient = data["patient"]
    # The id goes into the snapshot before the row is inserted, so it is set here. Created and
    # updated at the same instant: a plan must never look updated before it was created.
    now = utcnow()
    plan = Plan(public_id=public_id("pln"), clinic_id=clinic.id, created_at=now, updated_at=now,
                current_revision=1, patient_name=patient["display_name"],
                patient_ref=patient.get("reference") or None)
    revision, job, snapshot_text = _assemble_revision(plan, clinic, 1, data, created_by)
    try:
        event = audit.event_values(audit.PLAN_CREATED, clinic_id=clinic.id,
                                   actor=created_by or "system", target=plan.public_id,
                                   detail={"revision": 1})
        plan_rows.insert_new_plan(db.session.connection(), plan, revision, job, event,
                                  snapshot_text)
        webhooks.record_plan_event(plan, revision, "plan.created")
        _commit_then_dispatch(job)
    except Exception:
        db.session.rollback()
        raise
    return plan, job


def revise_plan(plan: Plan, clinic: Clinic, data: dict[str, Any], created_by: str = ""
                ) -> tuple[Plan, RenderJob]:
    """A new immutable revision from the merged request; the old revisions stay as they were.
    Returns the plan and the new revision's render job."""
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
    return plan, job


def _commit_then_dispatch(job: RenderJob) -> None:
    """Commit (or, inside an idempotent request, leave the one commit to it), then hand the
    render over.

    The job is staged already marked queued, as if sent: the request's one commit, not a
    second one after the send (on SQLite each commit is a disk sync, most of a creation's
    time). A failed hand-over is not an error: the job goes back to pending and the sweeper
    sends it. A process that dies between the commit and the send leaves it queued with no
    message; the sweeper re-sends it after STUCK_AFTER_SECONDS (docs/decisions.md, Outbox)."""
    db.session.flush()
    job_id = job.id

    def dispatch_render() -> None:
        dispatch(job_id)

    transaction.commit(after=dispatch_render)


def dispatch(job_id: int) -> bool:
    """Send a committed, queued render job to the broker; when the broker cannot take it, put it
    back to pending (unless a worker already moved it on) for the sweeper to send."""
    if queue.send(queue.RENDER_TASK, job_id):
        return True
    db.session.execute(
        update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.status == RenderJob.QUEUED)
        .values(status=RenderJob.PENDING, sent_at=None)
    )
    db.session.commit()
    return False
