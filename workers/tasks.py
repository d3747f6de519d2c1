"""Render a plan revision's handout; sweep the outbox. Both idempotent, both keyed by ids."""

from __future__ import annotations

import hashlib
import logging
import traceback
from pathlib import Path

from celery import shared_task
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pdf.html import render_handout_html
from pdf.render import render_handout_with_pages
from plans.model import HandoutOptions, PageSize
from plans.snapshot import snapshot_from_dict
from service import erasure, idempotency, outbox, webhooks
from service.embed import sessions as embed_sessions
from service.extensions import db
from service.models import Handout, RenderJob, utcnow
from service.queue import RENDER_TASK, SWEEP_TASK

log = logging.getLogger(__name__)


def where(exc: BaseException) -> str:
    """Where an error happened, as file:line frames: enough to debug, and unlike the exception
    message it cannot carry a patient's name."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))


def _existing(job: RenderJob) -> Handout | None:
    return db.session.scalar(select(Handout).where(
        Handout.revision_id == job.revision_id, Handout.options_key == job.options_key))


@shared_task(name=RENDER_TASK, acks_late=True)
def render_handout(job_id: int) -> None:
    """Render the job's revision once; a duplicate delivery finds the handout and stops."""
    job = db.session.get(RenderJob, job_id)
    if job is None or job.status in (RenderJob.DONE, RenderJob.FAILED):
        return
    if _existing(job) is not None:
        job.status, job.finished_at = RenderJob.DONE, utcnow()
        db.session.commit()
        return
    job.status, job.started_at = RenderJob.RENDERING, utcnow()
    job.attempts += 1
    db.session.commit()

    try:
        snapshot = snapshot_from_dict(job.revision.snapshot)
        options = HandoutOptions(large_print=bool(job.options.get("large_print")),
                                 page_size=PageSize(job.options.get("page_size", "letter")))
        data, pages = render_handout_with_pages(snapshot, options)
        html = render_handout_html(snapshot, options)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, never the text
        db.session.rollback()
        give_up = job.attempts >= current_app.config["RENDER_MAX_ATTEMPTS"]
        job.status = RenderJob.FAILED if give_up else RenderJob.PENDING
        job.error = f"{type(exc).__name__} at {where(exc)}"[:300]
        if give_up:
            _record_handout_event(job, "handout.failed")
        db.session.commit()
        log.warning("render job %s failed, attempt %s: %s", job_id, job.attempts, job.error)
        return

    if db.session.scalar(select(RenderJob.id).where(RenderJob.id == job_id)) is None:
        # The plan was erased while this rendered: storing the file would bring it back.
        db.session.rollback()
        log.info("render job %s: its plan was erased; the handout is discarded", job_id)
        return
    db.session.add(Handout(revision_id=job.revision_id, options_key=job.options_key,
                           pdf=data, html=html,
                           sha256=hashlib.sha256(data).hexdigest(), pages=pages))
    job.status, job.finished_at, job.error = RenderJob.DONE, utcnow(), ""
    try:
        _record_handout_event(job, "handout.ready")  # flushes, so inside the race guard
        db.session.commit()
    except IntegrityError:
        # Another worker stored the same handout first: the outcome is the same.
        db.session.rollback()
        job = db.session.get(RenderJob, job_id)
        if job is None:  # erased meanwhile (PostgreSQL refused the orphan handout)
            return
        job.status, job.finished_at = RenderJob.DONE, utcnow()
        db.session.commit()
    log.info("render job %s done: %d pages", job_id, pages)


def _record_handout_event(job: RenderJob, event_type: str) -> None:
    revision = job.revision
    webhooks.record_plan_event(revision.plan, revision, event_type)


@shared_task(name=SWEEP_TASK)
def sweep_outbox() -> int:
    idempotency.purge_expired()
    embed_sessions.purge_ended()
    # Retention before the outbox: an erased plan's render job must not be sent again.
    erasure.sweep_retention()
    return outbox.sweep() + webhooks.sweep_deliveries()
