"""Stored handouts: finding a revision's render state and answering with the file."""

from __future__ import annotations

import hashlib

from flask import Response, abort, request
from sqlalchemy import select

from service.extensions import db
from service.models import Handout, PlanRevision, RenderJob


def handout_state(revision: PlanRevision) -> tuple[RenderJob | None, Handout | None]:
    job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == revision.id)
                            .order_by(RenderJob.id))
    handout = db.session.scalar(select(Handout).where(Handout.revision_id == revision.id)
                                .order_by(Handout.id))
    return job, handout


def _conditional(resp: Response, etag: str) -> Response:
    """A strong ETag (the stored file's sha256: a revision's handout never changes) and 304 Not
    Modified for a matching If-None-Match. `no-store` stays: a shared clinic computer must not
    keep patient handouts in its cache; a portal that saves the file itself can revalidate."""
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp.make_conditional(request)


def pdf_response(plan_id: str, revision: int, handout: Handout) -> Response:
    """The PDF, named by ids only: patient names never go into file names or URLs."""
    resp = Response(handout.pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="limber-{plan_id}-r{revision}.pdf"'
    return _conditional(resp, handout.sha256)


def html_response(handout: Handout) -> Response:
    resp = Response(handout.html, mimetype="text/html")
    return _conditional(resp, hashlib.sha256(handout.html.encode()).hexdigest())


def ready_handout(revision: PlanRevision) -> Handout:
    """For the clinician and embed pages: the stored handout, or a page saying why not yet."""
    job, handout = handout_state(revision)
    if handout is None:
        failed = job is not None and job.status == RenderJob.FAILED
        abort(503 if failed else 404,
              description="The handout could not be made. Save the plan again to retry."
              if failed else "The handout is still being made. Go back and wait a moment.")
    return handout
