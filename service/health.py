"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from service import heartbeats
from service.extensions import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """The process is up and serving; checks nothing else so it never flaps with a dependency."""
    return {"status": "ok"}, 200


@blp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    """Ready when the database answers, the schema is migrated and a worker beat lately.

    The broker is reported only, because plans are accepted while it is down (the outbox sends
    them later). A service with no worker would accept plans whose handouts never come, so no
    recent worker heartbeat is not ready.
    """
    checks: dict[str, str] = {}
    ready = True
    try:
        db.session.execute(text("SELECT 1 FROM alembic_version"))
        checks["database"] = "ok"
        if heartbeats.worker_alive():
            checks["worker"] = "ok"
        else:
            checks["worker"] = f"no worker seen in the last {heartbeats.STALE_SECONDS:.0f} s"
            ready = False
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        checks["database"] = f"unavailable ({type(exc).__name__})"
        ready = False
    try:
        with current_app.extensions["celery"].connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"unavailable ({type(exc).__name__})"
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
