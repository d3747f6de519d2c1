"""Stored handouts: finding a revision's render state and answering with the file, or saying
plainly why there is none."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Response, abort, request
from sqlalchemy import select
from sqlalchemy.orm import defer

from plans.printable import describe
from service.extensions import db
from service.models import Handout, PlanRevision, RenderJob

# RenderJob.error of a render refused for text the fonts cannot draw: the snapshot field and
# the code points, never the text. Retrying cannot fix it, so the worker does not.
CANNOT_PRINT = "cannot-print"

# Snapshot field -> (the request or clinic profile field, what it is in words, who changes it).
_SOURCE = {
    "plan.patient_name": ("patient.display_name", "the patient's name", "plan"),
    "plan.notes": ("notes", "the notes for the patient", "plan"),
    "clinician": ("clinician", "the clinician's name", "plan"),
    "clinic.name": ("clinic.name", "the clinic's name", "clinic"),
    "clinic.contact": ("clinic.contact", "the clinic's contact details", "clinic"),
    "clinic.emergency_number": ("clinic.emergency_number", "the clinic's emergency number",
                                "clinic"),
    "clinic.out_of_hours": ("clinic.out_of_hours", "the clinic's out-of-hours help", "clinic"),
}


def cannot_print_error(field: str, code_points: tuple[int, ...]) -> str:
    """The RenderJob.error the worker stores for pdf.UnrenderableText; read by failure_of."""
    points = " ".join(f"U+{cp:04X}" for cp in code_points[:20])
    return f"{CANNOT_PRINT} {field} {points}"[:300]


@dataclass(frozen=True)
class RenderFailure:
    """Why a revision has no handout and never will without a change; `field` names what to
    change (a request field, or clinic.* for the clinic profile), None when it is not text."""

    permanent: bool
    field: str | None
    message: str


def failure_of(job: RenderJob | None) -> RenderFailure | None:
    """The failed job's reason in words for the clinician or the portal; None unless failed."""
    if job is None or job.status != RenderJob.FAILED:
        return None
    words = job.error.split()
    if len(words) >= 2 and words[0] == CANNOT_PRINT:
        snapshot_field = words[1]
        points = [int(w[2:], 16) for w in words[2:] if w.startswith("U+")]
        field, what, owner = _SOURCE.get(snapshot_field, (snapshot_field, "", "template"))
        if owner == "template":
            return RenderFailure(True, field, (
                f"This handout cannot be printed: text from the template ({snapshot_field}) has "
                f"characters the handout font cannot draw ({describe(points)}). This is a fault "
                "in Limber's template, not in what you typed; choose another template and "
                "report it to Limber support."))
        how = ("A clinic admin can change it on the clinic profile page; then save the plan "
               "again." if owner == "clinic" else "Change it and save the plan again.")
        return RenderFailure(True, field, (
            f"This handout cannot be printed: {what} has characters the handout font cannot "
            f"draw ({describe(points)}). {how}"))
    return RenderFailure(False, None, (
        f"The handout could not be made after {job.attempts} "
        f"{'try' if job.attempts == 1 else 'tries'}, for a reason other than the plan's text. "
        "Saving the plan again (a new revision) makes a new attempt; if that fails too, "
        "contact Limber support."))


def handout_state(revision: PlanRevision, load: str | None = None
                  ) -> tuple[RenderJob | None, Handout | None]:
    """The revision's render job and stored handout (the lowest id of each), in one statement.

    The handout's file columns stay in the database unless `load` names one ("pdf" or "html"):
    most callers want the status, pages or hash, and each file is tens of KB. A column not
    loaded is read on first use."""
    files = {"pdf": Handout.pdf, "html": Handout.html}
    row = db.session.execute(
        select(RenderJob, Handout).select_from(PlanRevision)
        .options(*(defer(column) for name, column in files.items() if name != load))
        .outerjoin(RenderJob, RenderJob.revision_id == PlanRevision.id)
        .outerjoin(Handout, Handout.revision_id == PlanRevision.id)
        .where(PlanRevision.id == revision.id)
        .order_by(RenderJob.id, Handout.id).limit(1)
        # Fresh even for a job this session read before (a request that waited for it).
        .execution_options(populate_existing=True)).first()
    return (row[0], row[1]) if row is not None else (None, None)


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
        failure = failure_of(job)
        if failure is not None:
            abort(409 if failure.permanent else 503, description=failure.message)
        abort(404, description="The handout is still being made. Go back and wait a moment.")
    return handout
