"""/api/v1/plans/{id}/fhir: a plan revision as a FHIR R4 Bundle for an EHR."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, fields
from sqlalchemy import select

from service.api.bodies import require_json_body
from service.api.plans import SECURITY, plan_for_clinic
from service.auth import require_api_key
from service.errors import PROBLEM_MIME, ProblemSchema
from service.extensions import db
from service.fhir.bundle import HandoutFile, RevisionExport, revision_bundle
from service.fhir.systems import patient_system
from service.fhir.text import fhir_string
from service.handouts import handout_state
from service.models import Clinic, Plan, PlanRevision

FHIR_JSON = "application/fhir+json"

blp = Blueprint("fhir", __name__, url_prefix="/api/v1/plans",
                description="Plans as FHIR R4 Bundles (CarePlan, ServiceRequests, handout).")
blp.before_request(require_api_key)
blp.before_request(require_json_body)


class FhirArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    inline_pdf = fields.Boolean(load_default=False, metadata={
        "description": "1 puts the handout PDF itself (base64) in the DocumentReference, "
                       "beside its URL."})


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def handout_url(plan: Plan, revision: PlanRevision) -> str:
    """A URL that serves exactly this revision's PDF for as long as the plan exists.

    Not the plan's /handout: that one serves whatever the latest revision is, so after a revision
    an EHR following a stored attachment would fetch a PDF its hash no longer describes."""
    return url_for("plans.revision_handout", public_id=plan.public_id, number=revision.number,
                   _external=True)


def revision_export(clinic: Clinic, plan: Plan, revision: PlanRevision,
                    inline_pdf: bool) -> RevisionExport:
    if not plan.patient_ref:
        abort(409, message="This plan has no patient reference, so an EHR could not tell whose "
                           "chart it belongs in. Set patient.reference with PATCH first.",
              errors=[{"field": "patient.reference",
                       "message": "required for a FHIR export"}])
    if fhir_string(plan.patient_ref) != plan.patient_ref or not plan.patient_ref.strip():
        abort(409, message="This plan's patient reference holds characters a FHIR identifier "
                           "cannot carry. Correct patient.reference with PATCH first.",
              errors=[{"field": "patient.reference",
                       "message": "only printable characters, spaces and tabs"}])
    _, handout = handout_state(revision)
    stored = None
    if handout is not None:
        stored = HandoutFile(pdf=handout.pdf, created_at=_utc(handout.created_at),
                             filename=f"limber-{plan.public_id}-r{revision.number}.pdf",
                             url=handout_url(plan, revision))
    return RevisionExport(
        plan_id=plan.public_id, revision=revision.number, latest_revision=plan.current_revision,
        created_at=_utc(revision.created_at), created_by=revision.created_by,
        template_id=revision.template_id, template_version=revision.template_version,
        template_hash=revision.template_hash, snapshot=revision.snapshot,
        patient_system=patient_system(clinic.fhir_patient_system, clinic.slug),
        patient_reference=plan.patient_ref, patient_display=plan.patient_name,
        handout=stored, inline_pdf=inline_pdf)


def bundle_response(plan: Plan, revision: PlanRevision, args: dict[str, Any]) -> Response:
    bundle = revision_bundle(revision_export(g.clinic, plan, revision, args["inline_pdf"]))
    resp = Response(bundle.json(), mimetype=FHIR_JSON)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# The outline only: the resources themselves are FHIR's, validated when they are built.
BUNDLE_OUTLINE = {
    "type": "object", "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {"type": "array", "items": {
            "type": "object", "required": ["fullUrl", "resource"],
            "properties": {"fullUrl": {"type": "string"}, "resource": {"type": "object"}}}},
    },
}
_DOC: dict[str, Any] = {
    "schema": BUNDLE_OUTLINE,
    "content_type": FHIR_JSON,
    "description": "A FHIR R4 Bundle of type collection: the CarePlan, one ServiceRequest per "
                   "exercise, the handout's DocumentReference once it is rendered, and a "
                   "Provenance. See docs/fhir.md.",
}
_NO_REFERENCE = {"schema": ProblemSchema, "content_type": PROBLEM_MIME,
                 "description": "The plan has no patient reference to file it under."}


@blp.route("/<string:public_id>/fhir")
class PlanFhir(MethodView):
    @blp.arguments(FhirArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, **_DOC)
    @blp.alt_response(409, **_NO_REFERENCE)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any], public_id: str) -> Response:
        """The latest revision as a FHIR R4 Bundle"""
        plan = plan_for_clinic(public_id)
        return bundle_response(plan, plan.latest, args)


# Bounded like the database column, so a huge number is a 404, not a database error.
@blp.route("/<string:public_id>/revisions/<int(min=1, max=2147483647):number>/fhir")
class PlanRevisionFhir(MethodView):
    @blp.arguments(FhirArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, **_DOC)
    @blp.alt_response(409, **_NO_REFERENCE)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any], public_id: str, number: int) -> Response:
        """One revision as a FHIR R4 Bundle; older revisions are marked superseded"""
        plan = plan_for_clinic(public_id)
        revision = db.session.scalar(select(PlanRevision).where(
            PlanRevision.plan_id == plan.id, PlanRevision.number == number))
        if revision is None:
            abort(404, message="This plan has no revision with that number.")
        return bundle_response(plan, revision, args)
