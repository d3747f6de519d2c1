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
                   "nothing new; the same key with a different body is 422; a retry while "
                   "the first request is still running waits for it (up to 5 s, then 409). "
                   "The plan and the key's answer are stored in one transaction, so a retry "
                   "after a broken connection or a 503 never makes a second plan. Keys are per "
                   "clinic. Failed requests (4xx, 5xx) are not kept, so you can fix the body "
                   "and retry with the same key.",
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


def _earlier(clinic_id: int, key: str, digest: str) -> IdempotencyRecord | Response | None:
    """Before the view runs: the answer a committed row gives this request (a replay, a
    mismatch, a 409 or a takeover of a legacy in-flight row), or None for a new key."""
    existing = db.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key,
        IdempotencyRecord.expires_at > utcnow()))
    return None if existing is None else _answer_for(existing, digest)


def _store_answer(clinic_id: int, key: str, digest: str, resp: Response) -> Response | None:
    """Stage the key's row, answer included, in the view's transaction; None when staged.

    The unique (clinic_id, key) index settles a race: if another request with this key
    committed first, our insert fails (on PostgreSQL after waiting for it), everything this
    request staged is rolled back, and it answers with the winner's stored answer instead.
    """
    # Lazily forget this key if it expired, in case the sweeper has not run yet.
    db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.clinic_id == clinic_id, IdempotencyRecord.key == key,
        IdempotencyRecord.expires_at <= utcnow()))
    if db.engine.dialect.name == "postgresql":
        # Bound the wait behind a concurrent request with the key; 409 (retry) after that.
        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'"))
    now = utcnow()
    db.session.add(IdempotencyRecord(
        clinic_id=clinic_id, key=key, fingerprint=digest, state=IdempotencyRecord.DONE,
        created_at=now, expires_at=now + KEEP_FOR, **_answer_columns(resp)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        winner = _earlier(clinic_id, key, digest)
        return winner if isinstance(winner, Response) else _busy()
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        db.session.rollback()
        return _busy()
    return None


def _answer_columns(resp: Response) -> dict[str, Any]:
    return {"response_status": resp.status_code,
            "response_headers": {h: resp.headers[h] for h in _REPLAYED_HEADERS
                                 if h in resp.headers},
            "response_body": resp.get_data(as_text=True)}


def _replay(record: IdempotencyRecord) -> Response:
    resp = Response(record.response_body or "", status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        resp.headers[name] = value
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _release(legacy_id: int | None) -> None:
    """A failed request keeps nothing, so the same key may be retried with a corrected body.
    The rollback undoes everything it staged; only an in-flight row from before this release
    (taken over above) was committed on its own and is removed."""
    db.session.rollback()
    if legacy_id is not None:
        db.session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.id == legacy_id,
            IdempotencyRecord.state == IdempotencyRecord.IN_FLIGHT))
        db.session.commit()


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour Idempotency-Key on a POST or PATCH view. Put it above flask-smorest's decorators
    so it sees the finished response; it needs `g.clinic` (set by `require_api_key`).

    The view runs inside `transaction.deferred()`: the service layer flushes, and this wrapper
    adds the key's row with the answer and commits everything once, so a committed plan always
    has its answer and a retry replays it, whatever happens after. The row is added after the
    view, not before, so no lock is held while the plan is assembled (SQLite has one writer);
    of two concurrent requests with one key, the unique index lets one commit and the other
    rolls back and replays it. After-commit work (dispatch) runs last and cannot turn the
    stored answer into an error. Without a key the same single commit applies, with no row.

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
        digest = fingerprint() if key is not None else ""
        with transaction.deferred() as after_commit:
            legacy = None
            if key is not None:
                earlier = _earlier(g.clinic.id, key, digest)
                if isinstance(earlier, Response):
                    return earlier
                legacy = earlier  # an in-flight row taken over (see _answer_for)
            try:
                resp = view(*args, **kwargs)
            except BaseException:
                _release(legacy.id if legacy is not None else None)
                raise
            if not isinstance(resp, Response) or not 200 <= resp.status_code < 300:
                _release(legacy.id if legacy is not None else None)
                return resp
            if legacy is not None:
                db.session.execute(update(IdempotencyRecord).where(
                    IdempotencyRecord.id == legacy.id).values(
                    state=IdempotencyRecord.DONE, **_answer_columns(resp)))
            elif key is not None:
                lost_race = _store_answer(g.clinic.id, key, digest, resp)
                if lost_race is not None:
                    after_commit.clear()  # our writes were rolled back; nothing to follow up
                    return lost_race
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
