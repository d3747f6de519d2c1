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
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from service import transaction
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
# How long a request waits behind another one holding the same key before answering 409.
LOCK_WAIT_SECONDS = 5.0

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


def _is_lock_wait(exc: OperationalError) -> bool:
    """PostgreSQL's lock_timeout (SQLSTATE 55P03) or SQLite's busy timeout: another request
    holds this key, as opposed to a database that is down."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code == "55P03" or "database is locked" in str(exc.orig)


def _existing(clinic_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key))


def _answer_for(existing: IdempotencyRecord, digest: str) -> IdempotencyRecord | Response:
    """What a committed row means for this request: a mismatch, a replay, or (an in-flight
    row a view committed on its own, or one from before this release) a takeover or 409."""
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
        if taken.rowcount == 1:
            return existing
    db.session.rollback()
    return _busy()


def _claim(clinic_id: int, key: str, digest: str) -> IdempotencyRecord | Response:
    """Stage this request's row in the transaction the view's writes will join, or answer why
    this request may not run.

    The row is flushed, not committed: it commits with the plan and its answer, or not at all.
    The unique (clinic_id, key) index is the lock: a concurrent request with the same key waits
    on it until ours ends, then finds our committed answer (or, if we rolled back, its turn).
    """
    # Lazily forget this key if it expired, in case the sweeper has not run yet.
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key,
        IdempotencyRecord.expires_at <= utcnow()))
    existing = _existing(clinic_id, key)
    if existing is not None:
        return _answer_for(existing, digest)
    if db.engine.dialect.name == "postgresql":
        # Bound the wait behind a concurrent holder of the key; 409 (retry) after that.
        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'"))
    now = utcnow()
    record = IdempotencyRecord(clinic_id=clinic_id, key=key, fingerprint=digest,
                               state=IdempotencyRecord.IN_FLIGHT, created_at=now,
                               expires_at=now + KEEP_FOR)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = _existing(clinic_id, key)
        return _busy() if existing is None else _answer_for(existing, digest)
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        db.session.rollback()
        return _busy()
    return record


def _replay(record: IdempotencyRecord) -> Response:
    resp = Response(record.response_body or "", status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        resp.headers[name] = value
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _release(record_id: int) -> None:
    """A failed request keeps nothing, so the same key may be retried with a corrected body.

    The rollback undoes our uncommitted row. Only a view that committed on its own (so the row
    committed in flight, before the answer existed) leaves one to remove.
    """
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.id == record_id, IdempotencyRecord.state == IdempotencyRecord.IN_FLIGHT))
    db.session.commit()


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour Idempotency-Key on a POST or PATCH view. Put it above flask-smorest's decorators
    so it sees the finished response; it needs `g.clinic` (set by `require_api_key`).

    The view runs inside `transaction.deferred()`: the service layer flushes, and this wrapper
    commits the view's writes together with the key's answer, so a committed plan always has
    its answer and a retry replays it, whatever happens after. After-commit work (dispatch)
    runs last and cannot turn the stored answer into an error. Without a key the same single
    commit applies, just with no answer row.

    Only successful (2xx) answers are kept and replayed, like Stripe's rule that a request
    which failed validation saved nothing: a portal fixing a 422 retries with the same key.
    Do not use it where the answer holds a secret (e.g. a new API key): it is stored to replay.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is not None and not valid_key(key):
            return _key_problem(422, "Your request has invalid fields",
                                "Idempotency-Key must be 1-255 printable ASCII characters.")
        with transaction.deferred() as after_commit:
            record_id = None
            if key is not None:
                claimed = _claim(g.clinic.id, key, fingerprint())
                if isinstance(claimed, Response):
                    return claimed
                record_id = claimed.id
            try:
                resp = view(*args, **kwargs)
            except BaseException:
                if record_id is not None:
                    _release(record_id)
                else:
                    db.session.rollback()
                raise
            if not isinstance(resp, Response) or not 200 <= resp.status_code < 300:
                if record_id is not None:
                    _release(record_id)
                else:
                    db.session.rollback()
                return resp
            if record_id is not None:
                db.session.execute(
                    update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
                        state=IdempotencyRecord.DONE, response_status=resp.status_code,
                        response_headers={h: resp.headers[h] for h in _REPLAYED_HEADERS
                                          if h in resp.headers},
                        response_body=resp.get_data(as_text=True)))
            # The one commit: plan, revision, outbox row, events and the answer together. If it
            # raises (the database went away) the outcome is unknown to us, so the client gets
            # 503 and its retry with the same key finds the answer or creates the plan once.
            db.session.commit()
        transaction.run_after_commit(after_commit)
        return resp

    # service.api.openapi turns this marker into the header parameter and the 409/422 answers.
    doc = dict(getattr(wrapper, "_apidoc", {}))
    doc["manual_doc"] = {**doc.get("manual_doc", {}), "x-idempotent": True}
    wrapper._apidoc = doc  # type: ignore[attr-defined]
    return wrapper
