"""The sweeper's rules: which render jobs are due, stuck or abandoned, and sending them again."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from service import queue
from service.config import RENDER_TIME_LIMIT
from service.extensions import db
from service.models import RenderJob, utcnow

log = logging.getLogger(__name__)

# A job the web request is sending right now is not the sweeper's yet.
_PENDING_GRACE = timedelta(seconds=2)
# A claim older than the render's hard time limit plus this has no live render behind it:
# Celery kills a render at the limit.
_CLAIM_GRACE = timedelta(seconds=15)


def this_process() -> str:
    """How a claim names its worker process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claimer_gone(claimed_by: str | None) -> bool:
    """True when the claim was made on this host by a process that no longer runs (killed
    mid-render), or by this very process (which is not rendering it now). A claim from
    another host cannot be checked here; the time rule in `due_jobs` covers it."""
    if not claimed_by:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A pool child killed with its worker is reparented to init and stays a zombie until init
    reaps it, which some inits (containers, VMs) do seconds later. It still answers a signal
    check but renders nothing; its claim is released like a gone process's. Linux only: where
    there is no /proc, a zombie counts as alive and the time rule in `due_jobs` covers it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (command) state ...": the command may hold spaces and parentheses.
            state = stat.read().rpartition(b")")[2].split()[:1]
    except FileNotFoundError:
        return True  # gone between the signal check and here
    except OSError:
        return False
    return state in ([b"Z"], [b"X"])


def due_jobs(now: datetime, resend_sent_before: datetime | None = None) -> list[RenderJob]:
    """Pending jobs past their grace; queued ones waiting long enough that their message may be
    lost (or sent before `resend_sent_before`, a broker reconnect); and claims older than the
    render time limit."""
    queued_before = now - timedelta(seconds=current_app.config["STUCK_AFTER_SECONDS"])
    if resend_sent_before is not None:
        queued_before = max(queued_before, resend_sent_before)
    abandoned_before = now - timedelta(seconds=RENDER_TIME_LIMIT) - _CLAIM_GRACE
    return list(db.session.scalars(
        select(RenderJob).where(or_(
            (RenderJob.status == RenderJob.PENDING)
            & (RenderJob.created_at <= now - _PENDING_GRACE),
            (RenderJob.status == RenderJob.QUEUED) & (RenderJob.sent_at <= queued_before),
            (RenderJob.status == RenderJob.RENDERING)
            & (RenderJob.started_at <= abandoned_before),
        )).order_by(RenderJob.id).limit(500)
    ))


def release_local_claims() -> int:
    """Jobs claimed on this host by processes that are gone go back to pending. A worker calls
    this when it starts: whatever it (or a killed predecessor) was rendering is lost."""
    claimed = db.session.scalars(select(RenderJob).where(
        RenderJob.status == RenderJob.RENDERING,
        RenderJob.claimed_by.like(f"{socket.gethostname()}:%"))).all()
    released = 0
    for job in claimed:
        if job.claimed_by == this_process() or not claimer_gone(job.claimed_by):
            continue
        released += db.session.execute(
            update(RenderJob).where(RenderJob.id == job.id,
                                    RenderJob.status == RenderJob.RENDERING,
                                    RenderJob.claimed_by == job.claimed_by)
            .values(status=RenderJob.PENDING, claimed_by=None)).rowcount or 0
    db.session.commit()
    if released:
        log.info("released %d render job(s) claimed by worker processes that are gone",
                 released)
    return released


def sweep(now: datetime | None = None, resend_sent_before: datetime | None = None) -> int:
    """Re-send every due, stuck or abandoned job; returns how many were handed to the broker.

    Safe to run anywhere, any number of times: the render task claims its job with a
    conditional update, so a second message for a job does nothing.
    """
    now = now or utcnow()
    sent = 0
    # What each job looked like when it was found due. Read once, before any commit: a commit
    # expires the loaded rows, and reading one again would see a job a worker claimed a moment
    # ago as "rendering" and take a live claim back (a second render of the same job, seen in
    # the fault suite when a restarted worker claimed jobs while its sweep ran).
    due = [(job.id, job.status, job.started_at) for job in due_jobs(now, resend_sent_before)]
    abandoned_before = now - timedelta(seconds=RENDER_TIME_LIMIT) - _CLAIM_GRACE
    for job_id, status, started_at in due:
        if status == RenderJob.RENDERING:
            # Take the abandoned claim back first, so the message sent below finds a job it
            # may claim. If the send fails it waits as queued for the next sweep.
            taken = db.session.execute(
                update(RenderJob).where(RenderJob.id == job_id,
                                        RenderJob.status == RenderJob.RENDERING,
                                        RenderJob.started_at == started_at,
                                        RenderJob.started_at <= abandoned_before)
                .values(status=RenderJob.QUEUED, sent_at=now, claimed_by=None)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if not taken:
                continue
            log.info("render job %s: a claim older than the render time limit taken back",
                     job_id)
        if not queue.send(queue.RENDER_TASK, job_id):
            break  # broker down: the next sweep tries again
        db.session.execute(
            update(RenderJob)
            .where(RenderJob.id == job_id,
                   RenderJob.status.in_([RenderJob.PENDING, RenderJob.QUEUED]))
            .values(status=RenderJob.QUEUED, sent_at=now)
        )
        db.session.commit()
        sent += 1
    if sent:
        log.info("sweeper re-sent %d render job(s)", sent)
    return sent
