"""Embed links: issued, exchanged once for a session, and kept out of the logs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from service.accounts.sessions import aware
from service.embed.models import EmbedSession, EmbedSessionPlan
from service.extensions import db
from service.models import Clinic, Plan, utcnow

DEFAULTS = {
    # The link is for a page load that happens right away; minutes are plenty for a slow portal.
    "EMBED_LINK_SECONDS": 300,
    "EMBED_IDLE_SECONDS": 30 * 60,
    "EMBED_ABSOLUTE_SECONDS": 2 * 3600,
}
ACTOR_PREFIX = "embed"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_mac(link_id: str) -> str:
    """The second half of a link token. The Idempotency-Key store keeps answers in plain text to
    replay them, so it keeps the link without this half and the API adds it on the way out."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"embed-link:" + link_id.encode(), hashlib.sha256).hexdigest()[:32]


def link_token(link_id: str) -> str:
    return f"{link_id}.{link_mac(link_id)}"


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=float(current_app.config[name]))


@dataclass(frozen=True)
class NewLink:
    session: EmbedSession
    link_id: str  # the token without its MAC: what the idempotent answer may keep


def create_link(clinic: Clinic, api_key_id: int, data: dict[str, Any]) -> NewLink:
    """Stage a session waiting for its link to be opened; the caller commits."""
    link_id = secrets.token_urlsafe(18)
    now = utcnow()
    row = EmbedSession(
        clinic_id=clinic.id, api_key_id=api_key_id, token_hash=_digest(link_token(link_id)),
        token_expires_at=now + _seconds("EMBED_LINK_SECONDS"),
        csrf_token=secrets.token_urlsafe(32), patient_ref=data["patient_reference"],
        patient_name=data.get("patient_display_name") or "",
        template_id=data.get("template_id"), clinician_name=data.get("clinician") or "",
        parent_origin=data["parent_origin"], created_at=now)
    db.session.add(row)
    return NewLink(row, link_id)


class LinkRefused(Exception):
    """The link cannot be used; `reason` is 'unknown', 'used' or 'expired'."""

    def __init__(self, reason: str, session: EmbedSession | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.session = session


def exchange(token: str) -> tuple[EmbedSession, str]:
    """Consume a link token and start its session; returns the row and the session key.

    One conditional UPDATE is the lock: of two requests racing with the same link, one wins.
    Raises LinkRefused.
    """
    digest = _digest(token)
    now = utcnow()
    key = secrets.token_urlsafe(32)
    claimed = db.session.execute(
        update(EmbedSession)
        .where(EmbedSession.token_hash == digest, EmbedSession.token_used_at.is_(None),
               EmbedSession.token_expires_at > now)
        .values(token_used_at=now, started_at=now, last_seen_at=now,
                session_hash=_digest(key)))
    db.session.commit()
    row = db.session.scalar(select(EmbedSession).where(EmbedSession.token_hash == digest))
    if claimed.rowcount == 1 and row is not None:
        return row, key
    if row is None:
        raise LinkRefused("unknown")
    raise LinkRefused("used" if row.token_used_at is not None else "expired", row)


def expired(row: EmbedSession, now: datetime) -> bool:
    if row.started_at is None or row.last_seen_at is None:
        return True
    if row.clinic.disabled_at is not None:
        return True
    return (now - aware(row.last_seen_at) > _seconds("EMBED_IDLE_SECONDS")
            or now - aware(row.started_at) > _seconds("EMBED_ABSOLUTE_SECONDS"))


def touch(row: EmbedSession, now: datetime) -> None:
    """Keep an active session alive: a write per minute at most, not per page."""
    if row.last_seen_at is None or now - aware(row.last_seen_at) > timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()


def purge_ended(now: datetime | None = None) -> int:
    """Delete sessions that can no longer be used (link expired unused, or past the absolute
    limit), with their plan lists: they hold a patient name and reference that nothing needs
    once the session is over. The plans and the audit log stay. Returns how many went."""
    now = now or utcnow()
    absolute = now - _seconds("EMBED_ABSOLUTE_SECONDS")
    ended = select(EmbedSession.id).where(or_(
        and_(EmbedSession.started_at.is_(None), EmbedSession.token_expires_at <= now),
        EmbedSession.started_at <= absolute))
    ids = list(db.session.scalars(ended))
    if ids:
        db.session.execute(delete(EmbedSessionPlan).where(EmbedSessionPlan.session_id.in_(ids)))
        db.session.execute(delete(EmbedSession).where(EmbedSession.id.in_(ids)))
    db.session.commit()
    return len(ids)


def actor(row: EmbedSession) -> str:
    """Who the audit log and revision history name: the portal's API key."""
    return f"{ACTOR_PREFIX}:{row.api_key_id}"


def remember_plan(row: EmbedSession, plan: Plan) -> None:
    db.session.add(EmbedSessionPlan(session_id=row.id, plan_id=plan.id))
    db.session.commit()


def session_plan(row: EmbedSession, public_id: str) -> Plan | None:
    """One of the plans this session created; any other plan, in any clinic, is None."""
    return db.session.scalar(
        select(Plan).join(EmbedSessionPlan, EmbedSessionPlan.plan_id == Plan.id)
        .where(EmbedSessionPlan.session_id == row.id, Plan.public_id == public_id,
               Plan.clinic_id == row.clinic_id))
