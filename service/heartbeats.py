"""Worker liveness: each worker records a heartbeat; readiness asks when one was last seen."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from service.extensions import db
from service.models import WorkerHeartbeat, utcnow

# A worker beats every INTERVAL; it counts as gone after STALE, which allows several missed
# beats (a busy database, a long garbage collection) before readiness says no.
INTERVAL_SECONDS = 5.0
STALE_SECONDS = 30.0


def beat(hostname: str, now: datetime | None = None) -> None:
    """Record that `hostname` is alive; an update first, so the common case is one statement."""
    now = now or utcnow()
    done = db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname)
                              .values(seen_at=now)).rowcount
    if not done:
        db.session.add(WorkerHeartbeat(hostname=hostname, seen_at=now))
    try:
        db.session.commit()
    except IntegrityError:  # another process with the same name inserted first
        db.session.rollback()


def forget(hostname: str) -> None:
    """A worker shutting down cleanly stops counting at once."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.hostname == hostname))
    db.session.commit()


def last_seen() -> datetime | None:
    """When any worker was last alive, or None if none ever was."""
    seen = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if seen is not None and seen.tzinfo is None:  # SQLite hands back naive UTC
        seen = seen.replace(tzinfo=utcnow().tzinfo)
    return seen


def worker_alive(now: datetime | None = None) -> bool:
    seen = last_seen()
    return seen is not None and (now or utcnow()) - seen <= timedelta(seconds=STALE_SECONDS)
