"""What the handout says, in reading order, shared by the PDF and its HTML twin."""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass

from pdf.illustrations import pose_pair
from plans.model import (
    Dose,
    HandoutSnapshot,
    PhaseNote,
    Plan,
    ResolvedExercise,
    SafetyTier,
    Tier,
)
from plans.snapshot import snapshot_to_dict

HANDOUT_TITLE = "Your home exercise plan"
STOP_TITLE = "Stop and get help"
PICTURE_LEGEND = ("Each exercise has two pictures: where you start and where you end. In them, "
                  "black is your body and dark grey your other arm or leg. Blue shows the strap, "
                  "chair, stool or mat, and arrows show which way to move.")
GRID_HELP = ("The small table beside each picture says how much: sets and repeats, or how long; "
             "how long to hold; how often; and whether to do each side.")
# No 0/O, 1/l/I, 5/S or 8/B: a code read aloud over the phone or copied by hand stays one code.
CODE_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"

# What an old snapshot (made before safety-netting had its own list) printed above its tiers.
_LEGACY_TIERS = {
    Tier.EMERGENCY: ("Go to the emergency department now",
                     "Call your emergency number or go to the emergency department now if you "
                     "have any of these."),
    Tier.SAME_DAY: ("Contact the clinic today", "Stop the exercises and call the clinic today if "
                    "you have any of these."),
    Tier.SLOW_DOWN: ("Slow down and check in", "Ease off, make the movement smaller, and tell "
                     "your clinician if you have any of these."),
}


# The last snapshot's id: one render asks for it several times (header, footer, page sheet,
# HTML) and each asking serialised and hashed the whole snapshot. Snapshots are frozen, so
# the same object always has the same id; a weak reference never keeps patient data alive.
_last_id: tuple[weakref.ref[HandoutSnapshot], str] | None = None


def content_id(snapshot: HandoutSnapshot) -> str:
    """First 12 hex digits of the SHA-256 of the snapshot's canonical JSON.

    The snapshot, not the template hash: two patients on one template with different doses get
    different ids, so a printed page can be matched to exactly the revision it came from.
    """
    global _last_id
    last = _last_id
    if last is not None and last[0]() is snapshot:
        return last[1]
    canonical = json.dumps(snapshot_to_dict(snapshot), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    _last_id = (weakref.ref(snapshot), digest)
    return digest


def plan_code(snapshot: HandoutSnapshot) -> str:
    """A short code for the printed sheet ("K7M-4QX"), from the content id: unambiguous letters
    and digits only, so it reads the same aloud, handwritten or in a search box."""
    n = int(content_id(snapshot), 16)
    chars = []
    for _ in range(6):
        n, r = divmod(n, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[r])
    return f"{''.join(chars[:3])}-{''.join(chars[3:])}"


def safety_tiers(plan: Plan) -> tuple[SafetyTier, ...]:
    """The safety-netting tiers to print: the plan's own, or for a snapshot made before they
    existed, its red flags grouped by tier under plain action lines."""
    if plan.guide is not None:
        return plan.guide.safety_net
    out = []
    for tier in Tier:
        signs = tuple(f.text for f in plan.red_flags if f.tier is tier)
        if signs:
            heading, action = _LEGACY_TIERS[tier]
            out.append(SafetyTier(tier, heading, action, signs))
    return tuple(out)


@dataclass(frozen=True)
class ExerciseGroup:
    phase: PhaseNote
    exercises: tuple[tuple[int, ResolvedExercise], ...]  # (number on the handout, exercise)


def exercise_groups(plan: Plan) -> list[ExerciseGroup]:
    """Exercises under their phases, in plan order, numbered through the whole plan."""
    notes = {n.name: n for n in plan.phase_notes}
    groups: dict[str, list[tuple[int, ResolvedExercise]]] = {}
    for number, ex in enumerate(plan.exercises, start=1):
        groups.setdefault(ex.phase, []).append((number, ex))
    return [ExerciseGroup(notes.get(name, PhaseNote(name, "")), tuple(items))
            for name, items in groups.items()]


def _seconds(s: int) -> str:
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} min"
    return f"{s} sec"


def dose_grid(dose: Dose) -> list[tuple[str, str]]:
    """(label, value) cells of the dose grid: sets, repeats or time, hold, how often, side.
    Only the parts that apply to this exercise; the words match dose_text."""
    cells = []
    if dose.sets:
        cells.append(("Sets", str(dose.sets)))
    if dose.reps:
        cells.append(("Repeats", str(dose.reps)))
    if dose.duration_seconds:
        cells.append(("Time", _seconds(dose.duration_seconds)))
    if dose.hold_seconds:
        cells.append(("Hold", _seconds(dose.hold_seconds)))
    often = []
    if dose.times_per_day:
        often.append({1: "once", 2: "twice"}.get(dose.times_per_day,
                                                  f"{dose.times_per_day} times") + " a day")
    if dose.days_per_week:
        days = dose.days_per_week
        often.append("every day" if days == 7 else f"{days} days a week")
    if often:
        cells.append(("How often", ", ".join(often)))
    if dose.each_side:
        cells.append(("Side", "each side"))
    return cells


def sessions_per_day(plan: Plan) -> int:
    """Boxes per day in the log: the most times a day any exercise is done (at least 1)."""
    return max([e.dose.times_per_day or 1 for e in plan.exercises] or [1])


@dataclass(frozen=True)
class Picture:
    """One picture of an exercise: which pose phase it draws and its caption."""

    phase: str  # "start" or "end" (pdf.illustrations.PHASES)
    label: str  # "Start:" or "End:", printed in bold before the caption; "" for none
    caption: str

    @property
    def text(self) -> str:
        """The caption as read aloud or extracted: label and words."""
        return f"{self.label} {self.caption}" if self.label else self.caption


def pictures(exercise: ResolvedExercise) -> tuple[Picture, ...]:
    """The exercise's pictures in reading order: its start and end positions, captioned; for
    a pose the library does not draw, one neutral figure captioned with the exercise's own
    picture description (or its name)."""
    pair = pose_pair(exercise.pose)
    if pair is None:
        return (Picture("start", "", exercise.illustration_alt or exercise.name),)
    return (Picture("start", "Start:", pair.start_caption),
            Picture("end", "End:", pair.end_caption))

