"""Cursor pagination for list endpoints: newest first, opaque cursors, a Link header."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from service.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Integer primary keys are 32-bit on PostgreSQL; SQLite cannot bind past 64 bits at all.
MAX_INT_ID = 2**31 - 1


class PageArgsSchema(Schema):
    """Query arguments every list endpoint accepts; subclass it to add filters."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page, 1-{MAX_LIMIT}.", "example": DEFAULT_LIMIT})
    cursor = fields.String(
        load_default=None, validate=validate.Length(min=1, max=300),
        metadata={"description": "The `next_cursor` of the previous page, unchanged. "
                                 "Omit it for the first (newest) page."})


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The `{items, next_cursor}` envelope around `item_schema`, named for the OpenAPI document."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(
            required=True, allow_none=True,
            metadata={"description": "Pass as `cursor` for the next page; null on the last page."}),
    }, name=name)


def encode_cursor(created_at: datetime, tiebreak: str | int) -> str:
    """Position after one row; urlsafe so it can go straight into a query string."""
    if created_at.tzinfo is None:
        # SQLite hands back naive datetimes; everything is stored in UTC.
        created_at = created_at.replace(tzinfo=UTC)
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), tiebreak], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, tiebreak_type: type) -> tuple[datetime, Any]:
    """Raises ValidationError naming `cursor` for anything this module did not write."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, tiebreak = json.loads(raw)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or not isinstance(tiebreak, tiebreak_type) \
                or isinstance(tiebreak, bool):
            raise ValueError("wrong shape")
        if isinstance(tiebreak, str) and "\x00" in tiebreak:
            raise ValueError("NUL")  # PostgreSQL cannot compare text holding it
        if isinstance(tiebreak, int) and not 0 <= tiebreak <= MAX_INT_ID:
            raise ValueError("beyond the id column")  # the database would refuse to compare
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError("This cursor is not one we issued; start again without "
                              "it.") from None
    return when, tiebreak


def paginate(query: Select, created_col: InstrumentedAttribute,
             tiebreak_col: InstrumentedAttribute, args: dict[str, Any],
             serialise: Callable[[Any], dict[str, Any]],
             prefetch: Callable[[list[Any]], None] | None = None,
             ) -> tuple[dict[str, Any], dict[str, str]]:
    """One page of `query`, newest first, as (`{items, next_cursor}`, headers).

    `prefetch`, if given, sees the page's rows before `serialise` does, so state the serialiser
    needs can be loaded for the whole page in one statement rather than one per row.

    Ordering by (created_at, a unique column) and seeking past the cursor's pair, rather than
    OFFSET, keeps pages stable while new rows arrive: they land before page one, never shift
    later pages. A cursor we did not issue aborts with a 422 problem naming `cursor`.
    """
    limit = args.get("limit") or DEFAULT_LIMIT
    if args.get("cursor"):
        kind = int if tiebreak_col.type.python_type is int else str
        try:
            when, last = decode_cursor(args["cursor"], kind)
        except ValidationError as err:
            abort(422, errors=[{"field": "cursor", "message": str(m)} for m in err.messages])
        query = query.where(or_(created_col < when,
                                and_(created_col == when, tiebreak_col < last)))
    rows = list(db.session.scalars(
        query.order_by(created_col.desc(), tiebreak_col.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if prefetch is not None:
        prefetch(rows)
    next_cursor = None
    headers: dict[str, str] = {}
    if more:
        last_row = rows[-1]
        next_cursor = encode_cursor(getattr(last_row, created_col.key),
                                    getattr(last_row, tiebreak_col.key))
        params = {k: v for k, v in request.args.items() if k != "cursor"}
        params["cursor"] = next_cursor
        headers["Link"] = f'<{request.base_url}?{urlencode(params)}>; rel="next"'
    return {"items": [serialise(r) for r in rows], "next_cursor": next_cursor}, headers


LINK_HEADER_DOC = {
    "Link": {"description": 'RFC 8288 link to the next page: `<url>; rel="next"`; absent on the '
                           "last page.", "schema": {"type": "string"}},
}
