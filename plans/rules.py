"""The screening rules: what each finding does to a plan, read from plans/data/screening.yaml.

Pure functions of (screening model, screening answers, template, exercise, today): no clock, no
I/O, so they can be tested over every combination of answers. docs/clinical-rules.md lists every
rule with its source and the test that proves it.

- A finding's category says what it needs (`requires`) and what it changes (`answer`,
  `ease_dose`); `also` adds the effects of more categories. The first API's nerve checkbox
  (`nerve_symptoms`) counts as a nerve-related finding; high irritability is the answer
  `high_irritability` and eases doses too.
- Records a present category requires: a cauda equina rule-out (who, when - not in the future -
  and what was found, in meaningful words), a risk-factor review (concern and decision), a
  same-day review (referred, or a reason in meaningful words), a tendon referral.
- Exercises: an answer swaps an exercise by its `swaps`; `excluded_when` leaves it out; with a
  nerve-related answer a straight-knee long hold or a nerve-tensioning move never stays
  (swapped, else left out); with a suspected tendon injury every `hamstring_load` move is left
  out, swap target included.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from plans.errors import PlanError, ScreeningIncomplete, TemplateUnsuited, UnknownRedFlag
from plans.model import (
    Exercise,
    Irritability,
    SameDayReview,
    Screening,
    ScreeningModel,
    Template,
)

NERVE = "nerve_symptoms"
HIGH_IRRITABILITY = "high_irritability"
TENDON = "hamstring_tendon"
# The order answers apply in: the nerve swap first, then the gentler swap, then exclusions.
ANSWER_ORDER = (NERVE, HIGH_IRRITABILITY, TENDON)

# A rule-out finding or a same-day reason needs at least this many different words of two or
# more letters: "ok", "n/a", "...", or invisible characters never clear anything.
MIN_FINDING_WORDS = 4
MIN_REASON_WORDS = 4
CONCERN_LEVELS = ("low", "moderate", "high")
RISK_DECISIONS = ("proceed_with_safety_netting", "investigate", "refer")
SAME_DAY_ACTIONS = ("referred", "explained")

# A word: two or more Unicode letters in a row (digits, punctuation, spaces, and format or
# zero-width characters are not letters).
_WORD = re.compile(r"[^\W\d_]{2,}")

# Why a rule left an exercise out, for the clinician (the patient never sees these).
LEFT_OUT_WHY = {
    NERVE: "nerve-related finding: no nerve-friendly version of this straight-knee or "
           "nerve-tensioning move",
    HIGH_IRRITABILITY: "high irritability: left out until the back settles",
    TENDON: "suspected hamstring tendon injury: no hamstring stretching or loading",
}


def meaningful_words(text: str) -> list[str]:
    """The distinct words of two or more letters in text, lower-cased, in order."""
    return list(dict.fromkeys(w.casefold() for w in _WORD.findall(text or "")))


def is_meaningful(text: str, min_words: int) -> bool:
    return len(meaningful_words(text)) >= min_words


@dataclass(frozen=True)
class Effects:
    """What the screening answers do to the plan."""

    present: tuple[str, ...]  # known findings ticked, in screening.yaml order
    unknown: tuple[str, ...]  # ids not in screening.yaml
    answers: tuple[str, ...]  # in ANSWER_ORDER
    ease_dose: bool
    advice: tuple[str, ...]  # findings that are advice only (slow-down signs)


def effects(model: ScreeningModel, screening: Screening) -> Effects:
    order = list(model.findings)
    present = tuple(sorted((f for f in screening.red_flags if f in model.findings),
                           key=order.index))
    unknown = tuple(sorted(f for f in screening.red_flags if f not in model.findings))
    answers: set[str] = set()
    ease = False
    categories = [c for f in present for c in model.findings[f].categories]
    if screening.nerve_symptoms:
        categories.append("nerve")
    for cat_id in categories:
        cat = model.categories[cat_id]
        if cat.answer:
            answers.add(cat.answer)
        ease = ease or cat.ease_dose
    if screening.irritability is Irritability.HIGH:
        answers.add(HIGH_IRRITABILITY)
        ease = True
    advice = tuple(f for f in present
                   if all(model.categories[c].advice_only for c in model.findings[f].categories))
    return Effects(present, unknown, tuple(a for a in ANSWER_ORDER if a in answers), ease,
                   advice)


def _needing(model: ScreeningModel, present: tuple[str, ...], record: str) -> list[str]:
    return [f for f in present
            if any(model.categories[c].requires == record for c in model.findings[f].categories)]


def _labels(model: ScreeningModel, ids: list[str]) -> str:
    return "; ".join(model.findings[i].label for i in ids)


def _cauda_problems(model: ScreeningModel, screening: Screening, flags: list[str],
                    today: dt.date) -> list[PlanError]:
    base = "screening.cauda_equina_rule_out"
    rule_out = screening.cauda_equina_rule_out
    if rule_out is None:
        return [ScreeningIncomplete(
            base, "cauda_equina_rule_out",
            f"suspected cauda equina syndrome ({_labels(model, flags)}): refer as an emergency; "
            "no exercise plan unless you record a finding that rules it out: who assessed, "
            "when, and what was found", flags)]
    out: list[PlanError] = []
    if not is_meaningful(rule_out.assessed_by, 1):
        out.append(ScreeningIncomplete(f"{base}.assessed_by", "cauda_equina_rule_out",
                                       "say who assessed (a name)", flags))
    try:
        when = dt.date.fromisoformat(str(rule_out.assessed_on))
    except ValueError:
        out.append(ScreeningIncomplete(f"{base}.assessed_on", "cauda_equina_rule_out",
                                       "give the date of the assessment (YYYY-MM-DD)", flags))
    else:
        if when > today:
            out.append(ScreeningIncomplete(f"{base}.assessed_on", "cauda_equina_rule_out",
                                           "the assessment date cannot be in the future", flags))
    if not is_meaningful(rule_out.finding, MIN_FINDING_WORDS):
        out.append(ScreeningIncomplete(
            f"{base}.finding", "cauda_equina_rule_out",
            f"describe what was found in at least {MIN_FINDING_WORDS} different words "
            "(for example a stable, already-investigated finding)", flags))
    return out


def same_day_review(screening: Screening, clearance_note: str | None) -> SameDayReview | None:
    """The same-day record; the first API's clearance note counts as the reason explaining
    same-day signs (never as a cauda equina rule-out or a risk-factor review)."""
    if screening.same_day_review is not None:
        return screening.same_day_review
    if clearance_note is not None:
        return SameDayReview("explained", clearance_note)
    return None


def screening_problems(model: ScreeningModel, screening: Screening, today: dt.date,
                       clearance_note: str | None = None) -> list[PlanError]:
    """Every record missing for the findings present, each with its request field."""
    eff = effects(model, screening)
    out: list[PlanError] = [UnknownRedFlag(f) for f in eff.unknown]
    flags = _needing(model, eff.present, "cauda_equina_rule_out")
    if flags:
        out += _cauda_problems(model, screening, flags, today)
    flags = _needing(model, eff.present, "risk_factor_review")
    review = screening.risk_factor_review
    if flags:
        field = "screening.risk_factor_review"
        if review is None:
            out.append(ScreeningIncomplete(
                field, "risk_factor_review",
                f"risk factors ticked ({_labels(model, flags)}): record your level of concern "
                "and your decision (proceed with safety-netting, investigate, or refer)", flags))
        else:
            if review.concern not in CONCERN_LEVELS:
                out.append(ScreeningIncomplete(f"{field}.concern", "risk_factor_review",
                                               "choose a level of concern: low, moderate or "
                                               "high", flags))
            if review.decision not in RISK_DECISIONS:
                out.append(ScreeningIncomplete(f"{field}.decision", "risk_factor_review",
                                               "choose a decision: proceed with "
                                               "safety-netting, investigate, or refer", flags))
    flags = _needing(model, eff.present, "same_day_review")
    if flags:
        field = "screening.same_day_review"
        sd = same_day_review(screening, clearance_note)
        if sd is None:
            out.append(ScreeningIncomplete(
                field, "same_day_review",
                f"signs needing same-day medical review ({_labels(model, flags)}): refer "
                "today, or record the reason that explains them", flags))
        elif sd.action not in SAME_DAY_ACTIONS:
            out.append(ScreeningIncomplete(f"{field}.action", "same_day_review",
                                           "choose referred today or explained", flags))
        elif sd.action == "explained" and not is_meaningful(sd.reason, MIN_REASON_WORDS):
            out.append(ScreeningIncomplete(
                f"{field}.reason", "same_day_review",
                f"write the reason that explains these signs in at least {MIN_REASON_WORDS} "
                "different words", flags))
    flags = _needing(model, eff.present, "tendon_referral")
    if flags and not screening.tendon_referral:
        out.append(ScreeningIncomplete(
            "screening.tendon_referral", "tendon_referral",
            "suspected hamstring tendon injury: refer for assessment and record the referral; "
            "hamstring stretches and loading are left out of the plan", flags))
    return out


def template_problems(template: Template, answers: tuple[str, ...]) -> list[PlanError]:
    """The template's own declaration of whom it does not suit."""
    return [TemplateUnsuited(template.id, u.answer, u.why)
            for u in template.not_suited_for if u.answer in answers]


def swap_target(exercise: Exercise, answer: str) -> str | None:
    return exercise.swaps.get(answer)


def left_out_by(exercise: Exercise, answers: tuple[str, ...]) -> str | None:
    """The answer that leaves this exercise (as it stands after swaps) out of the plan."""
    for answer in answers:
        if answer in exercise.excluded_when:
            return answer
    if TENDON in answers and exercise.hamstring_load:
        return TENDON
    if NERVE in answers and (exercise.straight_knee_long_hold or exercise.nerve_tensioning):
        return NERVE
    if HIGH_IRRITABILITY in answers and exercise.straight_knee_long_hold:
        return HIGH_IRRITABILITY
    return None
