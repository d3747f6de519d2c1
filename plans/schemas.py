"""Marshmallow schemas for the YAML data files under plans/data/: shape only, no cross-refs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plans.model import Tier

# Screening answers an exercise may react to with a swap or an exclusion (plans.rules).
SCREENING_KEYS = ("nerve_symptoms", "high_irritability", "hamstring_tendon")
# Records a screening category may require before a plan is made (plans.rules checks each).
SCREENING_RECORDS = ("cauda_equina_rule_out", "risk_factor_review", "same_day_review",
                     "tendon_referral")
REVIEW_STATUSES = ("approved", "draft", "retired")
# Illustration keys the pdf/ illustration library draws.
POSES = (
    "supine_knees_bent",
    "supine_leg_raised_strap",
    "supine_leg_raised_bent_knee",
    "supine_floss",
    "tall_kneel_hinge",
    "standing_hinge",
    "bridge",
    "dead_bug",
    "stool_fold",
    "seated_knee_extend",
    "walking",
    "standing_knee_bend",
    "ankle_pump",
)

_ID = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="must be a lower_snake_case id")
_TEXT = validate.Length(min=1, error="must not be empty")


def _text(**kw: Any) -> fields.String:
    return fields.String(required=True, validate=_TEXT, **kw)


def _texts(**kw: Any) -> fields.List:
    return fields.List(
        fields.String(validate=_TEXT),
        required=True,
        validate=validate.Length(min=1, error="must list at least one"),
        **kw,
    )


def _ids(**kw: Any) -> fields.List:
    return fields.List(fields.String(validate=_ID), load_default=list, **kw)


class DoseSchema(Schema):
    sets = fields.Integer(strict=True, validate=validate.Range(min=1))
    reps = fields.Integer(strict=True, validate=validate.Range(min=1))
    hold_seconds = fields.Integer(strict=True, validate=validate.Range(min=1))
    duration_seconds = fields.Integer(strict=True, validate=validate.Range(min=1))
    times_per_day = fields.Integer(strict=True, validate=validate.Range(min=1))
    days_per_week = fields.Integer(strict=True, validate=validate.Range(min=1, max=7))
    each_side = fields.Boolean(truthy={True}, falsy={False})


class _Bounds(fields.List):
    """A [low, high] pair of positive integers, low <= high."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(fields.Integer(strict=True, validate=validate.Range(min=1)), **kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> list[Any]:
        out = super()._deserialize(value, attr, data, **kw)
        if len(out) != 2 or None in out or out[0] > out[1]:  # type: ignore[operator]
            raise ValidationError("must be [low, high] with low <= high")
        return out


class DoseRangeSchema(Schema):
    sets = _Bounds()
    reps = _Bounds()
    hold_seconds = _Bounds()
    duration_seconds = _Bounds()
    times_per_day = _Bounds()
    days_per_week = _Bounds()



class ExerciseSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    name = _text()
    purpose = _text()
    steps = _texts()
    cues = _texts()
    feel = _text()
    back_off = _text()
    dose = fields.Nested(DoseSchema, required=True)
    dose_range = fields.Nested(DoseRangeSchema, required=True)
    straight_knee_long_hold = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    nerve_tensioning = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    hamstring_load = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    regressions = _ids()
    progressions = _ids()
    swaps = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SCREENING_KEYS)),
        values=fields.String(validate=_ID),
        load_default=dict,
    )
    excluded_when = fields.List(
        fields.String(validate=validate.OneOf(SCREENING_KEYS)), load_default=list
    )
    pose = fields.String(required=True, validate=validate.OneOf(POSES))
    illustration_alt = _text()


class ExerciseFileSchema(Schema):
    exercises = fields.List(fields.Nested(ExerciseSchema), required=True)


class TierGuidanceSchema(Schema):
    heading = _text()
    action = _text()


class RedFlagSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    tier = fields.String(required=True, validate=validate.OneOf([t.value for t in Tier]))
    text = _text()
    label = _text()


class RedFlagFileSchema(Schema):
    tiers = fields.Dict(
        keys=fields.String(validate=validate.OneOf([t.value for t in Tier])),
        values=fields.Nested(TierGuidanceSchema),
        required=True,
    )
    red_flags = fields.List(fields.Nested(RedFlagSchema), required=True)

    @validates_schema
    def _every_tier(self, data: dict[str, Any], **kw: Any) -> None:
        missing = [t.value for t in Tier if t.value not in data.get("tiers", {})]
        if missing:
            raise ValidationError(f"missing tiers: {', '.join(missing)}", "tiers")
        empty = [
            t.value for t in Tier if not any(f["tier"] == t.value for f in data["red_flags"])
        ]
        if empty:
            raise ValidationError(f"no red flags in tiers: {', '.join(empty)}", "red_flags")


class SourceSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    title = _text()
    publisher = _text()
    year = fields.Integer(strict=True, required=True, validate=validate.Range(min=1900))


class SourceFileSchema(Schema):
    sources = fields.List(fields.Nested(SourceSchema), required=True)


class FaqSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    question = _text()
    answer = _text()


class FaqFileSchema(Schema):
    faq = fields.List(fields.Nested(FaqSchema), required=True)


class _IsoDate(fields.Field):
    """An ISO date, written quoted or unquoted in YAML; kept as the ISO string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValidationError("must be an ISO date, e.g. 2026-01-31") from exc


class ReviewSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))
    reviewer = _text()
    date = _IsoDate(required=True)


class PlanItemSchema(Schema):
    exercise = fields.String(required=True, validate=_ID)
    # Only the fields that differ from the catalogue's default dose.
    dose = fields.Nested(DoseSchema, load_default=None)


class PhaseSchema(Schema):
    name = _text()
    note = _text()
    items = fields.List(
        fields.Nested(PlanItemSchema),
        required=True,
        validate=validate.Length(min=1, error="must list at least one"),
    )


class UnsuitedSchema(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(SCREENING_KEYS))
    why = _text()


class ScreeningCategorySchema(Schema):
    id = fields.String(required=True, validate=_ID)
    title = _text()
    consequence = _text()
    requires = fields.String(load_default="", validate=validate.OneOf(("", *SCREENING_RECORDS)))
    answer = fields.String(load_default="", validate=validate.OneOf(("", *SCREENING_KEYS)))
    ease_dose = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    advice_only = fields.Boolean(truthy={True}, falsy={False}, load_default=False)
    sources = _ids()


class FindingSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    category = fields.String(required=True, validate=_ID)
    label = _text()
    also = _ids()


class ScreeningFileSchema(Schema):
    review = fields.Nested(lambda: ReviewSchema(), required=True)
    categories = fields.List(fields.Nested(ScreeningCategorySchema), required=True,
                             validate=validate.Length(min=1))
    findings = fields.List(fields.Nested(FindingSchema), required=True,
                           validate=validate.Length(min=1))
    sources = fields.Dict(keys=fields.String(validate=_ID), values=fields.String(validate=_TEXT),
                          load_default=dict)


class TemplateSchema(Schema):
    id = fields.String(required=True, validate=_ID)
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    title = _text()
    summary = _text()
    review = fields.Nested(ReviewSchema, required=True)
    sources = fields.List(
        fields.String(validate=_ID), required=True, validate=validate.Length(min=1)
    )
    phases = fields.List(
        fields.Nested(PhaseSchema), required=True, validate=validate.Length(min=1)
    )
    optional_exercises = _ids()
    habit_anchor = _text()
    tracking_prompts = _texts()
    faq = fields.List(fields.String(validate=_ID), required=True, validate=validate.Length(min=1))
    content_hash = fields.String(load_default="")
    not_suited_for = fields.List(fields.Nested(UnsuitedSchema), load_default=list)
