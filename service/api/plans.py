"""/api/v1/plans: create, read, list and revise plans; fetch their handouts."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from service import planning
from service.api.bodies import require_json_body
from service.api.examples import (
    CREATE_REFUSALS,
    PLAN_CREATE_EXAMPLE,
    PLAN_EXAMPLE,
    PLAN_PAGE_EXAMPLE,
)
from service.api.pagination import LINK_HEADER_DOC, paginate
from service.api.schemas import (
    PATCH_MERGED_OBJECTS,
    HandoutPendingSchema,
    PlanCreateSchema,
    PlanListArgsSchema,
    PlanPageSchema,
    PlanPatchSchema,
    PlanSchema,
)
from service.auth import require_api_key
from service.errors import PROBLEM_MIME, ProblemSchema
from service.extensions import db
from service.handouts import handout_state, handout_states, html_response, pdf_response
from service.idempotency import idempotent
from service.models import Handout, Plan, PlanRevision, RenderJob

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans",
                description="Personalised home plans and their handouts.")
blp.before_request(require_api_key)
blp.before_request(require_json_body)

SECURITY = [{"bearerAuth": []}]


def plan_for_clinic(public_id: str) -> Plan:
    """Another clinic's plan answers 404, exactly like a plan that does not exist."""
    plan = db.session.scalar(
        select(Plan).where(Plan.public_id == public_id, Plan.clinic_id == g.clinic.id))
    if plan is None:
        abort(404, message="No plan with that id in your clinic.")
    return plan


def plan_view(plan: Plan,
              state: tuple[RenderJob | None, Handout | None] | None = None) -> dict[str, Any]:
    """`state` is the latest revision's (job, handout) when the caller loaded it for a page."""
    revision = plan.latest
    snap = revision.snapshot["plan"]
    job, handout = state if state is not None else handout_state(revision)
    status = "done" if handout else (job.status if job else "pending")
    return {
        "id": plan.public_id,
        "revision": revision.number,
        "patient": {"display_name": plan.patient_name, "reference": plan.patient_ref},
        "template": {"id": revision.template_id, "version": revision.template_version,
                     "content_hash": revision.template_hash},
        "title": snap["title"],
        "exercises": snap["exercises"],
        "red_flags_present": snap["red_flags_present"],
        "red_flag_clearance": snap["clearance"],
        "handout": {
            "status": status,
            "url": url_for("plans.PlanHandout", public_id=plan.public_id, _external=True),
            "html_url": url_for("plans.plan_handout_html", public_id=plan.public_id,
                                _external=True),
            "pages": handout.pages if handout else None,
            "sha256": handout.sha256 if handout else None,
        },
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
    }


@blp.route("")
class Plans(MethodView):
    @blp.arguments(PlanListArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, PlanPageSchema, headers=LINK_HEADER_DOC, example=PLAN_PAGE_EXAMPLE)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """List your clinic's plans, newest first, a page at a time"""
        # One query for the page's revisions rather than one per plan.
        query = select(Plan).where(Plan.clinic_id == g.clinic.id).options(
            selectinload(Plan.revisions))
        if args.get("patient_reference") is not None:
            query = query.where(Plan.patient_ref == args["patient_reference"])
        if args.get("template_id") is not None:
            # The template a plan uses now is its latest revision's.
            query = query.join(PlanRevision, and_(
                PlanRevision.plan_id == Plan.id, PlanRevision.number == Plan.current_revision,
            )).where(PlanRevision.template_id == args["template_id"])
        # The page's handout states in two statements (without PDF/HTML bytes), not two per plan.
        states: dict[int, tuple[RenderJob | None, Handout | None]] = {}

        def prefetch(plans: list[Plan]) -> None:
            states.update(handout_states(p.latest for p in plans))

        page, headers = paginate(query, Plan.created_at, Plan.public_id, args,
                                 lambda p: plan_view(p, states[p.latest.id]), prefetch)
        return page, 200, headers

    @idempotent
    @blp.arguments(PlanCreateSchema, example=PLAN_CREATE_EXAMPLE)
    @blp.response(201, PlanSchema, example=PLAN_EXAMPLE, headers={"Location": {
        "description": "The new plan's URL.", "schema": {"type": "string", "format": "uri"}}})
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM_MIME,
                      examples=CREATE_REFUSALS,
                      description="Invalid fields, an out-of-range dose, or red flags present "
                                  "without a recorded clearance; nothing was stored.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a plan from a template; its handout renders in the background"""
        plan = planning.create_plan(g.clinic, data, created_by=f"api-key:{g.api_key_id}")
        location = url_for("plans.PlanById", public_id=plan.public_id, _external=True)
        return plan_view(plan), 201, {"Location": location}


@blp.route("/<string:public_id>")
class PlanById(MethodView):
    @blp.response(200, PlanSchema, example=PLAN_EXAMPLE)
    @blp.doc(security=SECURITY)
    def get(self, public_id: str) -> dict[str, Any]:
        """One plan at its latest revision"""
        return plan_view(plan_for_clinic(public_id))

    # A retried PATCH would otherwise add a second, identical revision (and handout render).
    @idempotent
    @blp.arguments(PlanPatchSchema, example={"notes": "Week 3: hold the strap stretch longer.",
                                             "dose_changes": {"strap_hamstring_stretch":
                                                              {"hold_seconds": 40}}})
    @blp.response(200, PlanSchema, example=PLAN_EXAMPLE)
    @blp.doc(security=SECURITY)
    def patch(self, changes: dict[str, Any], public_id: str) -> dict[str, Any]:
        """Revise a plan: the fields sent change the latest revision's, making a new revision"""
        plan = plan_for_clinic(public_id)
        latest = plan.latest.request
        merged = {**latest, **changes}
        for name in PATCH_MERGED_OBJECTS:
            if name in changes and isinstance(latest.get(name), dict):
                merged[name] = {**latest[name], **changes[name]}
        planning.revise_plan(plan, g.clinic, merged, created_by=f"api-key:{g.api_key_id}")
        return plan_view(plan)


def _pending(plan: Plan, job: RenderJob | None) -> Response:
    """202 while the worker renders; a render that gave up is 503, never a silent wait."""
    status = job.status if job else "pending"
    if status == RenderJob.FAILED:
        abort(503, message="The handout could not be rendered; we have been alerted. "
                           "Revise the plan to try again.")
    resp = jsonify({"status": status, "plan_id": plan.public_id,
                    "revision": plan.latest.number})
    resp.status_code = 202
    resp.headers["Retry-After"] = "1"
    return resp


_PENDING_DOC = {"schema": HandoutPendingSchema, "headers": {
    "Retry-After": {"description": "Seconds to wait before asking again.",
                    "schema": {"type": "string"}}},
    "description": "Still rendering: the status, and Retry-After seconds to wait. A "
                   "subscribed webhook endpoint is also told when it is done."}
_FAILED_DOC = {"description": "The render failed for good; revising the plan renders it again."}


@blp.route("/<string:public_id>/handout")
class PlanHandout(MethodView):
    @blp.response(200, content_type="application/pdf",
                  description="The handout PDF of the latest revision.")
    @blp.alt_response(202, **_PENDING_DOC)
    @blp.alt_response(503, **_FAILED_DOC)
    @blp.doc(security=SECURITY)
    def get(self, public_id: str) -> Response:
        """The latest revision's handout: the PDF when ready, else 202 with its status"""
        plan = plan_for_clinic(public_id)
        job, handout = handout_state(plan.latest)
        if handout is None:
            return _pending(plan, job)
        return pdf_response(plan.public_id, plan.latest.number, handout)


@blp.route("/<string:public_id>/handout.html", endpoint="plan_handout_html")
class PlanHandoutHtml(MethodView):
    @blp.response(200, content_type="text/html",
                  description="The same handout as accessible HTML.")
    @blp.alt_response(202, **_PENDING_DOC)
    @blp.alt_response(503, **_FAILED_DOC)
    @blp.doc(security=SECURITY)
    def get(self, public_id: str) -> Response:
        """The same handout as accessible HTML, for screen readers"""
        plan = plan_for_clinic(public_id)
        job, handout = handout_state(plan.latest)
        if handout is None:
            return _pending(plan, job)
        return html_response(handout)
