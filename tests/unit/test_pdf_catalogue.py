"""Every real template renders to a sound handout: every word, the safety-netting, the pages."""

from __future__ import annotations

from html import escape

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import (
    assert_exercises_hold_together,
    assert_safety_net_rule,
    flat,
    page_texts,
    pages_with,
    text_runs,
)

from pdf.html import render_handout_html
from pdf.render import page_sheet, render_handout_with_pages
from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import HandoutOptions, HandoutSnapshot, PageSize, PlanRequest, Screening

ALL_OPTIONS = [HandoutOptions(large_print=lp, page_size=ps)
               for lp in (False, True) for ps in PageSize]
# Pages each template may take (no optional moves), per paper and print size, as measured in
# docs/handout.md. Issue 10 asks for 4 and 8 for the core routine: not reached yet (6 and 11-12;
# docs/handout.md says what it would take), so these budgets only stop the counts creeping up.
# Separate start and end pictures (two 1.5-inch boxes a column) added a page in standard print
# and up to two in large print: an exercise block is now at least 3.9 inches tall, so two fit a
# standard page, one a large-print page (docs/handout.md, "Page counts").
PAGE_BUDGET = {
    "core_routine": {"letter-standard": 6, "a4-standard": 6, "letter-large": 12,
                     "a4-large": 11},
    "desk_day": {"letter-standard": 5, "a4-standard": 4, "letter-large": 8, "a4-large": 8},
    "gentle_start": {"letter-standard": 7, "a4-standard": 6, "letter-large": 12,
                     "a4-large": 11},
    "progression": {"letter-standard": 7, "a4-standard": 7, "letter-large": 14,
                    "a4-large": 14},
}


def _snapshot(template_id: str, screening: Screening | None = None) -> HandoutSnapshot:
    catalogue = default_catalogue()
    template = catalogue.template(template_id)
    # An added exercise too, so the added-moves phase is printed as its own section.
    extra = tuple(e for e in template.optional_exercises
                  if e not in catalogue.plan_exercise_ids(template))[:1]
    plan = assemble_plan(catalogue, PlanRequest(template_id=template_id, patient_name="Test P.",
                                                screening=screening or Screening(),
                                                add_exercises=extra))
    base = make_snapshot()
    return HandoutSnapshot(plan_id="PLN-TEST", revision=1, created_on="2026-11-28",
                           clinician=base.clinician, clinic=base.clinic, plan=plan)


def _templates() -> list[str]:
    return [t.id for t in default_catalogue().approved_templates()]


@pytest.fixture(scope="module", params=ALL_OPTIONS, ids=lambda o: o.key)
def rendered(request):
    out = []
    for template_id in _templates():
        snap = _snapshot(template_id, Screening(desk_bound=True))
        pdf, pages = render_handout_with_pages(snap, request.param)
        out.append((snap, pdf, pages, page_texts(pdf)))
    return request.param, out


def test_every_template_prints_the_safety_netting_on_page_one(rendered):
    """The section B tiers with their action lines, and the same-day tier's way to reach the
    clinic and its out-of-hours route, for every template in every size."""
    options, handouts = rendered
    for snap, _, _, texts in handouts:
        assert_safety_net_rule(texts, snap, options)
        assert pages_with(texts, "When the clinic is closed: Call 555-0199")
        # The screening's history items (cancer, ...) are never printed as signs to act on.
        assert "cancer" not in " ".join(texts).lower()


def test_every_word_of_the_plan_reaches_the_pdf_and_the_html(rendered):
    """Every cue, purpose, step, feel and back-off line and every phase note of the plan's
    exercises is in the PDF text and in the HTML twin."""
    options, handouts = rendered
    for snap, _, _, texts in handouts:
        whole = " ".join(texts)
        html = render_handout_html(snap, options)
        for exercise in snap.plan.exercises:
            for text in (exercise.name, exercise.purpose, exercise.feel, exercise.back_off,
                         *exercise.steps, *exercise.cues):
                assert flat(text) in whole, (snap.plan.template_id, exercise.id, text)
                assert escape(text) in html, (snap.plan.template_id, exercise.id, text)
        for note in snap.plan.phase_notes:
            assert note.note and flat(note.note) in whole and escape(note.note) in html


def test_each_exercise_holds_together(rendered):
    """An exercise's name, picture and steps share a page; its tips and feel lines are there
    too or open the next page under "N. name (continued)"."""
    options, handouts = rendered
    for snap, _, _, texts in handouts:
        assert_exercises_hold_together(texts, snap.plan.exercises,
                                       f"{snap.plan.template_id} {options.key}")


def _fill(snap, pdf, options) -> list[float]:
    """How much of each page's text frame is used, from its top to its lowest body line."""
    sheet = page_sheet(snap, options)
    (_, height), pages = text_runs(pdf)
    top = height - sheet.margin
    return [(top - min(r[4] for r in runs if r[4] > sheet.bottom_margin - 1))
            / sheet.frame_height for runs in pages]


def test_no_page_but_the_last_is_less_than_half_used(rendered):
    """Measured from the lowest line of body text on each page."""
    options, handouts = rendered
    for snap, pdf, _, _ in handouts:
        for number, used in enumerate(_fill(snap, pdf, options)[:-1], start=1):
            assert used >= 0.5, (snap.plan.template_id, number, round(used, 2))


@pytest.mark.parametrize("template_id", sorted(PAGE_BUDGET))
def test_page_counts_stay_within_budget_for_every_paper_and_print_size(template_id):
    """Every template (no optional moves) x Letter/A4 x standard/large: the page count is
    within PAGE_BUDGET and no page but the last is less than half used."""
    snap = _snapshot(template_id)
    snap = HandoutSnapshot(snap.plan_id, snap.revision, snap.created_on, snap.clinician,
                           snap.clinic, assemble_plan(default_catalogue(), PlanRequest(
                               template_id=template_id, patient_name="Test P.")))
    for options in ALL_OPTIONS:
        pdf, pages = render_handout_with_pages(snap, options)
        assert pages <= PAGE_BUDGET[template_id][options.key], (options.key, pages)
        fill = _fill(snap, pdf, options)
        assert len(fill) == pages
        assert min(fill[:-1], default=1.0) >= 0.5, (options.key, [round(f, 2) for f in fill])


def test_every_template_has_a_page_budget():
    assert set(_templates()) == set(PAGE_BUDGET)


def test_the_printed_text_reads_at_grade_8_or_below(rendered):
    """Flesch-Kincaid grade of the whole PDF text, as printed (target 6, fail above 8)."""
    from plans import readability

    options, handouts = rendered
    if options.key != "letter-standard":
        pytest.skip("the words are the same in every size")
    for snap, _, _, texts in handouts:
        assert readability.fk_grade(" ".join(texts)) <= 8, snap.plan.template_id
