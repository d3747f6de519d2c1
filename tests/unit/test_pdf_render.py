"""What a patient and a clinician can see in the rendered handout PDF."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pdf_fixtures import EXERCISES, make_snapshot, many_exercises, png_logo
from pdf_helpers import assert_urgent_tiers_on_page_one, page_texts, pages_with
from pypdf import PdfReader

from pdf import render_handout
from pdf.render import content_id, render_handout_with_pages
from plans.model import HandoutOptions, PageSize, Tier

ALL_OPTIONS = [HandoutOptions(large_print=lp, page_size=ps)
               for lp in (False, True) for ps in PageSize]


@pytest.fixture(scope="module")
def snapshot():
    return make_snapshot(logo=png_logo(), notes="Walk after lunch on work days.")


@pytest.fixture(scope="module", params=ALL_OPTIONS, ids=lambda o: o.key)
def rendered(request, snapshot):
    pdf, pages = render_handout_with_pages(snapshot, request.param)
    return request.param, pdf, pages, page_texts(pdf)


def test_page_one_has_stop_and_get_help_with_both_urgent_tiers(rendered, snapshot):
    """Page 1 carries the red-flag heading, the whole emergency tier with the clinic's emergency
    number, and the same-day tier. In standard print every same-day sign is on page 1; in large
    print (18 pt) at least its heading and first sign are, and the rest may continue in the box
    on page 2."""
    options, _, _, texts = rendered
    assert_urgent_tiers_on_page_one(texts, snapshot, options)


def test_slow_down_tier_is_on_the_handout(rendered, snapshot):
    """The third tier (slow down and check in) appears too, after the urgent ones."""
    _, _, _, texts = rendered
    for flag in snapshot.plan.red_flags:
        if flag.tier is Tier.SLOW_DOWN:
            assert pages_with(texts, flag.text), flag.id


def test_header_names_patient_clinic_clinician_date_and_plan(rendered, snapshot):
    """Page 1 shows who the plan is for, who wrote it, when, and which plan revision."""
    first = rendered[3][0]
    for text in ("Maria G.", "Riverside Physio", "Dr. Sam Okafor, PT", "2026-11-28",
                 "PLN-7Q4K2, version 2"):
        assert text in first


def test_every_exercise_name_and_dose_text_appear(rendered, snapshot):
    """Each exercise appears by name with its dose in plain words."""
    whole = " ".join(rendered[3])
    for exercise in snapshot.plan.exercises:
        assert exercise.name in whole
        assert f"How much: {exercise.dose_text}" in whole
        for step in exercise.steps:
            assert step in whole


def test_every_page_has_page_x_of_y_plan_id_content_id_and_contact(rendered, snapshot):
    """Page decorations are on every page, not just the last."""
    _, _, pages, texts = rendered
    assert len(texts) == pages
    ident = content_id(snapshot)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
        assert f"Plan PLN-7Q4K2, version 2 · ID {ident}" in text
        assert "Call 555-0142" in text


def test_sections_after_the_exercises_are_present(rendered):
    """Tracking sheet with prompts, FAQ, sources, clinician notes and the disclaimer."""
    whole = " ".join(rendered[3])
    for text in ("Track your week", "How did it feel?", "What felt easier today?",
                 "Questions people ask", "How often should I stretch?",
                 "Where this advice comes from", "American College of Physicians",
                 "Notes from your clinician", "Walk after lunch on work days.",
                 "This sheet is not a substitute for your clinician's advice",
                 "In an emergency, call 911."):
        assert text in whole


def test_same_snapshot_and_options_give_identical_bytes(snapshot):
    """Rendering is pure: no clock or random ids leak into the bytes."""
    for options in ALL_OPTIONS:
        assert render_handout(snapshot, options) == render_handout(snapshot, options)


def test_page_size_follows_the_options(snapshot):
    """Letter is 612 x 792 points and A4 595 x 842."""
    for size, expected in ((PageSize.LETTER, (612, 792)), (PageSize.A4, (595, 842))):
        pdf = render_handout(snapshot, HandoutOptions(page_size=size))
        box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == expected


def test_twelve_exercises_and_long_notes_never_split_an_exercise(snapshot):
    """With 12 exercises and 2,000 characters of notes, each exercise's name and its last
    line (the tip) land on the same page, in every print and paper size."""
    notes = ("Keep the stretch gentle and stop if it pinches. " * 42)[:2000]
    big = make_snapshot(exercises=many_exercises(12), notes=notes)
    for options in ALL_OPTIONS:
        pdf, pages = render_handout_with_pages(big, options)
        texts = page_texts(pdf)
        assert pages > 3
        for number, exercise in enumerate(big.plan.exercises, start=1):
            name_pages = pages_with(texts, f"{number}. {exercise.name}")
            tip_pages = pages_with(texts, f"Tip: {exercise.cues[0]}")
            assert len(name_pages) == 1 and name_pages == tip_pages, (options.key, number)
        assert "stop if it pinches" in " ".join(texts)


def test_exercise_without_logo_or_with_broken_logo_still_renders():
    """A missing or corrupt clinic logo is skipped; the handout still renders."""
    for logo in ("", "not base64!!", "aGVsbG8gd29ybGQ="):
        texts = page_texts(render_handout(make_snapshot(logo=logo), HandoutOptions()))
        assert "Riverside Physio" in texts[0]


def test_fixture_has_realistic_size():
    """Guard on the test data itself: 5-7 exercises, red flags in all three tiers."""
    snap = make_snapshot()
    assert 5 <= len(EXERCISES) <= 7
    assert {f.tier for f in snap.plan.red_flags} == set(Tier)


def test_warning_box_running_onto_page_two_says_continued_and_names_its_tier():
    """When the large-print warning box does not fit page 1, its part on page 2 is headed
    "Stop and get help (continued)" and repeats the instruction of the tier it continues."""
    snap = make_snapshot()
    extra = tuple(dataclasses.replace(f, id=f"{f.id}_{i}", text=f"{f.text} (case {i})")
                  for i in range(3) for f in snap.plan.red_flags if f.tier is Tier.SAME_DAY)
    plan = dataclasses.replace(snap.plan, red_flags=snap.plan.red_flags + extra)
    pdf = render_handout(dataclasses.replace(snap, plan=plan), HandoutOptions(large_print=True))
    texts = page_texts(pdf)
    assert "Stop and get help (continued)" in texts[1]
    assert "Continued: call your clinic today if you have:" in texts[1]
    assert "(continued)" not in texts[0]


def test_an_exercise_taller_than_a_page_still_renders_every_step():
    """An exercise too long for one page (25 long steps) flows over pages instead of failing
    to lay out; every step is still printed."""
    snap = make_snapshot()
    steps = tuple(f"Step {i}: move slowly, breathe out, and stop well before it hurts. " * 2
                  for i in range(1, 26))
    long_one = dataclasses.replace(snap.plan.exercises[0], steps=steps)
    plan = dataclasses.replace(snap.plan, exercises=(long_one, *snap.plan.exercises[1:]))
    for options in (HandoutOptions(), HandoutOptions(large_print=True)):
        whole = " ".join(page_texts(render_handout(dataclasses.replace(snap, plan=plan), options)))
        for i in range(1, 26):
            assert f"Step {i}: move slowly" in whole


def test_bytes_are_identical_across_processes(snapshot, tmp_path):
    """A stored snapshot re-rendered later, in another process with another hash seed, gives
    the same bytes: nothing process-specific (ids, set order, caches) reaches the PDF."""
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import hashlib, sys\n"
        "from pdf_fixtures import make_snapshot, png_logo\n"
        "from pdf import render_handout\n"
        "from plans.model import HandoutOptions\n"
        "snap = make_snapshot(logo=png_logo(), notes='Walk after lunch on work days.')\n"
        "sys.stdout.write(hashlib.sha256(render_handout(snap, HandoutOptions())).hexdigest())\n"
    )
    # The child imports exactly the modules this process imported (same sys.path).
    env = {**os.environ, "PYTHONHASHSEED": "12345",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=tmp_path, check=True).stdout
    assert out == hashlib.sha256(render_handout(snapshot, HandoutOptions())).hexdigest()
