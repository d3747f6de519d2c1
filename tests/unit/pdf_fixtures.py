"""Test data: realistic handout snapshots built by hand, so pdf/ tests need no template files."""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import replace

from plans.guide import default_guide
from plans.model import (
    ClinicInfo,
    Dose,
    DoseRange,
    FaqEntry,
    HandoutSnapshot,
    PhaseNote,
    Plan,
    RedFlag,
    ResolvedExercise,
    Screening,
    Source,
    Tier,
)


def _exercise(id: str, name: str, pose: str, dose: Dose, dose_text: str, steps: tuple[str, ...],
              cue: str, feel: str, back_off: str, alt: str, phase: str = "Daily routine",
              adapted_because: str = "") -> ResolvedExercise:
    return ResolvedExercise(
        id=id, name=name, purpose=f"Purpose of {name.lower()}: calmer, easier bending.",
        steps=steps, cues=(cue, f"Breathe out slowly as you do the {name.lower()}."),
        feel=feel, back_off=back_off, dose=dose,
        dose_range=DoseRange({"reps": (1, 20)}), dose_text=dose_text, phase=phase, pose=pose,
        illustration_alt=alt, adapted_because=adapted_because,
    )


EXERCISES = (
    _exercise(
        "hip_rolls", "Breathing hip rolls", "supine_knees_bent",
        Dose(duration_seconds=90, times_per_day=1, days_per_week=7),
        "1 to 2 minutes, once a day, every day",
        ("Lie on your back with your knees bent and feet flat.",
         "Breathe out and gently roll your low back toward the floor.",
         "Breathe in and let your back return to its usual curve."),
        "Keep the movement small and slow, like a rocking boat.",
        "A gentle easing in your low back.",
        "Any pain that grows while you move.",
        "A person lying on their back with knees bent, rocking the pelvis.",
    ),
    _exercise(
        "hamstring_floss", "Sliding hamstring floss", "supine_floss",
        Dose(duration_seconds=75, each_side=True, days_per_week=7),
        "60 to 90 seconds on each side, every day",
        ("Lie on your back and hold one thigh with the hip bent to a right angle.",
         "Slowly straighten the knee until you feel a light stretch.",
         "Bend the knee again. Keep the ankle relaxed the whole time."),
        "Move in and out of the stretch; do not hold it.",
        "A light, comfortable pull behind the thigh.",
        "Tingling, burning or zapping down the leg. Bend the knee more.",
        "A person on their back holding one thigh up and straightening that knee.",
        adapted_because="You told us about leg tingling, so this moving stretch replaces a "
                        "long hold.",
    ),
    _exercise(
        "strap_stretch", "Strap-supported hamstring stretch", "supine_leg_raised_strap",
        Dose(sets=3, hold_seconds=30, each_side=True, days_per_week=5),
        "3 easy holds of 30 seconds on each side, 5 days a week",
        ("Lie on your back. Loop a strap or towel around the middle of one foot.",
         "Raise the leg with a soft knee until you feel a mild stretch.",
         "Breathe slowly and hold. Lower the leg with control."),
        "Let the strap do the work so your shoulders stay relaxed.",
        "A mild to moderate stretch you can breathe into.",
        "You cannot breathe smoothly, or you feel pins and needles.",
        "A person on their back holding one raised leg with a strap around the foot.",
    ),
    _exercise(
        "kneel_hinge", "Tall-kneel hip hinge", "tall_kneel_hinge",
        Dose(sets=1, reps=10, days_per_week=5),
        "8 to 10 slow repetitions, 5 days a week",
        ("Kneel tall on a soft surface with your hips over your knees.",
         "Push your hips back and tip your chest forward with a long back.",
         "Squeeze your buttocks to return to tall kneeling."),
        "Imagine closing a drawer behind you with your bottom.",
        "Work in the back of the hips and thighs, not the low back.",
        "Your knees hurt on the floor: add a cushion or do it standing.",
        "A person kneeling upright, then leaning the trunk forward from the hips.",
    ),
    _exercise(
        "bridge", "Glute bridge", "bridge",
        Dose(sets=2, reps=10, days_per_week=3),
        "2 sets of 10, 3 days a week",
        ("Lie on your back with knees bent and feet flat, hip-width apart.",
         "Press through your heels and lift your hips until your body is a straight line.",
         "Pause for a breath, then lower slowly."),
        "You should be able to chat while you do this.",
        "Work in your buttocks and the back of your thighs.",
        "A cramp behind the thigh: bring your feet closer to your hips.",
        "A person on their back lifting the hips off the floor.",
        phase="Strength",
    ),
    _exercise(
        "walk", "Easy walk", "walking",
        Dose(duration_seconds=600, days_per_week=7),
        "10 minutes at an easy pace, every day",
        ("Walk on flat ground at a pace where you can talk.",
         "Let your arms swing and take normal steps."),
        "Split it into two 5-minute walks if that is easier.",
        "Warm and loose, a little out of breath at most.",
        "Leg pain that spreads or grows as you walk.",
        "A person walking.",
        phase="Every day",
    ),
)

RED_FLAGS = (
    RedFlag("saddle_numbness", Tier.EMERGENCY,
            "Numbness or tingling between your legs, around your bottom or inner thighs",
            "Saddle numbness"),
    RedFlag("bladder", Tier.EMERGENCY,
            "New trouble starting or controlling your pee, or less feeling when you pee",
            "Bladder change"),
    RedFlag("bowel", Tier.EMERGENCY, "Losing control of your bowels", "Bowel incontinence"),
    RedFlag("both_legs", Tier.EMERGENCY,
            "Weakness or numbness in both legs, or one leg getting weaker", "Bilateral weakness"),
    RedFlag("fever", Tier.SAME_DAY, "Fever or feeling unwell along with the back pain", "Fever"),
    RedFlag("cancer", Tier.SAME_DAY, "You have had cancer in the past", "History of cancer"),
    RedFlag("fall", Tier.SAME_DAY, "The pain started after a fall or injury", "Trauma"),
    RedFlag("night_pain", Tier.SAME_DAY, "Constant pain at night that rest does not ease",
            "Night pain"),
    RedFlag("spike", Tier.SLOW_DOWN,
            "Pain that spikes after light stretching more than once or twice", "Pain spikes"),
    RedFlag("zaps", Tier.SLOW_DOWN,
            "Sharp, electric or pins-and-needles feelings during a stretch", "Nerve-like feelings"),
)

SOURCES = (
    Source("acp2017", "Noninvasive treatments for low back pain: clinical practice guideline",
           "American College of Physicians", 2017),
    Source("medlineplus", "Low back pain", "MedlinePlus", 2024),
    Source("hhs2018", "Physical Activity Guidelines for Americans, 2nd edition", "HHS", 2018),
)

FAQ = (
    FaqEntry("Do tight hamstrings always cause back pain?",
             "No. Stiff hamstrings are one piece of a bigger picture. Walking and light "
             "strength work help too."),
    FaqEntry("How often should I stretch?",
             "Short sessions most days work better than one long session a week."),
)


def png_logo() -> str:
    """A tiny valid PNG (a dark blue square) as base64, built here so tests need no file."""
    width = height = 8
    raw = b"".join(b"\x00" + b"\x1f\x4e\x99" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


PHASE_NOTES = (
    PhaseNote("Daily routine", "Do these in order. Keep every stretch gentle."),
    PhaseNote("Strength", "A little strength work helps you keep the range you opened."),
    PhaseNote("Every day", "Walking counts, even a few minutes."),
)


def make_snapshot(patient_name: str = "Maria G.", notes: str = "", exercises=EXERCISES,
                  logo: str = "", legacy: bool = False, **snapshot_changes) -> HandoutSnapshot:
    """A complete snapshot for a made-up patient; keyword arguments replace snapshot fields.

    legacy=True makes one as stored before handout v2: no safety-netting guide, phase notes or
    out-of-hours route (its red flags are what it prints)."""
    plan = Plan(
        template_id="hamstring-calm-back", template_version=3,
        template_hash="9f2c4e1ab37d5c60e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
        title="Hamstring mobility for a calmer low back",
        summary="Gentle daily moves that help your hips share the work of bending, so your "
                "low back does not have to do it all.",
        patient_name=patient_name, screening=Screening(), exercises=tuple(exercises),
        red_flags=RED_FLAGS, red_flags_present=(), clearance=None,
        habit_anchor="Do the first two moves while your morning coffee brews.",
        tracking_prompts=("What felt easier today?", "Did anything feel sharp or zappy?"),
        faq=FAQ, sources=SOURCES, notes=notes,
        phase_notes=() if legacy else PHASE_NOTES,
        guide=None if legacy else default_guide()[0],
    )
    snapshot = HandoutSnapshot(
        plan_id="PLN-7Q4K2", revision=2, created_on="2026-11-28", clinician="Dr. Sam Okafor, PT",
        clinic=ClinicInfo(name="Riverside Physio",
                          contact="Call 555-0142 · riversidephysio.example",
                          emergency_number="911", logo_png_b64=logo,
                          out_of_hours="" if legacy else "Call 555-0199 (nurse line) or go to "
                                                         "urgent care"),
        plan=plan,
    )
    return replace(snapshot, **snapshot_changes)


def many_exercises(count: int) -> tuple[ResolvedExercise, ...]:
    """`count` exercises cycling through EXERCISES, each with a unique name, tip and last
    line (its back-off line)."""
    out = []
    for i in range(count):
        base = EXERCISES[i % len(EXERCISES)]
        out.append(replace(base, id=f"{base.id}_{i}", name=f"{base.name} {i + 1}",
                           cues=(f"Tip number {i + 1}: {base.cues[0]}",),
                           back_off=f"{base.back_off} (move {i + 1})", adapted_because=""))
    return tuple(out)
