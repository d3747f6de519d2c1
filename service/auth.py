"""API keys: issued once, stored as a hash, scoped to one clinic and to named scopes."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta

from flask import g, request
from flask_smorest import abort
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from service import audit, scopes
from service.extensions import db
from service.models import ApiKey, Clinic, utcnow
from service.webhooks.events import any_enabled_endpoint, note_endpoints

KEY_PREFIX = "lmb_"
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """SHA-256 is enough for 256-bit random keys (no dictionary to guess from) and keeps each
    request's check to microseconds; passwords, which people choose, get argon2id instead."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(clinic: Clinic, name: str = "", key: str | None = None,
                  scope_names: Iterable[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key for `clinic`; returns the row and the only copy of the plain key.
    Without `scope_names` the key gets scopes.DEFAULT (never key management)."""
    plain = key or KEY_PREFIX + secrets.token_urlsafe(32)
    chosen = scopes.parse(list(scope_names) if scope_names is not None else list(scopes.DEFAULT))
    row = ApiKey(clinic_id=clinic.id, name=name, prefix=plain[:12], key_hash=hash_key(plain),
                 scopes=" ".join(chosen))
    db.session.add(row)
    return row, plain


@functools.cache
def _key_lookup() -> Select[tuple[ApiKey, bool]]:
    """Built once (every API request runs it). The clinic comes in the same statement: every
    API request needs it. So does whether it has an enabled webhook endpoint, for the events a
    write may record (one query fewer per write; service/webhooks/events.py)."""
    return (select(ApiKey, any_enabled_endpoint(ApiKey.clinic_id))
            .options(joinedload(ApiKey.clinic)).where(ApiKey.key_hash == bindparam("digest")))


def key_for(plain: str) -> ApiKey | None:
    """The live key row for a plain key; notes its use (and audits its first)."""
    digest = hash_key(plain)
    found = db.session.execute(_key_lookup(), {"digest": digest}).first()
    row = found[0] if found is not None else None
    if row is None or row.revoked_at is not None or row.clinic.disabled_at is not None:
        return None
    note_endpoints(row.clinic_id, found[1])
    # Constant-time compare of what we looked up, so timing says nothing about near misses.
    if not hmac.compare_digest(row.key_hash, digest):
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None:
        # A key's first use is worth a trace: a key nobody expected to be used shows up here.
        audit.record(audit.API_KEY_FIRST_USED, clinic_id=row.clinic_id,
                     actor=f"api-key:{row.id}", target=f"api-key:{row.id}",
                     detail={"prefix": row.prefix})
    if last is None or now - last > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.commit()
    return row


def clinic_for_key(plain: str) -> Clinic | None:
    row = key_for(plain)
    if row is None:
        return None
    g.api_key_id = row.id
    return row.clinic


def require_api_key() -> None:
    """before_request hook for API blueprints: sets g.clinic and g.api_key_scopes, or answers
    401 (no valid key) or 403 (the key lacks the scope the route needs; a route no scope
    covers is refused to every key, see service/scopes.py)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send your API key as 'Authorization: Bearer <key>'.")
    row = key_for(token.strip())
    if row is None:
        abort(401, message="That API key is not valid, has been revoked, or its clinic is "
                           "disabled.")
    needed = scopes.scope_for(request.path)
    if needed is None or needed not in row.scope_list:
        abort(403, message=(f"This API key does not have the '{needed}' scope this route needs."
                            if needed else "No API key may call this route."))
    g.api_key_id = row.id
    g.api_key_scopes = row.scope_list
    g.clinic = row.clinic
