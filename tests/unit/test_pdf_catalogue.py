"""Every real template renders to a sound handout."""

from __future__ import annotations

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import assert_urgent_tiers_on_page_one, page_texts, pages_with

from pdf import render_handout
from pdf.html import render_handout_html
from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import HandoutOptions, HandoutSnapshot, PageSize, PlanRequest


def _snapshots() -> list[HandoutSnapshot]:
    catalogue = default_catalogue()
    base = make_snapshot()
    out = []
    for template in catalogue.approved_templates():
        plan = assemble_plan(catalogue, PlanRequest(template_id=template.id,
                                                              patient_name="Test P."))
        out.append(HandoutSnapshot(plan_id="PLN-TEST", revision=1, created_on="2026-11-28",
                                   clinician=base.clinician, clinic=base.clinic, plan=plan))
    return out


@pytest.mark.parametrize("options", [HandoutOptions(large_print=lp, page_size=ps)
                                     for lp in (False, True) for ps in PageSize],
                         ids=lambda o: o.key)
def test_every_template_renders_with_warning_signs_exercises_and_page_numbers(options):
    """For each approved template: the warning box's urgent tiers are on page 1, every exercise
    name and its dose are on one page, every page is numbered, the HTML has the drawings."""
    for snapshot in _snapshots():
        texts = page_texts(render_handout(snapshot, options))
        assert_urgent_tiers_on_page_one(texts, snapshot, options)
        for number, exercise in enumerate(snapshot.plan.exercises, start=1):
            name_pages = pages_with(texts, f"{number}. {exercise.name}")
            assert len(name_pages) == 1, (snapshot.plan.template_id, exercise.id)
            assert name_pages[0] in pages_with(texts, f"How much: {exercise.dose_text}")
            if exercise.cues:
                assert name_pages[0] in pages_with(texts, f"Tip: {exercise.cues[0]}"), \
                    (snapshot.plan.template_id, exercise.id, "split across pages")
        for number, text in enumerate(texts, start=1):
            assert f"Page {number} of {len(texts)}" in text
        assert "<svg" in render_handout_html(snapshot, options)
