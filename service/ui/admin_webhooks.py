"""Clinic admin pages for webhook endpoints: add, switch off, rotate, delete, the delivery log."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.accounts.sessions import admin_required
from service.errors import flatten_messages
from service.extensions import db
from service.webhooks import endpoints, events
from service.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from service.webhooks.schemas import EndpointCreateSchema

blp = Blueprint("ui_admin_webhooks", __name__, url_prefix="/admin/webhooks")

# What each event means to the person ticking the box.
EVENT_WORDS = {
    "plan.created": "A plan was created",
    "plan.revised": "A plan was changed",
    "handout.ready": "A handout PDF is ready to fetch",
    "handout.failed": "A handout could not be made",
    "plan.deleted": "A plan and its patient data were erased",
}
# Schema messages are written for integrators; a few read better in the clinic's words.
FRIENDLIER = {
    "url": "Enter the https address your portal receives webhooks at.",
    "events": "Tick at least one event.",
}
DELIVERIES_PER_PAGE = 50


def _actor() -> str:
    return f"clinician:{g.clinician.id}"


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    found = endpoints.find(g.clinic.id, endpoint_id)
    if found is None:
        abort(404, description="There is no such webhook endpoint in your clinic.")
    return found


def _list_page(errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
               new_secret: tuple[WebhookEndpoint, str] | None = None,
               status: int = 200) -> tuple[str, int]:
    rows = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.clinic_id == g.clinic.id).order_by(WebhookEndpoint.created_at.desc(),
                                                           WebhookEndpoint.id.desc())).all()
    return render_template("admin/webhooks.html", endpoints=rows, errors=errors or {},
                           form=form or {"events": list(EVENT_TYPES)}, new_secret=new_secret,
                           event_words=EVENT_WORDS), status


def _endpoint_page(endpoint: WebhookEndpoint, errors: dict[str, str] | None = None,
                   rotated: str | None = None, form: dict[str, Any] | None = None,
                   status: int = 200) -> tuple[str, int]:
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .options(selectinload(WebhookDelivery.attempts)))
    before = request.args.get("before", type=int)
    if before:
        query = query.where(WebhookDelivery.id < before)
    rows = db.session.scalars(query.order_by(WebhookDelivery.id.desc())
                              .limit(DELIVERIES_PER_PAGE + 1)).all()
    overlap_hours = round(current_app.config["WEBHOOK_SECRET_OVERLAP_SECONDS"] / 3600)
    return render_template("admin/webhook_endpoint.html", endpoint=endpoint,
                           deliveries=rows[:DELIVERIES_PER_PAGE],
                           more=len(rows) > DELIVERIES_PER_PAGE, errors=errors or {},
                           rotated=rotated, overlap_hours=overlap_hours,
                           form=form or {"url": endpoint.url, "events": endpoint.events,
                                         "description": endpoint.description},
                           redelivered=request.args.get("redelivered"),
                           event_words=EVENT_WORDS), status


def _posted() -> dict[str, Any]:
    return {"url": request.form.get("url", "").strip(),
            "events": request.form.getlist("events"),
            "description": request.form.get("description", "").strip()}


def _loaded(form: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The form through the API's own schema: (data, {}) or (None, errors by field)."""
    try:
        return EndpointCreateSchema().load(form), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for found in flatten_messages(exc.messages):
            field = found["field"].split(".", 1)[0]
            blank = field == "url" and not form["url"] or field == "events" and not form["events"]
            errors.setdefault(field, FRIENDLIER[field] if blank else found["message"])
        return None, errors


def _refused(problem: endpoints.EndpointProblem) -> dict[str, str]:
    return {problem.field: f"Limber cannot send webhooks to this address: {problem}."}


@blp.get("")
@admin_required
def endpoint_list() -> tuple[str, int]:
    return _list_page()


@blp.post("")
@admin_required
def add_endpoint() -> tuple[str, int]:
    form = _posted()
    data, errors = _loaded(form)
    if data is None:
        return _list_page(errors, form, status=422)
    try:
        endpoint, secret = endpoints.register(g.clinic.id, _actor(), data["url"],
                                              data["events"], data["description"])
    except endpoints.EndpointProblem as problem:
        return _list_page(_refused(problem), form, status=422)
    db.session.commit()
    # Rendered, never redirected: the plain secret must not travel through a URL or session.
    return _list_page(new_secret=(endpoint, secret))


@blp.get("/<string:endpoint_id>")
@admin_required
def endpoint_detail(endpoint_id: str) -> tuple[str, int]:
    return _endpoint_page(_endpoint(endpoint_id))


@blp.post("/<string:endpoint_id>")
@admin_required
def change_endpoint(endpoint_id: str) -> Response | tuple[str, int]:
    endpoint = _endpoint(endpoint_id)
    form = _posted()
    data, errors = _loaded(form)
    if data is None:
        return _endpoint_page(endpoint, errors, form=form, status=422)
    # Only what differs, so the audit log names the fields that really changed.
    changes: dict[str, Any] = {}
    if data["url"] != endpoint.url:
        changes["url"] = data["url"]
    if endpoints.ordered(data["events"]) != endpoint.events:
        changes["events"] = data["events"]
    if data["description"] != endpoint.description:
        changes["description"] = data["description"]
    try:
        endpoints.change(endpoint, _actor(), **changes)
    except endpoints.EndpointProblem as problem:
        db.session.rollback()
        return _endpoint_page(endpoint, _refused(problem), form=form, status=422)
    db.session.commit()
    return redirect(url_for("ui_admin_webhooks.endpoint_detail", endpoint_id=endpoint_id,
                            saved=1), code=303)


@blp.post("/<string:endpoint_id>/enabled")
@admin_required
def set_enabled(endpoint_id: str) -> Response:
    endpoint = _endpoint(endpoint_id)
    endpoints.set_enabled(endpoint, _actor(), request.form.get("enabled") == "1",
                          f"Switched off by {g.clinician.name} in the admin pages")
    db.session.commit()
    return redirect(url_for("ui_admin_webhooks.endpoint_detail", endpoint_id=endpoint_id),
                    code=303)


@blp.post("/<string:endpoint_id>/rotate-secret")
@admin_required
def rotate_secret(endpoint_id: str) -> tuple[str, int]:
    endpoint = _endpoint(endpoint_id)
    secret = endpoints.rotate_secret(endpoint, _actor())
    db.session.commit()
    return _endpoint_page(endpoint, rotated=secret)


@blp.route("/<string:endpoint_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_endpoint(endpoint_id: str) -> Response | tuple[str, int]:
    """GET asks to confirm (so it works without script); only the POST deletes."""
    endpoint = _endpoint(endpoint_id)
    if request.method == "GET":
        count = db.session.query(WebhookDelivery).filter_by(endpoint_id=endpoint.id).count()
        return render_template("admin/webhook_delete.html", endpoint=endpoint,
                               deliveries=count), 200
    endpoints.remove(endpoint, _actor())
    db.session.commit()
    return redirect(url_for("ui_admin_webhooks.endpoint_list", deleted=endpoint_id), code=303)


@blp.post("/<string:endpoint_id>/deliveries/<string:delivery_id>/redeliver")
@admin_required
def redeliver(endpoint_id: str, delivery_id: str) -> Response | tuple[str, int]:
    endpoint = _endpoint(endpoint_id)
    found = endpoints.find_delivery(endpoint, delivery_id)
    if found is None:
        abort(404, description="There is no such delivery for this endpoint.")
    try:
        endpoints.redeliver(endpoint, found, _actor())
    except endpoints.EndpointProblem as problem:
        return _endpoint_page(endpoint, {"delivery": str(problem)}, status=409)
    db.session.commit()
    events.send(found.id)
    return redirect(url_for("ui_admin_webhooks.endpoint_detail", endpoint_id=endpoint_id,
                            redelivered=delivery_id), code=303)
