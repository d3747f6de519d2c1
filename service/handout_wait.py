"""Waiting for a handout inside one request (`?wait=N`), and an honest Retry-After when the
client has to ask again: both read only the render job's state, never the file.

The worker also signals that a revision's render settled, so a waiting request wakes at once
instead of at its next look: on Redis by pub/sub, on the embedded default (no Redis) by a local
wake-up datagram (service/local_wake.py). The database stays the truth (a lost signal costs at
most SIGNAL_RECHECK_SECONDS); where neither signal can be had, the request polls the job row.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from flask import current_app
from sqlalchemy import func, select

from service import local_wake
from service.config import make_private_dir
from service.extensions import db
from service.models import RenderJob, utcnow

# The longest a request may hold a web thread waiting; a client wanting longer asks again.
# An operator can lower it (HANDOUT_MAX_WAIT_SECONDS; 0 turns waiting off, e.g. for gunicorn's
# sync workers, where a waiting request holds a whole worker process).
MAX_WAIT_SECONDS = 10
# Between two looks at the job: a render takes 30-100 ms, so a finished handout is seen
# within a fraction of it; one indexed SELECT of a small row costs well under a millisecond.
POLL_SECONDS = 0.01
# Waiting requests one web process holds at once; later ones answer 202 at once instead, so
# waiters never take every thread (gunicorn runs 4 threads per worker: Dockerfile).
WAITERS_PER_PROCESS = 2
# Retry-After is whole seconds (RFC 9110); never less than 1 (0 invites a busy loop), and
# never so long that a client sleeps through a handout that recovered from a backlog.
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1, 60
# Recent renders the estimate is taken from, and what it assumes before there are any.
RECENT_RENDERS = 20
UNKNOWN_RENDER_SECONDS = 1.0

# With a signal, how often a waiting request still looks at the job row itself. The local
# signal is rechecked sooner: its sender is a worker on this machine that may lack the right to
# reach the socket (another user), and a look at SQLite costs well under a millisecond.
SIGNAL_RECHECK_SECONDS = 1.0
LOCAL_RECHECK_SECONDS = 0.25
# A waiting request's local socket older than this was left by a process that was killed.
STALE_SOCKET_SECONDS = 10 * MAX_WAIT_SECONDS

log = logging.getLogger(__name__)
_OPEN = (RenderJob.PENDING, RenderJob.QUEUED, RenderJob.RENDERING)
_waiters = threading.BoundedSemaphore(WAITERS_PER_PROCESS)


def _job_status(revision_id: int) -> str | None:
    """The revision's render job status on a connection of its own, outside the session's
    transaction: each look sees the latest commit (SQLite reads from a snapshot otherwise)."""
    with db.engine.connect() as conn:
        return conn.scalar(select(RenderJob.status).where(RenderJob.revision_id == revision_id)
                           .order_by(RenderJob.id).limit(1))


def wait_until_settled(revision_id: int, seconds: float) -> bool:
    """Block until the revision's render job is done or failed, or `seconds` pass; True when it
    settled. Returns at once (False) when this process already has its quota of waiters.

    The request's own transaction is ended first, so no connection, lock or snapshot is held
    while it sleeps; the caller reads the state again afterwards as usual."""
    seconds = min(seconds, current_app.config["HANDOUT_MAX_WAIT_SECONDS"])
    if seconds <= 0 or not _waiters.acquire(blocking=False):
        return False
    try:
        _end_transaction()
        deadline = time.monotonic() + seconds
        signals = _subscribe(revision_id)
        look_at = 0.0  # when to look at the row next: now, then every poll or recheck
        try:
            while True:
                now = time.monotonic()
                if now >= look_at:
                    if _job_status(revision_id) not in _OPEN:
                        return True
                    look_at = now + _look_interval(signals)
                left = deadline - now
                if left <= 0:
                    return False
                pause = min(look_at - now, left)
                if signals is None:
                    time.sleep(pause)
                    continue
                if isinstance(signals, local_wake.Listener):
                    if signals.wait(pause):
                        return True  # sent after the worker's commit: settled
                    continue
                try:
                    # None also when it read the subscription's confirmation: that is no
                    # reason to look at the row before the recheck is due.
                    if signals.get_message(timeout=pause):
                        return True  # published after the worker's commit: settled
                except redis.RedisError:
                    signals = None  # Redis went away: look at the row instead
                    look_at = 0.0
        finally:
            if signals is not None:
                signals.close()
    finally:
        _waiters.release()


def _look_interval(signals: Any) -> float:  # noqa: ANN401 - redis' PubSub, untyped
    if signals is None:
        return POLL_SECONDS
    if isinstance(signals, local_wake.Listener):
        return LOCAL_RECHECK_SECONDS
    return SIGNAL_RECHECK_SECONDS


def _end_transaction() -> None:
    """Commit what the request holds (nothing written yet on these routes) without expiring its
    rows: the plan and revision it resolved stay as read, and are not read back on waking."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _redis() -> redis.Redis | None:
    """This process's client for the broker's Redis; None on the embedded broker."""
    app = current_app
    url = app.config["BROKER_URL"]
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = app.extensions.get("limber_signal_redis")
    if client is None:
        # Short timeouts, like the broker's own: a signal is never worth a stuck request.
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        app.extensions["limber_signal_redis"] = client
    return client


def _channel(revision_id: int) -> str:
    return f"{current_app.config.get('BROKER_KEY_PREFIX', '')}handout-settled:{revision_id}"


def _wake_folder() -> Path:
    """Where waiting requests' wake-up sockets are, on the embedded default: private, as the
    instance folder is (the names hold revision ids, nothing about a patient)."""
    return Path(current_app.config["INSTANCE_PATH"]) / "signals"


def _wake_prefix(revision_id: int) -> str:
    return f"r{revision_id}-"


def _subscribe(revision_id: int) -> Any:  # noqa: ANN401 - redis' PubSub, untyped
    """Listen for the revision's signal before the first look at the row, so a render that
    settles in between is not missed: Redis pub/sub, else a local wake-up socket; None (poll
    instead) when neither can be had."""
    client = _redis()
    if client is None:
        try:
            make_private_dir(_wake_folder())
        except OSError:
            return None
        # A web process killed while waiting leaves its socket; no waiter lives this long.
        local_wake.remove_older_than(_wake_folder(), STALE_SOCKET_SECONDS)
        return local_wake.Listener.open(_wake_folder(), _wake_prefix(revision_id))
    signals = client.pubsub(ignore_subscribe_messages=True)
    try:
        signals.subscribe(_channel(revision_id))
    except redis.RedisError:
        signals.close()
        return None
    return signals


def notify_settled(revision_id: int) -> None:
    """The worker, after committing a revision's handout (or its failure): wake the requests
    waiting for it. Best effort: they look at the row again within a second anyway."""
    client = _redis()
    if client is None:
        local_wake.wake(_wake_folder(), _wake_prefix(revision_id))
        return
    try:
        client.publish(_channel(revision_id), "1")
    except redis.RedisError as exc:
        log.info("handout signal not published (%s); waiters will look again shortly",
                 type(exc).__name__)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=utcnow().tzinfo)


def typical_render_seconds() -> float:
    """Median claim-to-stored time of the most recent finished renders."""
    rows = db.session.execute(
        select(RenderJob.started_at, RenderJob.finished_at)
        .where(RenderJob.status == RenderJob.DONE, RenderJob.started_at.is_not(None),
               RenderJob.finished_at.is_not(None))
        .order_by(RenderJob.id.desc()).limit(RECENT_RENDERS)).all()
    took = [(_aware(f) - _aware(s)).total_seconds() for s, f in rows]
    took = [t for t in took if t >= 0]
    return statistics.median(took) if took else UNKNOWN_RENDER_SECONDS


def retry_after_seconds(job: RenderJob | None) -> int:
    """Seconds until the job's handout is likely ready: what is left of a typical render when it
    is rendering; when it waits, a typical render for every job ahead of it shared by the
    renders running now (as many as the workers can run: a backlog keeps them all busy), plus
    its own."""
    typical = typical_render_seconds()
    if job is not None and job.status == RenderJob.RENDERING and job.started_at is not None:
        estimate = typical - (utcnow() - _aware(job.started_at)).total_seconds()
    else:
        ahead, running = db.session.execute(select(
            func.count().filter(RenderJob.status.in_([RenderJob.PENDING, RenderJob.QUEUED]),
                                RenderJob.id < (job.id if job is not None else 0)),
            func.count().filter(RenderJob.status == RenderJob.RENDERING),
        ).where(RenderJob.status.in_(_OPEN))).one()
        estimate = typical * (ahead / max(1, running) + 1)
    return max(RETRY_AFTER_MIN, min(RETRY_AFTER_MAX, math.ceil(estimate)))
