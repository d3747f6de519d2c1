"""Stored handouts: finding a revision's render state and answering with the file."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, abort
from sqlalchemy import select
from sqlalchemy.orm import defer

from service.extensions import db
from service.models import Handout, PlanRevision, RenderJob


def handout_state(revision: PlanRevision) -> tuple[RenderJob | None, Handout | None]:
    job = db.session.scalar(select(RenderJob).where(RenderJob.revision_id == revision.id)
                            .order_by(RenderJob.id))
    handout = db.session.scalar(select(Handout).where(Handout.revision_id == revision.id)
                                .order_by(Handout.id))
    return job, handout


def handout_states(
    revisions: Iterable[PlanRevision],
) -> dict[int, tuple[RenderJob | None, Handout | None]]:
    """handout_state for a whole page of revisions in two statements, keyed by revision id.

    A list only shows status, pages and hash: the PDF and HTML bytes (tens of KB each) stay in
    the database. Picks the same rows as handout_state (the lowest id per revision)."""
    ids = [r.id for r in revisions]
    states: dict[int, tuple[RenderJob | None, Handout | None]] = {i: (None, None) for i in ids}
    if not ids:
        return states
    jobs: dict[int, RenderJob] = {}
    for job in db.session.scalars(select(RenderJob).where(RenderJob.revision_id.in_(ids))
                                  .order_by(RenderJob.id)):
        jobs.setdefault(job.revision_id, job)
    handouts: dict[int, Handout] = {}
    for handout in db.session.scalars(
            select(Handout).options(defer(Handout.pdf), defer(Handout.html))
            .where(Handout.revision_id.in_(ids)).order_by(Handout.id)):
        handouts.setdefault(handout.revision_id, handout)
    return {i: (jobs.get(i), handouts.get(i)) for i in ids}


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
