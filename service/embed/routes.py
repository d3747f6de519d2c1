"""The embedded plan builder: a one-time link opens a session whose key rides in the URL path."""

from __future__ import annotations

import hmac
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from plans.catalogue import default_catalogue
from plans.errors import UnknownTemplate
from service import audit
from service.accounts.sessions import CSRF_FIELD, csrf_exempt
from service.embed import sessions
from service.embed.models import EmbedSession
from service.extensions import db
from service.handouts import (
    failure_of,
    handout_state,
    html_response,
    pdf_response,
    ready_handout,
)
from service.models import Plan, PlanRevision, utcnow
from service.security import relax_csp, set_frame_ancestors
from service.ui import builder
from service.ui.plans import status_of

blp = Blueprint("embed", __name__, url_prefix="/embed")

ENDED = ("This session has ended: sessions close after a while without use, and after a few "
         "hours in all. Open the plan builder again from your portal.")


def _frame_for(row: EmbedSession) -> None:
    """Only the page that asked for this session may frame it: its own parent origin, and only
    while the clinic still allows that origin (not every origin the clinic allows, which would
    let any of its other sites frame a session meant for one)."""
    allowed = row.clinic.allowed_embed_origins or []
    set_frame_ancestors([row.parent_origin] if row.parent_origin in allowed else [])


@blp.url_value_preprocessor
def _pull_key(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and "key" in values:
        g.embed_key = values.pop("key")


@blp.url_defaults
def _add_key(endpoint: str, values: dict[str, Any]) -> None:
    if "key" not in values and g.get("embed_key") \
            and current_app.url_map.is_endpoint_expecting(endpoint, "key"):
        values["key"] = g.embed_key


@blp.before_request
def _load_session() -> None:
    """Authenticate as the clinic the portal's key belongs to, whatever cookie came along."""
    g.embed = None
    key = g.get("embed_key")
    if key is None:
        return
    row = db.session.scalar(select(EmbedSession).where(
        EmbedSession.session_hash == sessions._digest(key)))
    if row is None:
        abort(404, description="There is no such session. Open the plan builder again from "
                               "your portal.")
    # Even the "ended" page may show inside the portal's frame.
    _frame_for(row)
    now = utcnow()
    if sessions.expired(row, now) or row.api_key.revoked_at is not None:
        abort(410, description=ENDED)
    sessions.touch(row, now)
    g.embed, g.clinic = row, row.clinic
    g.clinician = g.user_session = None
    g.embed_csrf_token = row.csrf_token


def _check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD, "")
    if not hmac.compare_digest(sent, g.embed.csrf_token):
        abort(400, description="This form has expired or did not come from Limber. Reload the "
                               "page and send it again.")


@blp.get("/<token>")
def open_link(token: str) -> Response:
    """The portal's one-time link: consumed here, then a redirect to a URL without it."""
    if request.method == "HEAD":
        # Link checkers send HEAD before GET; only a real page load may use the link up.
        return Response(status=204)
    try:
        row, key = sessions.exchange(token)
    except sessions.LinkRefused as refused:
        if refused.session is None:
            abort(404, description="This link is not valid. Open the plan builder again from "
                                   "your portal.")
        _frame_for(refused.session)
        abort(410, description="This link has already been used. Each link opens the plan "
                               "builder once; open it again from your portal."
              if refused.reason == "used" else
              "This link has expired. Open the plan builder again from your portal.")
    _frame_for(row)
    return redirect(url_for("embed.start", key=key), code=303)


@blp.get("/s/<key>/")
def start() -> Response:
    if g.embed.template_id:
        return redirect(url_for("embed.build", template_id=g.embed.template_id), code=303)
    return redirect(url_for("embed.choose_template"), code=303)


@blp.get("/s/<key>/alive")
def alive() -> Response:
    """The builder's script calls this while the clinician types, so a long form does not meet
    the idle timeout and lose what was typed; an untouched page still times out."""
    return Response(status=204)


@blp.get("/s/<key>/new")
def choose_template() -> str:
    return render_template("embed/choose_template.html",
                           templates=default_catalogue().approved_templates(),
                           one_line=builder.one_line,
                           template_exercises=builder.template_exercises)


def _builder_page(form: builder.BuilderForm, status: int = 200) -> tuple[str, int]:
    return render_template("embed/builder.html", form=form,
                           action=url_for("embed.build", template_id=form.template.id),
                           emergency_number=g.clinic.emergency_number,
                           submit_label="Save plan and make handout",
                           locked_reference=g.embed.patient_ref), status


@blp.route("/s/<key>/new/<template_id>", methods=["GET", "POST"])
@csrf_exempt
def build(template_id: str) -> Response | tuple[str, int]:
    """The clinician builder, bound to the patient reference the portal asked for."""
    try:
        template = default_catalogue().template(template_id)
    except UnknownTemplate:
        abort(404, description="There is no approved template with that id.")
    if request.method == "GET":
        form = builder.blank_form(template)
        form.values["patient.display_name"] = g.embed.patient_name
        form.values["patient.reference"] = g.embed.patient_ref
        return _builder_page(form)
    _check_csrf()
    form = builder.form_from_post(template, request.form)
    # Whatever was posted, this session makes plans for its own patient only.
    form.values["patient.reference"] = g.embed.patient_ref
    plan = builder.save(form, g.clinic, created_by=sessions.actor(g.embed),
                        clinician_name=g.embed.clinician_name)
    if plan is None:
        return _builder_page(form, 422)
    sessions.remember_plan(g.embed, plan)
    return redirect(url_for("embed.plan", public_id=plan.public_id, saved=plan.current_revision),
                    code=303)


def _plan(public_id: str) -> tuple[Plan, PlanRevision]:
    plan = sessions.session_plan(g.embed, public_id)
    if plan is None:
        abort(404, description="There is no plan with that id in this session.")
    return plan, plan.latest


@blp.get("/s/<key>/plans/<public_id>")
def plan(public_id: str) -> str:
    plan, revision = _plan(public_id)
    _audit_read(plan, revision, "plan")
    job, _ = handout_state(revision)
    return render_template("embed/plan.html", plan=plan, revision=revision,
                           snapshot=revision.snapshot, status=status_of(revision),
                           failure=failure_of(job),
                           catalogue=default_catalogue(),
                           saved=request.args.get("saved", type=int) == revision.number)


@blp.get("/s/<key>/plans/<public_id>/status")
def plan_status(public_id: str) -> Response:
    """For the plan page's script: the render status, ids only."""
    plan, revision = _plan(public_id)
    job, handout = handout_state(revision)
    body = {"plan_id": plan.public_id, "revision": revision.number,
            "status": status_of(revision), "pages": handout.pages if handout else None}
    failure = failure_of(job)
    if failure is not None:
        body.update(message=failure.message, field=failure.field)
    return jsonify(body)


def _audit_read(plan: Plan, revision: PlanRevision, what: str) -> None:
    audit.record_read(plan.public_id, plan.clinic_id, what, "embed", revision.number,
                      actor=sessions.actor(g.embed))


def _handout(public_id: str) -> tuple[Plan, PlanRevision, Any]:
    plan, revision = _plan(public_id)
    return plan, revision, ready_handout(revision)


@blp.get("/s/<key>/plans/<public_id>/handout.pdf")
def handout_pdf(public_id: str) -> Response:
    plan, revision, handout = _handout(public_id)
    _audit_read(plan, revision, "pdf")
    return pdf_response(plan.public_id, revision.number, handout)


@blp.get("/s/<key>/plans/<public_id>/handout.html")
def handout_html(public_id: str) -> Response:
    plan, revision, handout = _handout(public_id)
    _audit_read(plan, revision, "html")
    relax_csp(style_src="'self' 'unsafe-inline'")
    return html_response(handout)
