"""Clinician pages for plans: list and search, the builder, the plan page and its handout."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, or_, select

from plans.catalogue import default_catalogue
from plans.errors import UnknownTemplate
from service import audit, erasure
from service.accounts.sessions import admin_required, clinician_required
from service.extensions import db
from service.handouts import (
    failure_of,
    handout_state,
    html_response,
    pdf_response,
    ready_handout,
)
from service.models import Handout, Plan, PlanRevision
from service.security import relax_csp, set_frame_ancestors
from service.ui import builder

blp = Blueprint("ui_plans", __name__, url_prefix="/plans")
PAGE_SIZE = 25


def plan_in_clinic(public_id: str) -> Plan:
    """Another clinic's plan is a 404, exactly like one that does not exist."""
    plan = db.session.scalar(select(Plan).where(Plan.public_id == public_id,
                                                Plan.clinic_id == g.clinic.id))
    if plan is None:
        abort(404, description="There is no plan with that id in your clinic.")
    return plan


def revision_of(plan: Plan, number: int | None) -> PlanRevision:
    if number is None:
        return plan.latest
    for revision in plan.revisions:
        if revision.number == number:
            return revision
    abort(404, description="That plan has no such revision.")


def status_of(revision: PlanRevision) -> str:
    job, handout = handout_state(revision)
    return "done" if handout else (job.status if job else "pending")


def _created_by(clinician_id: int) -> str:
    return f"clinician:{clinician_id}"


def _builder_page(form: builder.BuilderForm, plan: Plan | None, status: int = 200
                  ) -> tuple[str, int]:
    action = (url_for("ui_plans.edit", public_id=plan.public_id) if plan
              else url_for("ui_plans.build", template_id=form.template.id))
    return render_template("ui/builder_page.html", form=form, plan=plan, action=action,
                           emergency_number=g.clinic.emergency_number), status


@blp.get("")
@clinician_required
def plan_list() -> str:
    """Recent plans. Search is a POST (see search) so no name or reference enters a URL."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = (select(Plan).where(Plan.clinic_id == g.clinic.id)
             .order_by(Plan.updated_at.desc(), Plan.id.desc()))
    plans = db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template("ui/plan_list.html", plans=plans[:PAGE_SIZE], page=page,
                           more=len(plans) > PAGE_SIZE, query="", searched=False,
                           status_of=status_of)


@blp.post("/search")
@clinician_required
def search() -> str:
    """Patient name (contains) or reference (starts with), within the clinic only."""
    text = request.form.get("q", "").strip()[:120]
    if not text:
        return plan_list()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (select(Plan).where(Plan.clinic_id == g.clinic.id).where(or_(
        func.lower(Plan.patient_name).like(f"%{escaped.lower()}%", escape="\\"),
        func.lower(Plan.patient_ref).like(f"{escaped.lower()}%", escape="\\")))
        .order_by(Plan.updated_at.desc()).limit(100))
    plans = db.session.scalars(query).all()
    return render_template("ui/plan_list.html", plans=plans, page=1, more=False, query=text,
                           searched=True, status_of=status_of)


@blp.get("/new")
@clinician_required
def choose_template() -> str:
    templates = default_catalogue().approved_templates()
    return render_template("ui/choose_template.html", templates=templates,
                           one_line=builder.one_line, template_exercises=builder.template_exercises)


def _template(template_id: str):  # noqa: ANN202
    try:
        return default_catalogue().template(template_id)
    except UnknownTemplate:
        abort(404, description="There is no approved template with that id.")


@blp.route("/new/<template_id>", methods=["GET", "POST"])
@clinician_required
def build(template_id: str) -> Response | tuple[str, int]:
    template = _template(template_id)
    if request.method == "GET":
        return _builder_page(builder.blank_form(template), None)
    form = builder.form_from_post(template, request.form)
    plan = builder.save(form, g.clinic, created_by=_created_by(g.clinician.id),
                        clinician_name=g.clinician.name)
    if plan is None:
        return _builder_page(form, None, 422)
    return redirect(url_for("ui_plans.show", public_id=plan.public_id), code=303)


@blp.route("/<public_id>/edit", methods=["GET", "POST"])
@clinician_required
def edit(public_id: str) -> Response | tuple[str, int]:
    plan = plan_in_clinic(public_id)
    template = _template(plan.latest.template_id)
    if request.method == "GET":
        audit.record_read(plan.public_id, plan.clinic_id, "edit_form", "ui", plan.latest.number)
        return _builder_page(builder.form_from_request(template, plan.latest.request), plan)
    form = builder.form_from_post(template, request.form)
    saved = builder.save(form, g.clinic, created_by=_created_by(g.clinician.id),
                         clinician_name=g.clinician.name, plan=plan)
    if saved is None:
        return _builder_page(form, plan, 422)
    return redirect(url_for("ui_plans.show", public_id=plan.public_id), code=303)


@blp.get("/<public_id>")
@clinician_required
def show(public_id: str) -> str:
    plan = plan_in_clinic(public_id)
    revision = revision_of(plan, request.args.get("revision", type=int))
    audit.record_read(plan.public_id, plan.clinic_id, "plan", "ui", revision.number)
    job, _ = handout_state(revision)
    return render_template("ui/plan.html", plan=plan, revision=revision,
                           snapshot=revision.snapshot, status=status_of(revision),
                           failure=failure_of(job),
                           catalogue=default_catalogue(), status_of=status_of)


@blp.route("/<public_id>/erase", methods=["GET", "POST"])
@admin_required
def erase(public_id: str) -> Response | tuple[str, int]:
    """GET asks a clinic admin to confirm (so it works without script); only the POST erases,
    exactly as DELETE /api/v1/plans/{id} does."""
    plan = plan_in_clinic(public_id)
    if request.method == "GET":
        return render_template("ui/plan_erase.html", plan=plan), 200
    erasure.erase_plan(plan, actor=_created_by(g.clinician.id))
    db.session.commit()
    # The id only: the patient's name must not travel in a URL.
    return redirect(url_for("ui_plans.plan_list", erased=public_id), code=303)


@blp.get("/<public_id>/status")
@clinician_required
def status(public_id: str) -> Response:
    """For the plan page's script: the render status of one revision, ids only."""
    plan = plan_in_clinic(public_id)
    revision = revision_of(plan, request.args.get("revision", type=int))
    job, handout = handout_state(revision)
    body: dict[str, Any] = {"plan_id": plan.public_id, "revision": revision.number,
                            "status": status_of(revision),
                            "pages": handout.pages if handout else None}
    failure = failure_of(job)
    if failure is not None:
        # Says what to change; the field is a form or clinic profile field name, never text.
        body.update(message=failure.message, field=failure.field)
    return jsonify(body)


def _handout(public_id: str) -> tuple[Plan, PlanRevision, Handout]:
    plan = plan_in_clinic(public_id)
    revision = revision_of(plan, request.args.get("revision", type=int))
    return plan, revision, ready_handout(revision)


@blp.get("/<public_id>/handout.pdf")
@clinician_required
def handout_pdf(public_id: str) -> Response:
    plan, revision, handout = _handout(public_id)
    audit.record_read(plan.public_id, plan.clinic_id, "pdf", "ui", revision.number)
    # The Print button loads the PDF in a frame on the plan page; only our own pages may.
    set_frame_ancestors(["'self'"])
    return pdf_response(plan.public_id, revision.number, handout)


@blp.get("/<public_id>/handout.html")
@clinician_required
def handout_html(public_id: str) -> Response:
    plan, revision, handout = _handout(public_id)
    audit.record_read(plan.public_id, plan.clinic_id, "html", "ui", revision.number)
    # The renderer writes its print styles inline; scripts stay forbidden.
    relax_csp(style_src="'self' 'unsafe-inline'")
    return html_response(handout)
