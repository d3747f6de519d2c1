"""Marshmallow schemas of the public API v1: requests in, representations out."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    missing,
    validate,
    validates_schema,
)

from plans.printable import text_problem
from service.api.pagination import PageArgsSchema, page_schema
from service.errors import FieldErrorSchema
from service.handout_wait import MAX_WAIT_SECONDS


class Printable(validate.Validator):
    """Refuses text the handout cannot print (plans/printable.py): every field that reaches a
    handout carries this, so the text is refused when it is submitted, naming the characters,
    instead of failing the render later. One validator for the API, the builder form (which
    loads PlanCreateSchema), the embed API and the clinic profile."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: str) -> str:
        found = text_problem("", value, multiline=self.multiline)
        if found is not None:
            raise ValidationError(found.message)
        return value


_NAME = validate.Length(min=1, max=120)
PRINTABLE_LINE = Printable()
PRINTABLE_TEXT = Printable(multiline=True)


class UtcDateTime(fields.DateTime):
    """RFC 3339 with an offset on every backend: SQLite hands back naive datetimes, all UTC."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: object,
                   **kwargs: object) -> str | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class PatientSchema(StrictSchema):
    display_name = fields.String(required=True, validate=[_NAME, PRINTABLE_LINE], metadata={
        "description": "What the handout calls the patient; initials are fine. Never logged, "
                       "never sent in webhooks.", "example": "Ana P."})
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                              metadata={"description": "The portal's own patient reference.",
                                        "example": "MRN-20931"})


class CaudaEquinaRuleOutSchema(StrictSchema):
    assessed_by = fields.String(required=True, validate=validate.Length(max=120), metadata={
        "description": "Who assessed (a name).", "example": "Dr R. Shah, spinal team"})
    assessed_on = fields.String(required=True, validate=validate.Length(max=10), metadata={
        "description": "Date of the assessment, YYYY-MM-DD, not in the future.",
        "example": "2026-11-20"})
    finding = fields.String(required=True, validate=validate.Length(max=2000), metadata={
        "description": "What was found, in at least 4 different words.",
        "example": "MRI last month: no compression; saddle sensation normal and unchanged."})


class RiskFactorReviewSchema(StrictSchema):
    concern = fields.String(required=True, validate=validate.OneOf(["low", "moderate", "high"]))
    decision = fields.String(required=True, validate=validate.OneOf(
        ["proceed_with_safety_netting", "investigate", "refer"]))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class SameDayReviewSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(["referred", "explained"]))
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Required when explained: the reason, in at least 4 different words."})


class ScreeningSchema(StrictSchema):
    red_flags = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list,
                            validate=validate.Length(max=50),
                            metadata={"description": "Ids of screening findings present today "
                                                     "(see GET /api/v1/templates, "
                                                     "`screening`)."})
    nerve_symptoms = fields.Boolean(load_default=False, metadata={
        "description": "First-API nerve checkbox: counts as a nerve-related finding."})
    irritability = fields.String(load_default="low",
                                 validate=validate.OneOf(["low", "moderate", "high"]))
    desk_bound = fields.Boolean(load_default=False)
    cauda_equina_rule_out = fields.Nested(CaudaEquinaRuleOutSchema, load_default=None,
                                          allow_none=True)
    risk_factor_review = fields.Nested(RiskFactorReviewSchema, load_default=None,
                                       allow_none=True)
    same_day_review = fields.Nested(SameDayReviewSchema, load_default=None, allow_none=True)
    tendon_referral = fields.Boolean(load_default=False, metadata={
        "description": "You referred a suspected hamstring tendon injury for assessment."})


class ClearanceSchema(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(min=3, max=2000), metadata={
        "description": "First API: a free-text clearance. Still accepted; it now counts only "
                       "as the reason explaining same-day signs (docs/integrating.md)."})


class HandoutOptionsSchema(StrictSchema):
    large_print = fields.Boolean(load_default=False)
    page_size = fields.String(load_default="letter", validate=validate.OneOf(["letter", "a4"]))


class DoseChangeSchema(StrictSchema):
    sets = fields.Integer(strict=True)
    reps = fields.Integer(strict=True)
    hold_seconds = fields.Integer(strict=True)
    duration_seconds = fields.Integer(strict=True)
    times_per_day = fields.Integer(strict=True)
    days_per_week = fields.Integer(strict=True)


# Built once: a schema instance copies all its fields, which a default computed per request
# would pay every time a body leaves the object out.
_SCREENING = ScreeningSchema()
_HANDOUT_OPTIONS = HandoutOptionsSchema()


class PlanCreateSchema(StrictSchema):
    template_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                metadata={"example": "core_routine"})
    patient = fields.Nested(PatientSchema, required=True)
    screening = fields.Nested(ScreeningSchema, load_default=lambda: _SCREENING.load({}))
    red_flag_clearance = fields.Nested(ClearanceSchema, load_default=None, allow_none=True)
    dose_changes = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                               values=fields.Nested(DoseChangeSchema), load_default=dict,
                               metadata={"example": {"strap_hamstring_stretch":
                                                     {"hold_seconds": 20}}})
    add_exercises = fields.List(fields.String(validate=validate.Length(max=64)),
                                load_default=list, validate=validate.Length(max=30))
    remove_exercises = fields.List(fields.String(validate=validate.Length(max=64)),
                                   load_default=list, validate=validate.Length(max=30))
    notes = fields.String(load_default="", validate=[validate.Length(max=4000), PRINTABLE_TEXT])
    clinician = fields.String(load_default="", validate=[validate.Length(max=120), PRINTABLE_LINE])
    handout = fields.Nested(HandoutOptionsSchema,
                            load_default=lambda: _HANDOUT_OPTIONS.load({}))


def changes_of(schema: type[StrictSchema], name: str) -> type[Schema]:
    """The same fields, none required and none defaulted: a PATCH sends only what changes,
    and a default must never overwrite what the clinician chose before."""
    declared = {}
    for field_name, field in schema._declared_fields.items():
        field = copy.deepcopy(field)
        field.required, field.load_default = False, missing
        declared[field_name] = field
    return StrictSchema.from_dict(declared, name=name)


PatientChangeSchema = changes_of(PatientSchema, "PatientChange")
ScreeningChangeSchema = changes_of(ScreeningSchema, "ScreeningChange")
HandoutOptionsChangeSchema = changes_of(HandoutOptionsSchema, "HandoutOptionsChange")


class PlanPatchSchema(StrictSchema):
    """Every field optional. `patient`, `screening` and `handout` merge key by key into the
    latest revision's (JSON Merge Patch style); any other field sent replaces it whole."""

    patient = fields.Nested(PatientChangeSchema)
    screening = fields.Nested(ScreeningChangeSchema)
    red_flag_clearance = fields.Nested(ClearanceSchema, allow_none=True)
    dose_changes = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                               values=fields.Nested(DoseChangeSchema))
    add_exercises = fields.List(fields.String(validate=validate.Length(max=64)),
                                validate=validate.Length(max=30))
    remove_exercises = fields.List(fields.String(validate=validate.Length(max=64)),
                                   validate=validate.Length(max=30))
    notes = fields.String(validate=[validate.Length(max=4000), PRINTABLE_TEXT])
    clinician = fields.String(validate=[validate.Length(max=120), PRINTABLE_LINE])
    handout = fields.Nested(HandoutOptionsChangeSchema)

    @validates_schema
    def not_empty(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.", "body")


# Objects a PATCH merges key by key rather than replaces: a PATCH of `screening.irritability`
# must not drop the red flags recorded on the plan.
PATCH_MERGED_OBJECTS = ("patient", "screening", "handout")


class DoseSchema(Schema):
    sets = fields.Integer(allow_none=True)
    reps = fields.Integer(allow_none=True)
    hold_seconds = fields.Integer(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    times_per_day = fields.Integer(allow_none=True)
    days_per_week = fields.Integer(allow_none=True)
    each_side = fields.Boolean()


class PlanExerciseSchema(Schema):
    id = fields.String()
    name = fields.String()
    phase = fields.String()
    dose = fields.Nested(DoseSchema)
    dose_range = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()))
    dose_text = fields.String()
    adapted_because = fields.String()
    replaced = fields.String(metadata={"description": "Id of the exercise a safety swap "
                                                      "replaced, else empty."})


class RedFlagSchema(Schema):
    id = fields.String()
    tier = fields.String(validate=validate.OneOf(["emergency", "same_day", "slow_down"]))
    label = fields.String()
    text = fields.String()


class TemplateRefSchema(Schema):
    id = fields.String()
    version = fields.Integer()
    content_hash = fields.String()


class HandoutStatusSchema(Schema):
    status = fields.String(validate=validate.OneOf(
        ["pending", "queued", "rendering", "done", "failed"]))
    url = fields.String(metadata={
        "description": "This revision's handout PDF (`/api/v1/plans/{id}/revisions/{n}/handout`): "
                       "it keeps serving this revision after the plan is revised again."})
    html_url = fields.String(metadata={"description": "The same revision's accessible HTML."})
    pages = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)


class HandoutPendingSchema(Schema):
    status = fields.String(validate=validate.OneOf(["pending", "queued", "rendering"]),
                           metadata={"example": "rendering"})
    plan_id = fields.String(metadata={"example": "pln_x1Yc3bq0d9ZkQ2aP"})
    revision = fields.Integer(metadata={"example": 2})


class HandoutWaitArgsSchema(Schema):
    class Meta:
        # Query strings these routes ignored before `wait` existed still are.
        unknown = EXCLUDE

    wait = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS),
        metadata={"description": "Seconds (0-10) to wait for the handout before answering: "
                                 "the answer comes as soon as it is ready (or failed), else "
                                 "202 after this long. 0, the default, answers at once. A "
                                 "server already holding many waiting requests answers at "
                                 "once as if 0 was sent.",
                  "example": 5})


class PlanSchema(Schema):
    id = fields.String(metadata={"example": "pln_x1Yc3bq0d9ZkQ2aP"})
    revision = fields.Integer()
    patient = fields.Nested(PatientSchema)
    template = fields.Nested(TemplateRefSchema)
    title = fields.String()
    exercises = fields.List(fields.Nested(PlanExerciseSchema))
    left_out = fields.List(fields.Nested(lambda: LeftOutSchema()), metadata={
        "description": "Exercises the screening rules took out, and why (clinician view)."})
    red_flags_present = fields.List(fields.String())
    red_flag_clearance = fields.Nested(ClearanceSchema, allow_none=True)
    handout = fields.Nested(HandoutStatusSchema)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class LeftOutSchema(Schema):
    id = fields.String()
    name = fields.String()
    why = fields.String()


class PlanPreviewSchema(Schema):
    ok = fields.Boolean(metadata={"description": "True when the plan could be saved as is."})
    template = fields.Nested(TemplateRefSchema, allow_none=True)
    exercises = fields.List(fields.Nested(PlanExerciseSchema), metadata={
        "description": "After safety swaps and exclusions; `dose_range` is the allowed range "
                       "of the exercise as swapped."})
    left_out = fields.List(fields.Nested(LeftOutSchema))
    problems = fields.List(fields.Nested(FieldErrorSchema))


class PlanListArgsSchema(PageArgsSchema):
    class Meta:
        unknown = RAISE

    patient_reference = fields.String(
        load_default=None, validate=validate.Length(min=1, max=120),
        metadata={"description": "Only plans whose patient reference is exactly this.",
                  "example": "MRN-20931"})
    template_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=64),
        metadata={"description": "Only plans whose latest revision uses this template.",
                  "example": "core_routine"})


PlanPageSchema = page_schema(PlanSchema, "PlanPage")


class TemplateExerciseSchema(Schema):
    id = fields.String()
    name = fields.String()
    purpose = fields.String()
    phase = fields.String()
    dose = fields.Nested(DoseSchema)
    dose_range = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()))
    dose_text = fields.String()


class SourceSchema(Schema):
    id = fields.String()
    title = fields.String()
    publisher = fields.String()
    year = fields.Integer()


class TemplateSchema(Schema):
    id = fields.String(metadata={"example": "core_routine"})
    version = fields.Integer()
    title = fields.String()
    summary = fields.String()
    content_hash = fields.String()
    review = fields.Dict()
    exercises = fields.List(fields.Nested(TemplateExerciseSchema))
    optional_exercises = fields.List(fields.Nested(TemplateExerciseSchema))
    sources = fields.List(fields.Nested(SourceSchema))
    red_flags = fields.List(fields.Nested(RedFlagSchema))
    screening = fields.List(fields.Dict(), metadata={
        "description": "Screening findings a clinician may tick (ids for screening.red_flags), "
                       "with the record each requires and its consequence."})
    not_suited_for = fields.List(fields.Dict(), metadata={
        "description": "Screening answers this template refuses, and why."})


class TemplateListSchema(Schema):
    items = fields.List(fields.Nested(TemplateSchema))
