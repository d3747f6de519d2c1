"""Domain objects of a home plan: exercises, doses, templates, screening, and the resolved plan."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

DOSE_FIELDS = (
    "sets",
    "reps",
    "hold_seconds",
    "duration_seconds",
    "times_per_day",
    "days_per_week",
)


class Tier(StrEnum):
    """How urgently a warning sign needs care; the order is the order on the handout."""

    EMERGENCY = "emergency"
    SAME_DAY = "same_day"
    SLOW_DOWN = "slow_down"


class Irritability(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


@dataclass(frozen=True)
class Dose:
    """How much of one exercise. A field left as None does not apply to that exercise."""

    sets: int | None = None
    reps: int | None = None
    hold_seconds: int | None = None
    duration_seconds: int | None = None
    times_per_day: int | None = None
    days_per_week: int | None = None
    each_side: bool = False

    def with_changes(self, changes: dict[str, int]) -> Dose:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        # Every field is a number or a flag: asdict's deep copy of each value only cost time.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dose:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DoseRange:
    """Inclusive bounds per dose field; a field missing here may not be changed."""

    bounds: dict[str, tuple[int, int]]

    def to_dict(self) -> dict[str, list[int]]:
        return {k: [lo, hi] for k, (lo, hi) in self.bounds.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DoseRange:
        return cls({k: (int(v[0]), int(v[1])) for k, v in data.items()})


@dataclass(frozen=True)
class Exercise:
    """One vetted exercise from the catalogue, in patient words."""

    id: str
    name: str
    purpose: str
    steps: tuple[str, ...]
    cues: tuple[str, ...]
    feel: str
    back_off: str
    dose: Dose
    dose_range: DoseRange
    # True for a straight-knee stretch held for a long time: nerve symptoms swap these out.
    straight_knee_long_hold: bool = False
    # True for a move that tensions the sciatic nerve (straightens the knee with the hip bent):
    # any nerve-related finding swaps it for a slider or leaves it out.
    nerve_tensioning: bool = False
    # True for a hamstring stretch or a move that loads the hamstrings: a suspected hamstring
    # tendon injury leaves it out.
    hamstring_load: bool = False
    regressions: tuple[str, ...] = ()
    progressions: tuple[str, ...] = ()
    # Screening answer ("nerve_symptoms", "high_irritability") -> id of the exercise to use instead.
    swaps: dict[str, str] = field(default_factory=dict)
    # Screening answers that remove the exercise with no replacement.
    excluded_when: tuple[str, ...] = ()
    # Key into the illustration library in pdf/ (pose data); no image files.
    pose: str = ""
    illustration_alt: str = ""


@dataclass(frozen=True)
class RedFlag:
    id: str
    tier: Tier
    # What the patient reads on the handout.
    text: str
    # What the clinician ticks on the screening checklist.
    label: str


@dataclass(frozen=True)
class TierGuidance:
    """What the handout says above one tier of warning signs: a heading and what to do."""

    tier: Tier
    heading: str
    action: str


@dataclass(frozen=True)
class SafetyTier:
    """One tier of the patient's safety-netting (REFERENCES.md section B): what to do, then the
    new or worsening signs it is for. Never history the patient already has."""

    tier: Tier
    heading: str
    action: str
    signs: tuple[str, ...]


@dataclass(frozen=True)
class PhaseNote:
    """A phase of the plan as the handout groups exercises under it, with its note."""

    name: str
    note: str


@dataclass(frozen=True)
class Term:
    word: str
    meaning: str


@dataclass(frozen=True)
class HandoutGuide:
    """Patient guidance every new handout carries (plans/data/handout.yaml), in the snapshot so a
    re-render never needs the data files."""

    safety_net: tuple[SafetyTier, ...]
    pain_rule: str
    floor_note: str
    terms: tuple[Term, ...]
    log_help: str
    review: str


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    year: int


@dataclass(frozen=True)
class PlanItem:
    """One exercise in a template, with the template's dose if it differs from the catalogue."""

    exercise_id: str
    dose: Dose | None = None


@dataclass(frozen=True)
class Phase:
    name: str
    note: str
    items: tuple[PlanItem, ...]


@dataclass(frozen=True)
class Review:
    status: str  # "approved" | "draft" | "retired"
    reviewer: str
    date: str  # ISO date


@dataclass(frozen=True)
class FaqEntry:
    question: str
    answer: str


@dataclass(frozen=True)
class Unsuited:
    """A screening answer a template does not suit, and why, in the clinician's words."""

    answer: str
    why: str


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    title: str
    summary: str
    review: Review
    sources: tuple[str, ...]
    phases: tuple[Phase, ...]
    # Exercises a clinician may add to this template beyond its phases.
    optional_exercises: tuple[str, ...]
    habit_anchor: str
    tracking_prompts: tuple[str, ...]
    faq: tuple[FaqEntry, ...]
    content_hash: str = ""
    # Patients this template does not suit (e.g. progression with high irritability).
    not_suited_for: tuple[Unsuited, ...] = ()

    @property
    def signed_off(self) -> bool:
        """Reviewed by a named clinician, not the interim engineering review."""
        return self.approved and "interim" not in self.review.reviewer.lower()

    @property
    def approved(self) -> bool:
        return self.review.status == "approved"


@dataclass(frozen=True)
class ScreeningCategory:
    """One category of clinician screening (REFERENCES.md section A) and its consequence."""

    id: str
    title: str
    consequence: str
    requires: str = ""  # the record a plan needs when a finding of this category is present
    answer: str = ""  # the screening answer exercises react to
    ease_dose: bool = False
    advice_only: bool = False
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    id: str
    category: str
    label: str
    also: tuple[str, ...] = ()  # further categories whose effects this finding has

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.category, *self.also)


@dataclass(frozen=True)
class ScreeningModel:
    categories: dict[str, ScreeningCategory]
    findings: dict[str, Finding]
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaudaEquinaRuleOut:
    """A structured clinical finding that rules out suspected cauda equina syndrome."""

    assessed_by: str
    assessed_on: str  # ISO date
    finding: str


@dataclass(frozen=True)
class RiskFactorReview:
    concern: str  # low | moderate | high
    decision: str  # proceed_with_safety_netting | investigate | refer
    note: str = ""


@dataclass(frozen=True)
class SameDayReview:
    action: str  # referred | explained
    reason: str = ""


@dataclass(frozen=True)
class Screening:
    """The clinician's screening answers for this patient today.

    `red_flags` holds every finding ticked (ids of plans/data/screening.yaml; the name is kept
    from the first API). `nerve_symptoms` is the first API's nerve checkbox: a nerve finding.
    """

    red_flags: frozenset[str] = frozenset()
    nerve_symptoms: bool = False
    irritability: Irritability = Irritability.LOW
    desk_bound: bool = False
    cauda_equina_rule_out: CaudaEquinaRuleOut | None = None
    risk_factor_review: RiskFactorReview | None = None
    same_day_review: SameDayReview | None = None
    tendon_referral: bool = False


@dataclass(frozen=True)
class RedFlagClearance:
    """The clinician's record that the red flags present were assessed and cleared."""

    note: str


@dataclass(frozen=True)
class PlanRequest:
    template_id: str
    patient_name: str
    screening: Screening = Screening()
    # exercise id -> {dose field: value}
    dose_changes: dict[str, dict[str, int]] = field(default_factory=dict)
    add_exercises: tuple[str, ...] = ()
    remove_exercises: tuple[str, ...] = ()
    notes: str = ""
    clearance: RedFlagClearance | None = None
    # The day the plan is made, for "a date not in the future"; None means the system's today.
    today: str | None = None


@dataclass(frozen=True)
class ResolvedExercise:
    """An exercise as it goes to the patient: catalogue text, final dose and its words."""

    id: str
    name: str
    purpose: str
    steps: tuple[str, ...]
    cues: tuple[str, ...]
    feel: str
    back_off: str
    dose: Dose
    dose_range: DoseRange
    dose_text: str
    phase: str
    pose: str
    illustration_alt: str
    # Plain-words reason when a safety rule swapped or changed this exercise, else "".
    adapted_because: str = ""
    # The id of the template's exercise this one replaced after a safety swap, else "".
    replaced: str = ""


@dataclass(frozen=True)
class LeftOut:
    """An exercise a safety rule took out of the plan, and why (for the clinician)."""

    id: str
    name: str
    why: str


@dataclass(frozen=True)
class Plan:
    """A fully resolved plan: everything the handout and the API show, nothing looked up later."""

    template_id: str
    template_version: int
    template_hash: str
    title: str
    summary: str
    patient_name: str
    screening: Screening
    exercises: tuple[ResolvedExercise, ...]
    red_flags: tuple[RedFlag, ...]  # the full catalogue, every tier, always
    red_flags_present: tuple[str, ...]
    clearance: RedFlagClearance | None
    habit_anchor: str
    tracking_prompts: tuple[str, ...]
    faq: tuple[FaqEntry, ...]
    sources: tuple[Source, ...]
    notes: str
    # Heading and action line per tier, in tier order, so a re-render never needs the catalogue.
    # Added after the first snapshots: old snapshots load with () here.
    red_flag_tiers: tuple[TierGuidance, ...] = ()
    # Exercises the screening rules took out (clinician view; old snapshots load with ()).
    left_out: tuple[LeftOut, ...] = ()
    # Added with handout v2: old snapshots load with () and None and print their red_flags.
    phase_notes: tuple[PhaseNote, ...] = ()
    guide: HandoutGuide | None = None


@dataclass(frozen=True)
class ClinicInfo:
    name: str
    contact: str
    emergency_number: str
    # PNG bytes as base64, kept in the snapshot so an old handout re-renders identically.
    logo_png_b64: str = ""
    # How to get help when the clinic is closed (an out-of-hours number, urgent care, NHS 111).
    out_of_hours: str = ""


@dataclass(frozen=True)
class HandoutSnapshot:
    """What a handout is rendered from, stored whole in each plan revision."""

    plan_id: str
    revision: int
    created_on: str  # ISO date; the renderer never reads the clock
    clinician: str
    clinic: ClinicInfo
    plan: Plan


class PageSize(StrEnum):
    LETTER = "letter"
    A4 = "a4"


@dataclass(frozen=True)
class HandoutOptions:
    large_print: bool = False
    page_size: PageSize = PageSize.LETTER

    @property
    def key(self) -> str:
        """Stable name of these options, used to key stored handouts."""
        return f"{self.page_size.value}-{'large' if self.large_print else 'standard'}"
