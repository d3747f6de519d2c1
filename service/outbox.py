"""The sweeper's rules: which render jobs are due or stuck, and sending them again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from service import queue
from service.extensions import db
from service.models import RenderJob, utcnow

log = logging.getLogger(__name__)

# A job the web request is sending right now is not the sweeper's yet.
_PENDING_GRACE = timedelta(seconds=2)


def due_jobs(now: datetime) -> list[RenderJob]:
    stuck_after = timedelta(seconds=current_app.config["STUCK_AFTER_SECONDS"])
    return list(db.session.scalars(
        select(RenderJob).where(or_(
            (RenderJob.status == RenderJob.PENDING)
            & (RenderJob.created_at <= now - _PENDING_GRACE),
            RenderJob.status.in_([RenderJob.QUEUED, RenderJob.RENDERING])
            & (RenderJob.sent_at <= now - stuck_after),
        )).order_by(RenderJob.id).limit(500)
    ))


def sweep(now: datetime | None = None) -> int:
    """Re-send every due or stuck job; returns how many were handed to the broker.

    Safe to run anywhere, any number of times: the render task is idempotent.
    """
    now = now or utcnow()
    sent = 0
    for job in due_jobs(now):
        if not queue.send(queue.RENDER_TASK, job.id):
            break  # broker down: the next sweep tries again
        db.session.execute(
            update(RenderJob)
            .where(RenderJob.id == job.id, RenderJob.status == job.status)
            .values(status=RenderJob.QUEUED, sent_at=now)
        )
        db.session.commit()
        sent += 1
    if sent:
        log.info("sweeper re-sent %d render job(s)", sent)
    return sent
