"""Stored screenings move to the screening model (plans/data/screening.yaml); nothing is lost.

The first model had one free-text clearance for every red flag. The new model asks for a
record per category. Where a stored clearance note explained same-day signs, it becomes that
revision's `screening.same_day_review` (explained, with the note as the reason), marked
`"from": "red_flag_clearance"` so a downgrade removes exactly what was added. The note itself
stays where it was, and every finding id of the first model exists in the new one, so nothing
the clinician recorded is dropped. A cauda equina or risk-factor finding cannot be mapped: the
note lacks who, when and the concern level. Those revisions keep their note, their handouts
are served unchanged (snapshots are not touched), and a new revision asks for the record.

The finding ids are written out here, not read from the data files, so this migration does
the same thing whatever the data says later.

Revision ID: 0013_screening
Revises: 0012_operators
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013_screening"
down_revision = "0012_operators"
branch_labels = None
depends_on = None

# The first model's same-day red flags that are same-day signs in the new model.
SAME_DAY = frozenset({"fever_or_unwell", "weight_loss", "fall_or_injury", "night_pain",
                      "spreading_leg_symptoms"})
MARK = "red_flag_clearance"

revisions = sa.table("plan_revisions", sa.column("id", sa.Integer),
                     sa.column("request", sa.JSON))


def mapped(request: dict[str, Any]) -> dict[str, Any] | None:
    """The request in the new model, or None when nothing changes."""
    screening = request.get("screening") or {}
    note = (request.get("red_flag_clearance") or {}).get("note")
    if not note or screening.get("same_day_review") or not SAME_DAY & set(
            screening.get("red_flags") or ()):
        return None
    return {**request, "screening": {**screening, "same_day_review": {
        "action": "explained", "reason": note, "from": MARK}}}


def unmapped(request: dict[str, Any]) -> dict[str, Any] | None:
    screening = request.get("screening") or {}
    review = screening.get("same_day_review") or {}
    if review.get("from") != MARK:
        return None
    return {**request, "screening": {k: v for k, v in screening.items()
                                     if k != "same_day_review"}}


def _rewrite(change: Any) -> None:  # noqa: ANN401
    conn = op.get_bind()
    for row_id, request in conn.execute(sa.select(revisions.c.id, revisions.c.request)).all():
        new = change(request) if isinstance(request, dict) else None
        if new is not None:
            conn.execute(revisions.update().where(revisions.c.id == row_id).values(request=new))


def upgrade() -> None:
    _rewrite(mapped)


def downgrade() -> None:
    _rewrite(unmapped)
