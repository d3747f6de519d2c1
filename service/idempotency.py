"""Idempotency-Key for POST and PATCH: a retried request gets the first answer, nothing twice."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Response, g, request
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from service.errors import problem
from service.extensions import db
from service.models import utcnow

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
# A request still "in flight" after this long died with its process (requests are bounded by
# the server's timeout, far below this); the next retry may take the key over.
ABANDONED_AFTER = timedelta(minutes=5)
# Headers worth replaying; the rest (Date, Content-Length, ...) belong to the new response.
_REPLAYED_HEADERS = ("Location", "Content-Type", "Link")

IDEMPOTENCY_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Any unique string (1-255 printable ASCII characters, e.g. a UUID) to make "
                   "retries safe. Within 24 hours the same key with the same body replays the "
                   "first successful answer (with `Idempotent-Replayed: true`) and creates "
                   "nothing new; the same key with a different body is 422; while the first "
                   "request is still running, 409. Keys are per clinic. Failed requests (4xx, "
                   "5xx) are not kept, so you can fix the body and retry with the same key.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": "^[\\x20-\\x7E]+$"},
    "example": "3f1c2a9e-6b1d-4e8f-9a57-0c2d5e7b8a41",
}


class IdempotencyRecord(db.Model):
    """One Idempotency-Key a clinic used, and the answer to replay for it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("clinic_id", "key"),)

    IN_FLIGHT = "in_flight"
    DONE = "done"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path and canonical body: tells a retry from a different request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=IN_FLIGHT)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(" " <= ch <= "~" for ch in key)


def fingerprint() -> str:
    """Same method, path, query and JSON body (whitespace and key order aside) -> same digest."""
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    query = "&".join(sorted(f"{k}={v}" for k, v in request.args.items(multi=True)))
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def purge_expired(now: datetime | None = None) -> int:
    """Delete keys past their 24 hours; the sweeper calls this. Returns how many went."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow())))
    db.session.commit()
    return result.rowcount or 0


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=utcnow().tzinfo)


def _key_problem(status: int, title: str, detail: str, **headers: str) -> Response:
    return problem(status, title, detail, kind="idempotency-key",
                   errors=[{"field": HEADER, "message": detail}], headers=headers or None)


def _busy() -> Response:
    return _key_problem(409, "A request with this Idempotency-Key is still in progress",
                        "The first request with this Idempotency-Key has not finished. "
                        "Retry after a moment to get its answer.", **{"Retry-After": "1"})


def _insert(clinic_id: int, key: str, digest: str) -> IdempotencyRecord | None:
    now = utcnow()
    record = IdempotencyRecord(clinic_id=clinic_id, key=key, fingerprint=digest,
                               state=IdempotencyRecord.IN_FLIGHT, created_at=now,
                               expires_at=now + KEEP_FOR)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return record


def _claim(clinic_id: int, key: str, digest: str) -> IdempotencyRecord | Response:
    """Insert the in-flight row, or answer why this request may not run. The unique
    (clinic_id, key) constraint is the lock: of two concurrent first requests one insert wins."""
    # Lazily forget this key if it expired, in case the sweeper has not run yet.
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key,
        IdempotencyRecord.expires_at <= utcnow()))
    db.session.commit()
    # Twice: a failing first request may release the key between our insert and our read.
    for _ in range(2):
        record = _insert(clinic_id, key, digest)
        if record is not None:
            return record
        existing = db.session.scalar(select(IdempotencyRecord).where(
            IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key))
        if existing is None:
            continue
        if existing.fingerprint != digest:
            return _key_problem(422, "Idempotency-Key reused with a different request",
                                "This Idempotency-Key was already used with a different "
                                "method, path or body. Use a new key for a new request.")
        if existing.state == IdempotencyRecord.DONE:
            return _replay(existing)
        now = utcnow()
        if _aware(existing.created_at) <= now - ABANDONED_AFTER:
            # Compare-and-set on created_at, so of two retries only one takes the key over.
            taken = db.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == existing.id,
                       IdempotencyRecord.state == IdempotencyRecord.IN_FLIGHT,
                       IdempotencyRecord.created_at == existing.created_at)
                .values(created_at=now, expires_at=now + KEEP_FOR))
            db.session.commit()
            if taken.rowcount == 1:
                return existing
        return _busy()
    return _busy()


def _replay(record: IdempotencyRecord) -> Response:
    resp = Response(record.response_body or "", status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        resp.headers[name] = value
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _release(record_id: int) -> None:
    """A failed request keeps nothing, so the same key may be retried with a corrected body."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour Idempotency-Key on a POST or PATCH view. Put it above flask-smorest's decorators
    so it sees the finished response; it needs `g.clinic` (set by `require_api_key`).

    Only successful (2xx) answers are kept and replayed, like Stripe's rule that a request
    which failed validation saved nothing: a portal fixing a 422 retries with the same key.
    Do not use it where the answer holds a secret (e.g. a new API key): it is stored to replay.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not valid_key(key):
            return _key_problem(422, "Your request has invalid fields",
                                "Idempotency-Key must be 1-255 printable ASCII characters.")
        claimed = _claim(g.clinic.id, key, fingerprint())
        if isinstance(claimed, Response):
            return claimed
        record_id = claimed.id
        try:
            resp = view(*args, **kwargs)
        except BaseException:
            _release(record_id)
            raise
        if not isinstance(resp, Response) or not 200 <= resp.status_code < 300:
            _release(record_id)
            return resp
        db.session.execute(
            update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
                state=IdempotencyRecord.DONE, response_status=resp.status_code,
                response_headers={h: resp.headers[h] for h in _REPLAYED_HEADERS
                                  if h in resp.headers},
                response_body=resp.get_data(as_text=True)))
        db.session.commit()
        return resp

    # service.api.openapi turns this marker into the header parameter and the 409/422 answers.
    doc = dict(getattr(wrapper, "_apidoc", {}))
    doc["manual_doc"] = {**doc.get("manual_doc", {}), "x-idempotent": True}
    wrapper._apidoc = doc  # type: ignore[attr-defined]
    return wrapper
