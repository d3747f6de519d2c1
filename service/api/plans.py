"""/api/v1/plans: create, read, list and revise plans; fetch their handouts."""

from __future__ import annotations

from typing import Any

from flask import Request, Response, g, jsonify, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, ValidationError
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload
from webargs.flaskparser import FlaskParser
from webargs.flaskparser import abort as webargs_abort

from plans.snapshot import plan_to_dict
from service import audit, erasure, planning
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
    HandoutWaitArgsSchema,
    PlanCreateSchema,
    PlanListArgsSchema,
    PlanPageSchema,
    PlanPatchSchema,
    PlanPreviewSchema,
    PlanSchema,
)
from service.auth import require_api_key
from service.errors import PROBLEM_MIME, ProblemSchema, problem, problem_entry
from service.extensions import db
from service.handout_wait import retry_after_seconds, wait_until_settled
from service.handouts import (
    failure_of,
    handout_state,
    handout_states,
    html_response,
    pdf_response,
)
from service.idempotency import idempotent
from service.models import Handout, Plan, PlanRevision, RenderJob


class _AllProblemsParser(FlaskParser):
    """A create body with invalid fields is also checked against the screening, dose and
    registered rules, so the one 422 lists every problem, not the first stage's."""

    def handle_error(self, error: ValidationError, req: Request, schema: Schema, *,
                     error_status_code: int | None,
                     error_headers: Any) -> Any:  # noqa: ANN401
        raw = req.get_json(silent=True)
        found = []
        if req.method == "POST" and isinstance(schema, PlanCreateSchema):
            _, _, found = planning.check_raw(PlanCreateSchema(), raw, g.clinic)
        elif req.method == "PATCH" and isinstance(schema, PlanPatchSchema) \
                and isinstance(raw, dict):
            # The revision the PATCH would make: the latest request with these changes.
            latest = plan_for_clinic((req.view_args or {}).get("public_id", "")).latest
            merged = planning.stored_request_for_check(merge_patch(latest.request, raw))
            _, _, found = planning.check_raw(PlanCreateSchema(), merged, g.clinic)
        if found:
            webargs_abort(422, errors=[problem_entry(p) for p in found], headers=error_headers)
        super().handle_error(error, req, schema, error_status_code=error_status_code,
                             error_headers=error_headers)


blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans",
                description="Personalised home plans and their handouts.")
blp.ARGUMENTS_PARSER = _AllProblemsParser()
blp.before_request(require_api_key)
blp.before_request(require_json_body)

SECURITY = [{"bearerAuth": []}]
# An instance, not the class: webargs would build a schema (copying every field) per request.
CREATE_BODY = PlanCreateSchema()


def plan_for_clinic(public_id: str) -> Plan:
    """Another clinic's plan answers 404, exactly like a plan that does not exist."""
    plan = db.session.scalar(
        select(Plan).where(Plan.public_id == public_id, Plan.clinic_id == g.clinic.id))
    if plan is None:
        abort(404, message="No plan with that id in your clinic.")
    return plan


def merge_patch(latest: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The request a PATCH makes: `patient`, `screening` and `handout` merge key by key into
    the latest revision's; any other field sent replaces it whole."""
    merged = {**latest, **changes}
    for name in PATCH_MERGED_OBJECTS:
        if isinstance(changes.get(name), dict) and isinstance(latest.get(name), dict):
            merged[name] = {**latest[name], **changes[name]}
    return merged


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
        "left_out": snap.get("left_out", []),
        "red_flags_present": snap["red_flags_present"],
        "red_flag_clearance": snap["clearance"],
        "handout": {
            "status": status,
            # This revision's own URLs: they keep serving it after the plan is revised.
            "url": url_for("plans.revision_handout", public_id=plan.public_id,
                           number=revision.number, _external=True),
            "html_url": url_for("plans.revision_handout_html", public_id=plan.public_id,
                                number=revision.number, _external=True),
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
    @blp.arguments(CREATE_BODY, example=PLAN_CREATE_EXAMPLE)
    @blp.response(201, PlanSchema, example=PLAN_EXAMPLE, headers={"Location": {
        "description": "The new plan's URL.", "schema": {"type": "string", "format": "uri"}}})
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM_MIME,
                      examples=CREATE_REFUSALS,
                      description="Invalid fields, an out-of-range dose, or red flags present "
                                  "without a recorded clearance; nothing was stored.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Create a plan from a template; its handout renders in the background"""
        plan, job = planning.create_plan(g.clinic, data, created_by=f"api-key:{g.api_key_id}")
        location = url_for("plans.PlanById", public_id=plan.public_id, _external=True)
        return plan_view(plan, (job, None)), 201, {"Location": location}


@blp.route("/preview")
class PlanPreview(MethodView):
    @blp.arguments(CREATE_BODY, example=PLAN_CREATE_EXAMPLE)
    @blp.response(200, PlanPreviewSchema)
    @blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM_MIME,
                      examples={"invalid-fields": {**CREATE_REFUSALS["invalid-fields"], "value": {
                          **CREATE_REFUSALS["invalid-fields"]["value"],
                          "instance": "/api/v1/plans/preview"}}},
                      description="The body is not a plan request (invalid fields); every "
                                  "problem is listed, as create would list them.")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """See a plan before saving: the same body as create; nothing is stored or sent

        Returns the exercises after the screening's swaps and exclusions, each with why it
        changed (`adapted_because`, `replaced`) and its allowed dose range after the swap, the
        exercises left out and why, and every problem that would refuse the plan (as create's
        422 lists them). `ok` is true when create would accept the body. A body with invalid
        fields is 422, exactly as create answers it.
        """
        plan, found = planning.resolve(data, g.clinic)
        if plan is None:
            return {"ok": False, "template": None, "exercises": [], "left_out": [],
                    "problems": [problem_entry(p) for p in found]}
        d = plan_to_dict(plan)
        return {"ok": not found,
                "template": {"id": plan.template_id, "version": plan.template_version,
                             "content_hash": plan.template_hash},
                "exercises": d["exercises"], "left_out": d["left_out"],
                "problems": [problem_entry(p) for p in found]}


@blp.route("/<string:public_id>")
class PlanById(MethodView):
    @blp.response(200, PlanSchema, example=PLAN_EXAMPLE)
    @blp.doc(security=SECURITY)
    def get(self, public_id: str) -> dict[str, Any]:
        """One plan at its latest revision"""
        plan = plan_for_clinic(public_id)
        audit.record_read(plan.public_id, plan.clinic_id, "plan", "api", plan.latest.number)
        return plan_view(plan)

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
        merged = merge_patch(plan.latest.request, changes)
        _, job = planning.revise_plan(plan, g.clinic, merged,
                                      created_by=f"api-key:{g.api_key_id}")
        return plan_view(plan, (job, None))

    @blp.response(204, description="Erased: the plan, its revisions and handouts are gone, "
                                   "and its id answers 404 from now on.")
    @blp.doc(security=SECURITY)
    def delete(self, public_id: str) -> tuple[str, int]:
        """Erase a plan: its patient data, every revision and every handout"""
        plan = plan_for_clinic(public_id)
        erasure.erase_plan(plan, actor=f"api-key:{g.api_key_id}")
        db.session.commit()
        return "", 204


def _pending(plan: Plan, revision: PlanRevision, job: RenderJob | None) -> Response:
    """202 while the worker renders. A render refused for its text is 409 naming the field to
    change; one that gave up for another reason is 503. Never a silent wait."""
    status = job.status if job else "pending"
    failure = failure_of(job)
    if failure is not None and failure.permanent:
        return problem(409, "The handout cannot be printed", failure.message,
                       kind="handout-cannot-be-printed",
                       errors=[{"field": failure.field or "body", "message": failure.message}])
    if failure is not None:
        abort(503, message=failure.message)
    resp = jsonify({"status": status, "plan_id": plan.public_id, "revision": revision.number})
    resp.status_code = 202
    resp.headers["Retry-After"] = str(retry_after_seconds(job))
    return resp


def _revision(plan: Plan, number: int) -> PlanRevision:
    revision = db.session.scalar(select(PlanRevision).where(
        PlanRevision.plan_id == plan.id, PlanRevision.number == number))
    if revision is None:
        abort(404, message=f"This plan has no revision {number}.")
    return revision


def _serve(plan: Plan, revision: PlanRevision, kind: str, wait: float = 0) -> Response:
    job, handout = handout_state(revision, load=kind)
    if handout is None and failure_of(job) is None and wait > 0 \
            and wait_until_settled(revision.id, wait):
        job, handout = handout_state(revision, load=kind)
    if handout is None:
        return _pending(plan, revision, job)
    resp = pdf_response(plan.public_id, revision.number, handout) if kind == "pdf" \
        else html_response(handout)
    # After the answer is built: the audit's commit expires the rows, and reading the plan,
    # revisions and file back would cost three statements.
    audit.record_read(plan.public_id, plan.clinic_id, kind, "api", revision.number)
    return resp


_ETAG = {"ETag": {"description": "Strong validator: the file's sha256 in quotes. Send it back "
                                 "as If-None-Match to get 304 Not Modified instead of the file.",
                  "schema": {"type": "string"}}}
_IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                  "schema": {"type": "string"},
                  "description": "An ETag from an earlier download of this handout: 304 with "
                                 "no body while it still matches."}
_PDF = {"schema": {"type": "string", "format": "binary"}, "content_type": "application/pdf",
        "headers": {**_ETAG, "Content-Disposition": {
            "description": "`inline; filename=\"limber-{plan id}-r{revision}.pdf\"`.",
            "schema": {"type": "string"}}}}
_HTML = {"schema": {"type": "string"}, "content_type": "text/html", "headers": _ETAG}
_PENDING_DOC = {"schema": HandoutPendingSchema, "headers": {
    "Retry-After": {"description": "Whole seconds until the handout is likely ready, from the "
                                   "recent render times and the jobs queued ahead of this one "
                                   "(at least 1, at most 60).",
                    "schema": {"type": "string"}}},
    "description": "Still rendering (after waiting up to `wait` seconds, when sent): the "
                   "status, and Retry-After seconds to wait. A subscribed webhook endpoint is "
                   "also told when it is done."}
_NOT_MODIFIED = {"description": "If-None-Match matched: the copy you hold is this handout.",
                 "headers": _ETAG}
_FAILED_DOC = {"schema": ProblemSchema, "content_type": PROBLEM_MIME,
               "description": "The render failed for a reason other than the plan's text, "
                              "after several tries; revising the plan renders it again."}
_CANNOT_PRINT_DOC = {"schema": ProblemSchema, "content_type": PROBLEM_MIME,
                     "description": "Problem type `handout-cannot-be-printed`: a text of the "
                                    "handout has characters its font cannot draw. `errors` "
                                    "names the field (a `clinic.` field is the clinic profile's); "
                                    "change it and revise the plan. Not retried: retrying "
                                    "cannot fix it."}


def _handout_doc(view):  # noqa: ANN001, ANN202 - a view function, returned decorated
    """The answers every handout route shares besides its 200."""
    for decorate in (blp.arguments(HandoutWaitArgsSchema, location="query"),
                     blp.alt_response(202, **_PENDING_DOC),
                     blp.alt_response(304, **_NOT_MODIFIED),
                     blp.alt_response(409, **_CANNOT_PRINT_DOC),
                     blp.alt_response(503, **_FAILED_DOC),
                     # The manual list replaces the one `arguments` documents: name both.
                     blp.doc(security=SECURITY, parameters=[
                         _IF_NONE_MATCH, {"in": "query", "schema": HandoutWaitArgsSchema}])):
        view = decorate(view)
    return view


@blp.route("/<string:public_id>/handout")
class PlanHandout(MethodView):
    @blp.response(200, description="The handout PDF of the latest revision.", **_PDF)
    @_handout_doc
    def get(self, args: dict[str, Any], public_id: str) -> Response:
        """The latest revision's handout: the PDF when ready, else 202 with its status"""
        plan = plan_for_clinic(public_id)
        return _serve(plan, plan.latest, "pdf", args["wait"])


@blp.route("/<string:public_id>/handout.html", endpoint="plan_handout_html")
class PlanHandoutHtml(MethodView):
    @blp.response(200, description="The latest revision's handout as accessible HTML.",
                  **_HTML)
    @_handout_doc
    def get(self, args: dict[str, Any], public_id: str) -> Response:
        """The latest revision's handout as accessible HTML, for screen readers"""
        plan = plan_for_clinic(public_id)
        return _serve(plan, plan.latest, "html", args["wait"])


@blp.route("/<string:public_id>/revisions/<int:number>/handout",
           endpoint="revision_handout")
class RevisionHandout(MethodView):
    @blp.response(200, description="That revision's handout PDF, as it was handed out.",
                  **_PDF)
    @_handout_doc
    def get(self, args: dict[str, Any], public_id: str, number: int) -> Response:
        """One revision's handout PDF: what the patient was handed at that revision"""
        plan = plan_for_clinic(public_id)
        return _serve(plan, _revision(plan, number), "pdf", args["wait"])


@blp.route("/<string:public_id>/revisions/<int:number>/handout.html",
           endpoint="revision_handout_html")
class RevisionHandoutHtml(MethodView):
    @blp.response(200, description="That revision's handout as accessible HTML.", **_HTML)
    @_handout_doc
    def get(self, args: dict[str, Any], public_id: str, number: int) -> Response:
        """One revision's handout as accessible HTML"""
        plan = plan_for_clinic(public_id)
        return _serve(plan, _revision(plan, number), "html", args["wait"])
