"""API keys: issued once, stored as a hash, scoped to one clinic."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import g, request
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service.extensions import db
from service.models import ApiKey, Clinic, utcnow

KEY_PREFIX = "lmb_"
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """SHA-256 is enough for 256-bit random keys (no dictionary to guess from) and keeps each
    request's check to microseconds; passwords, which people choose, get argon2id instead."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(clinic: Clinic, name: str = "", key: str | None = None) -> tuple[ApiKey, str]:
    """Create a key for `clinic`; returns the row and the only copy of the plain key."""
    plain = key or KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(clinic_id=clinic.id, name=name, prefix=plain[:12], key_hash=hash_key(plain))
    db.session.add(row)
    return row, plain


def clinic_for_key(plain: str) -> Clinic | None:
    digest = hash_key(plain)
    # The clinic in the same statement: every API request needs it.
    row = db.session.scalar(select(ApiKey).options(joinedload(ApiKey.clinic))
                            .where(ApiKey.key_hash == digest))
    if row is None or row.revoked_at is not None:
        return None
    # Constant-time compare of what we looked up, so timing says nothing about near misses.
    if not hmac.compare_digest(row.key_hash, digest):
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.commit()
    g.api_key_id = row.id
    return row.clinic


def require_api_key() -> None:
    """before_request hook for API blueprints: sets g.clinic or answers 401 problem+json."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send your API key as 'Authorization: Bearer <key>'.")
    clinic = clinic_for_key(token.strip())
    if clinic is None:
        abort(401, message="That API key is not valid or has been revoked.")
    g.clinic = clinic
