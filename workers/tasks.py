"""Render a plan revision's handout; sweep the outbox. Both idempotent, both keyed by ids."""

from __future__ import annotations

import hashlib
import logging
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from celery import Task, shared_task
from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from pdf.errors import UnrenderableText
from pdf.html import render_handout_html
from pdf.render import render_handout_with_pages
from plans.model import HandoutOptions, PageSize
from plans.snapshot import snapshot_from_dict
from service import connections, erasure, handout_wait, idempotency, outbox, webhooks
from service.config import RENDER_SOFT_TIME_LIMIT, RENDER_TIME_LIMIT
from service.embed import sessions as embed_sessions
from service.errors import DATABASE_ERRORS
from service.extensions import db
from service.handouts import cannot_print_error
from service.models import Clinic, Handout, Plan, PlanRevision, RenderJob, utcnow
from service.queue import RENDER_TASK, SWEEP_TASK

log = logging.getLogger(__name__)
T = TypeVar("T")


def where(exc: BaseException) -> str:
    """Where an error happened, as file:line frames: enough to debug, and unlike the exception
    message it cannot carry a patient's name."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))



# A database outage must not consume the message. The task waits it out in place (backoff 1 s
# doubling to 10 s, jittered), keeping its message unacknowledged so a worker killed meanwhile
# hands it back; past DATABASE_WAIT_SECONDS (inside the render's soft time limit) it is sent
# again through the broker with the same backoff.
RETRY_BACKOFF_MAX = 10.0
DATABASE_WAIT_SECONDS = 20.0


def retry_delay(retries: int) -> float:
    return min(RETRY_BACKOFF_MAX, 2.0 ** retries) * random.uniform(0.5, 1.0)  # noqa: S311


def waiting_out_database_errors(task: Task, work: Callable[..., T], *args: Any) -> T:
    """Run `work(*args)` until it gets through a database outage, then `task.retry` (which
    re-publishes the message) if the outage outlasts the wait."""
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    tries = 0
    while True:
        try:
            return work(*args)
        except DATABASE_ERRORS as exc:
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001, S110 - the connection is gone already
                pass
            delay = retry_delay(tries)
            tries += 1
            if time.monotonic() + delay > deadline:
                raise task.retry(countdown=retry_delay(task.request.retries), exc=exc) from None
            log.warning("%s%s: database unavailable (%s), trying again in %.1f s", task.name,
                        list(args[:1]), type(exc).__name__, delay)
            time.sleep(delay)


def claim(job_id: int) -> Claimed | None:
    """Move the job to rendering with a conditional update; None when it is not ours to render.

    Only a pending or queued job can be claimed, so of two messages for one job (a duplicate, a
    sweeper re-send) one renders and the other stops here. A job still marked rendering by a
    process on this host that is gone (killed mid-render; its message came back), or by this
    process (an attempt interrupted by a database error), is taken over by a compare-and-set
    on the old claim.
    """
    me, now = outbox.this_process(), utcnow()
    values = {"status": RenderJob.RENDERING, "started_at": now, "claimed_by": me,
              "attempts": RenderJob.attempts + 1}
    # Each statement commits by itself: the claim must be committed before the render, and
    # a transaction around one conditional update would only add its BEGIN and COMMIT round
    # trips to every handout's wait. The take-over is one conditional update too. Not synced to
    # disk at once on SQLite: a claim lost in a power cut is a queued job the sweeper re-sends.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, \
            connections.unsynced_commits(conn):
        taken = conn.execute(update(RenderJob).where(
            RenderJob.id == job_id,
            RenderJob.status.in_([RenderJob.PENDING, RenderJob.QUEUED]))
            .values(**values)).rowcount
        if not taken:
            current = conn.execute(select(RenderJob.status, RenderJob.claimed_by)
                                   .where(RenderJob.id == job_id)).first()
            if (current is not None and current.status == RenderJob.RENDERING
                    and current.claimed_by and outbox.claimer_gone(current.claimed_by)):
                taken = conn.execute(update(RenderJob).where(
                    RenderJob.id == job_id, RenderJob.status == RenderJob.RENDERING,
                    RenderJob.claimed_by == current.claimed_by).values(**values)).rowcount
                if taken:
                    log.info("render job %s: claim of %s taken over by %s (that process is "
                             "gone)", job_id, current.claimed_by, me)
    return taken_job(job_id) if taken else None


@dataclass(frozen=True)
class Claimed:
    """A claimed job and whether its handout is stored already (then there is nothing to do).
    `clinic` is held so the session keeps it (it holds objects weakly): plan_event_data looks
    it up by id, and finds it without a statement."""

    job: RenderJob
    clinic: Clinic
    handout_stored: bool


def taken_job(job_id: int) -> Claimed | None:
    """The claimed job with everything the render and its event read (revision, plan, clinic)
    in one statement instead of five."""
    stored = exists().where(Handout.revision_id == RenderJob.revision_id,
                            Handout.options_key == RenderJob.options_key)
    row = db.session.execute(
        select(RenderJob, Clinic, stored.label("stored"))
        .join(RenderJob.revision).join(PlanRevision.plan)
        .join(Clinic, Clinic.id == Plan.clinic_id)
        .options(contains_eager(RenderJob.revision).contains_eager(PlanRevision.plan))
        .where(RenderJob.id == job_id)).one_or_none()
    return None if row is None else Claimed(row[0], row[1], bool(row[2]))


@shared_task(name=RENDER_TASK, bind=True, acks_late=True, max_retries=None,
             time_limit=RENDER_TIME_LIMIT, soft_time_limit=RENDER_SOFT_TIME_LIMIT)
def render_handout(self: Task, job_id: int) -> None:
    """Render the job's revision once; a duplicate delivery finds the job claimed and stops."""
    waiting_out_database_errors(self, _render, job_id)


def _render(job_id: int) -> None:
    claimed = claim(job_id)
    if claimed is None:
        return
    job = claimed.job
    revision_id = job.revision_id
    if claimed.handout_stored:
        job.status, job.finished_at, job.claimed_by = RenderJob.DONE, utcnow(), None
        db.session.commit()
        handout_wait.notify_settled(revision_id)
        return

    try:
        snapshot = snapshot_from_dict(job.revision.snapshot)
        options = HandoutOptions(large_print=bool(job.options.get("large_print")),
                                 page_size=PageSize(job.options.get("page_size", "letter")))
        data, pages = render_handout_with_pages(snapshot, options)
        html = render_handout_html(snapshot, options)
    except UnrenderableText as exc:
        # The same text fails every time: fail once, saying which field, so the handout link
        # can tell the clinician what to change. The log gets the field only: the code points
        # of a name would spell the name.
        db.session.rollback()
        job.status, job.finished_at, job.claimed_by = RenderJob.FAILED, utcnow(), None
        job.error = cannot_print_error(exc.field, exc.code_points)
        _record_handout_event(job, "handout.failed")
        db.session.commit()
        handout_wait.notify_settled(revision_id)
        log.warning("render job %s cannot be printed: %d undrawable character(s) in %s",
                    job_id, len(exc.code_points), exc.field)
        return
    except DATABASE_ERRORS:
        raise  # not the render's fault: waited out above, not counted as a failed attempt
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, never the text
        db.session.rollback()
        give_up = job.attempts >= current_app.config["RENDER_MAX_ATTEMPTS"]
        job.status = RenderJob.FAILED if give_up else RenderJob.PENDING
        job.claimed_by = None
        job.error = f"{type(exc).__name__} at {where(exc)}"[:300]
        if give_up:
            _record_handout_event(job, "handout.failed")
        db.session.commit()
        if give_up:
            handout_wait.notify_settled(revision_id)
        log.warning("render job %s failed, attempt %s: %s", job_id, job.attempts, job.error)
        return

    # Done only if still ours: a job erased with its plan while this rendered is gone (storing
    # the file would bring the plan back), and one taken over is the new claimer's to store.
    finished = db.session.execute(
        update(RenderJob).where(RenderJob.id == job_id, RenderJob.status == RenderJob.RENDERING,
                                RenderJob.claimed_by == outbox.this_process())
        .values(status=RenderJob.DONE, finished_at=utcnow(), error="", claimed_by=None)
        .execution_options(synchronize_session=False)).rowcount
    if not finished:
        db.session.rollback()
        log.info("render job %s: erased or taken over while rendering; the handout is "
                 "discarded", job_id)
        return
    db.session.add(Handout(revision_id=job.revision_id, options_key=job.options_key,
                           pdf=data, html=html,
                           sha256=hashlib.sha256(data).hexdigest(), pages=pages))
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
    handout_wait.notify_settled(revision_id)
    log.info("render job %s done: %d pages", job_id, pages)


def _record_handout_event(job: RenderJob, event_type: str) -> None:
    revision = job.revision
    webhooks.record_plan_event(revision.plan, revision, event_type)


@shared_task(name=SWEEP_TASK)
def sweep_outbox(resend_sent_before: str | None = None) -> int:
    """The beat's periodic sweep. With `resend_sent_before` (a worker (re)connected to the
    broker then, and the broker may have lost its queues) every job and delivery handed to the
    broker before that moment is sent again. Not retried on a database error: the next sweep
    comes within seconds."""
    before = datetime.fromisoformat(resend_sent_before) if resend_sent_before else None
    try:
        idempotency.purge_expired()
        embed_sessions.purge_ended()
        # Retention before the outbox: an erased plan's render job must not be sent again.
        erasure.sweep_retention()
        return outbox.sweep(resend_sent_before=before) + webhooks.sweep_deliveries(
            requeue_sent_before=before)
    except DATABASE_ERRORS as exc:
        db.session.rollback()
        log.warning("sweep skipped, database unavailable: %s", type(exc).__name__)
        return 0
