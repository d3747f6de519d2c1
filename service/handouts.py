"""Stored handouts: finding a revision's render state and answering with the file."""

from __future__ import annotations

from flask import Response, abort
from sqlalchemy import select

from service.extensions import db
from service.models import Handout, PlanRevision, RenderJob


def handout_state(revision: PlanRevision) -> tuple[RenderJob | None, Handout | None]:
    job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == revision.id)
                            .order_by(RenderJob.id))
    handout = db.session.scalar(select(Handout).where(Handout.revision_id == revision.id)
                                .order_by(Handout.id))
    return job, handout


def pdf_response(plan_id: str, revision: int, handout: Handout) -> Response:
    """The PDF, named by ids only: patient names never go into file names or URLs."""
    resp = Response(handout.pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="limber-{plan_id}-r{revision}.pdf"'
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["ETag"] = f'"{handout.sha256}"'
    return resp


def html_response(handout: Handout) -> Response:
    resp = Response(handout.html, mimetype="text/html")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def ready_handout(revision: PlanRevision) -> Handout:
    """For the clinician and embed pages: the stored handout, or a page saying why not yet."""
    job, handout = handout_state(revision)
    if handout is None:
        failed = job is not None and job.status == RenderJob.FAILED
        abort(503 if failed else 404,
              description="The handout could not be made. Save the plan again to retry."
              if failed else "The handout is still being made. Go back and wait a moment.")
    return handout
