"""GET /api/v1/templates: the approved, vetted templates with versions and content hashes."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from plans.catalogue import Catalogue, default_catalogue
from plans.dosage import dose_text
from plans.errors import UnknownTemplate
from plans.model import Template
from service.api.schemas import TemplateListSchema, TemplateSchema
from service.auth import require_api_key

blp = Blueprint("templates", __name__, url_prefix="/api/v1/templates",
                description="Vetted plan templates a plan can start from.")
blp.before_request(require_api_key)


def _exercise(catalogue: Catalogue, exercise_id: str, phase: str,
              dose: Any = None) -> dict[str, Any]:
    ex = catalogue.exercises[exercise_id]
    final = dose or ex.dose
    return {"id": ex.id, "name": ex.name, "purpose": ex.purpose, "phase": phase,
            "dose": final.to_dict(), "dose_range": ex.dose_range.to_dict(),
            "dose_text": dose_text(final)}


def template_view(catalogue: Catalogue, t: Template) -> dict[str, Any]:
    return {
        "id": t.id, "version": t.version, "title": t.title, "summary": t.summary,
        "content_hash": t.content_hash,
        "review": {"status": t.review.status, "reviewer": t.review.reviewer,
                   "date": t.review.date},
        "exercises": [_exercise(catalogue, item.exercise_id, phase.name, item.dose)
                      for phase in t.phases for item in phase.items],
        "optional_exercises": [_exercise(catalogue, eid, "optional")
                               for eid in t.optional_exercises],
        "sources": [vars(catalogue.sources[s]) for s in t.sources],
        "red_flags": [{"id": f.id, "tier": f.tier.value, "label": f.label, "text": f.text}
                      for f in catalogue.red_flags],
        # The clinician's screening findings: their ids go in screening.red_flags.
        "screening": [{"id": f.id, "category": f.category, "label": f.label,
                       "requires": catalogue.screening.categories[f.category].requires,
                       "consequence": catalogue.screening.categories[f.category].consequence}
                      for f in catalogue.screening.findings.values()],
        "not_suited_for": [{"answer": u.answer, "why": u.why} for u in t.not_suited_for],
    }


@blp.route("")
class Templates(MethodView):
    @blp.response(200, TemplateListSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self) -> dict[str, Any]:
        """List the approved templates"""
        catalogue = default_catalogue()
        return {"items": [template_view(catalogue, t) for t in catalogue.approved_templates()]}


@blp.route("/<string:template_id>")
class TemplateById(MethodView):
    @blp.response(200, TemplateSchema)
    @blp.doc(security=[{"bearerAuth": []}])
    def get(self, template_id: str) -> dict[str, Any]:
        """One approved template, with its exercises, doses and red-flag checklist"""
        catalogue = default_catalogue()
        try:
            return template_view(catalogue, catalogue.template(template_id))
        except UnknownTemplate:
            abort(404, message="No approved template has that id.")
