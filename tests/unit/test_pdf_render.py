"""What a patient and a clinician can see in the rendered handout PDF."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pdf_fixtures import EXERCISES, make_snapshot, many_exercises, png_logo
from pdf_helpers import (
    assert_exercises_hold_together,
    assert_safety_net_rule,
    drawn_rectangles,
    flat,
    page_texts,
    pages_with,
    text_runs,
)
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from pdf import render_handout
from pdf import styles as st
from pdf.content import (
    PICTURE_LEGEND,
    dose_grid,
    exercise_groups,
    pictures,
    plan_code,
    safety_tiers,
)
from pdf.render import page_sheet, render_handout_with_pages
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


def test_page_one_has_the_safety_netting_tiers_with_their_action_lines(rendered, snapshot):
    """REFERENCES.md section B on the handout: each tier's heading is followed by its action
    line ("Stop the exercises and ...") and its signs on the same page. In standard print all
    three tiers are on page 1; in large print the emergency tier is, with the emergency number,
    and a later tier may continue, whole, in the box on page 2."""
    options, _, _, texts = rendered
    assert_safety_net_rule(texts, snapshot, options)
    tiers = safety_tiers(snapshot.plan)
    assert [t.tier for t in tiers] == list(Tier)
    assert all(t.action.startswith(("Stop the exercises", "Make the exercises easier"))
               for t in tiers)


def test_same_day_tier_gives_the_clinic_phone_and_out_of_hours_route(rendered, snapshot):
    """Where to go is printed under the same-day tier: the clinic's phone and its out-of-hours
    route, from clinic configuration."""
    texts = rendered[3]
    same_day = pages_with(texts, "Contact the clinic today. Stop the exercises and call")[0]
    page = texts[same_day - 1]
    assert "Clinic: Riverside Physio, Call 555-0142" in page
    assert "When the clinic is closed: Call 555-0199 (nurse line) or go to urgent care" in page


def test_no_history_item_is_printed_as_something_to_call_about(rendered, snapshot):
    """The handout's signs are new or worsening symptoms only: the screening's history items
    (the fixture's red flag "You have had cancer in the past") never reach a new handout."""
    whole = " ".join(rendered[3])
    assert "cancer" not in whole.lower()


def test_header_names_patient_clinic_clinician_date_and_plan_code(rendered, snapshot):
    """Page 1 shows who the plan is for, who wrote it, when, and one short plan code with its
    revision; "version" is not used for the plan revision."""
    first = rendered[3][0]
    code = plan_code(snapshot)
    for text in ("Maria G.", "Riverside Physio", "From: Dr. Sam Okafor, PT", "2026-11-28",
                 f"Plan code: {code}, revision 2"):
        assert text in first
    assert "version" not in " ".join(rendered[3]).lower()


def test_plan_code_has_no_look_alike_characters(snapshot):
    """The code avoids 0/O, 1/l/I (and 5/S, 8/B): it is read aloud and copied by hand."""
    for n in range(40):
        code = plan_code(dataclasses.replace(snapshot, revision=n))
        assert len(code) == 7 and code[3] == "-"
        assert not set(code) & set("0O1lI5S8B")


def test_from_is_left_out_when_no_clinician_is_named():
    """An empty "From:" line says nothing to a patient; it is left out."""
    texts = page_texts(render_handout(make_snapshot(clinician=""), HandoutOptions()))
    assert "From:" not in texts[0]


def test_every_word_of_each_exercise_reaches_the_page(rendered, snapshot):
    """Name, purpose, every step, every cue, what to feel, when to back off, and why it was
    changed; each exercise under its phase, whose note is printed too."""
    whole = " ".join(rendered[3])
    for exercise in snapshot.plan.exercises:
        for text in (exercise.name, exercise.purpose, exercise.feel, exercise.back_off,
                     exercise.adapted_because, *exercise.steps, *exercise.cues):
            assert flat(text) in whole, (exercise.id, text)
    for note in snapshot.plan.phase_notes:
        assert f"{note.name} {note.note}" in whole


def test_exercises_are_grouped_under_their_phase_headings(rendered, snapshot):
    """A phase heading comes before the first exercise of its phase and after the last of the
    previous one (added and desk-day moves are never steps of another phase)."""
    whole = " ".join(rendered[3])
    positions = []
    for group in exercise_groups(snapshot.plan):
        positions.append(whole.index(f"{group.phase.name} {group.phase.note}"))
        for number, exercise in group.exercises:
            positions.append(whole.index(f"{number}. {exercise.name}"))
    assert positions == sorted(positions)


def test_each_exercise_has_its_dose_grid(rendered, snapshot):
    """A dose grid with the parts that apply (sets, repeats or time, hold, how often, side)."""
    whole = " ".join(rendered[3])
    for exercise in snapshot.plan.exercises:
        for label, value in dose_grid(exercise.dose):
            assert label in whole and value in whole, (exercise.id, label, value)
        assert exercise.dose_text in whole  # the week at a glance


def test_every_page_has_page_x_of_y_plan_code_and_contact(rendered, snapshot):
    """Page decorations are on every page, not just the last."""
    _, _, pages, texts = rendered
    assert len(texts) == pages
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
        assert f"Plan code {plan_code(snapshot)}, revision 2" in text
        assert "Call 555-0142" in text


def test_sections_after_the_exercises_are_present(rendered):
    """Four-week log with prompts and review line, FAQ, sources, clinician notes, the
    pain rule, getting down and up, words explained, and the disclaimer."""
    whole = " ".join(rendered[3])
    for text in ("Track your four weeks", "Week 4", "How it felt",
                 "If you do them twice a day, tick two boxes", "What felt easier today?",
                 "Bring this sheet and your log to your next visit",
                 "Questions people ask", "How often should I stretch?",
                 "Where this advice comes from", "American College of Physicians",
                 "Notes from your clinician", "Walk after lunch on work days.",
                 "How much is too much?", "Getting down and up:",
                 "do the lying moves on a firm bed",
                 "Hamstrings: the muscles at the back of your thigh",
                 "This sheet is not a substitute for your clinician's advice",
                 "In an emergency, call 911."):
        assert text in whole, text


def test_clinician_notes_come_right_after_the_week_at_a_glance(rendered):
    """The most personal part is read early, before the exercises and the FAQ."""
    whole = " ".join(rendered[3])
    assert whole.index("Your week at a glance") < whole.index("Notes from your clinician") \
        < whole.index("Your exercises") < whole.index("Questions people ask")


def test_no_heading_is_the_last_line_of_a_page_and_no_text_leaves_the_page(rendered, snapshot):
    """Headings are bold and larger than the body; none is the lowest line above the footer.
    Every text run lies inside the page."""
    options, pdf, _, _ = rendered
    sheet = page_sheet(snapshot, options)
    (width, height), pages = text_runs(pdf)
    for number, runs in enumerate(pages, start=1):
        for text, bold, size, x, y in runs:
            right = x + stringWidth(text, st.BOLD if bold else st.REGULAR, size)
            assert 0 <= x and right <= width + 0.5 and 0 <= y <= height, (number, text)
        body = [r for r in runs if r[4] > sheet.bottom_margin - 1]
        if number < len(pages) and body:
            lowest = min(body, key=lambda r: r[4])
            assert not (lowest[1] and lowest[2] > sheet.body_size * 1.05), (number, lowest)


def test_pictures_are_at_least_one_and_a_half_inches_tall_and_larger_in_large_print(
        snapshot):
    """Every exercise has a start and an end picture, stacked in one column (read back from
    the PDF's drawing operators: each picture's frame), each at least 1.5 inch tall in standard
    print and larger, never smaller, in large print."""
    sizes = {}
    for large in (False, True):
        pdf = render_handout(snapshot, HandoutOptions(large_print=large))
        pages = [[r for r in page if 72 <= r[3] <= 300 and 72 <= r[2] <= 300]
                 for page in drawn_rectangles(pdf)]
        frames = [r for page in pages for r in page]
        assert len(frames) == 2 * len(snapshot.plan.exercises), large
        # Pairs on one page, one column: the start's frame directly above the end's.
        for page in pages:
            assert len(page) % 2 == 0, large
            for start, end in zip(page[::2], page[1::2], strict=True):
                assert start[0] == end[0] and start[2] == end[2], (large, start, end)
                assert start[1] > end[1] + end[3], (large, start, end)
        sizes[large] = (min(r[3] for r in frames), min(r[2] for r in frames))
    assert sizes[False][0] >= 1.5 * 72 - 0.5
    assert sizes[True][0] > sizes[False][0] and sizes[True][1] >= sizes[False][1]


def test_each_picture_has_its_caption_and_the_legend_is_printed(rendered, snapshot):
    """Every exercise's start and end pictures are captioned ("Start: ...", "End: ..."), on
    the page of the exercise's name, and the one-line legend explains the grey and the blue."""
    texts = rendered[3]
    whole = " ".join(texts)
    assert PICTURE_LEGEND in whole
    for number, exercise in enumerate(snapshot.plan.exercises, start=1):
        captions = [p.text for p in pictures(exercise)]
        assert [p.label for p in pictures(exercise)] == ["Start:", "End:"]
        page = pages_with(texts, f"{number}. {exercise.name}")[0]
        for caption in captions:
            assert page in pages_with(texts, caption), (exercise.id, caption)
        assert whole.index(captions[0]) < whole.index(captions[1])


def test_a_long_clinic_contact_wraps_in_the_footer_at_ten_points_or_more():
    """A long contact is wrapped (or cut with "...") in the footer, never shrunk below 10 pt
    and never off the page."""
    contact = ("Riverside Physio, Suite 400, 1200 Long Street Name, Springfield Heights "
               "Medical Centre, phone 555-0142, fax 555-0143, riversidephysio.example, "
               "open Monday to Friday 8 to 6 and Saturday 9 to 12 ") * 2
    snap = make_snapshot(clinic=dataclasses.replace(make_snapshot().clinic, contact=contact))
    for options in ALL_OPTIONS:
        pdf = render_handout(snap, options)
        sheet = page_sheet(snap, options)
        (width, _), pages = text_runs(pdf)
        for runs in pages:
            footer = [r for r in runs if r[4] < sheet.bottom_margin - 1]
            assert footer and all(r[2] >= 10 for r in footer)
            assert any("Suite 400" in r[0] for r in footer)
            assert all(r[3] + stringWidth(r[0], st.BOLD if r[1] else st.REGULAR, r[2])
                       <= width - sheet.margin + 0.5 for r in footer)


def test_a_snapshot_stored_before_handout_v2_still_renders_its_tiers():
    """Old revisions (no guide, no out-of-hours route) render their own red flags under plain
    action lines; nothing is looked up in today's data."""
    snap = make_snapshot(legacy=True)
    texts = page_texts(render_handout(snap, HandoutOptions()))
    assert_safety_net_rule(texts, snap, HandoutOptions())
    whole = " ".join(texts)
    for flag in snap.plan.red_flags:
        assert flag.text in whole


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
    """With 12 exercises and 2,000 characters of notes, each exercise's name, picture and
    steps land on one page, and its tips and feel lines there or at the top of the next page
    under "N. name (continued)"."""
    notes = ("Keep the stretch gentle and stop if it pinches. " * 42)[:2000]
    big = make_snapshot(exercises=many_exercises(12), notes=notes)
    for options in ALL_OPTIONS:
        pdf, pages = render_handout_with_pages(big, options)
        texts = page_texts(pdf)
        assert pages > 3
        assert_exercises_hold_together(texts, big.plan.exercises, options.key)
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


def test_warning_box_running_onto_page_two_says_continued(snapshot):
    """When the large-print box does not fit page 1, its part on page 2 is headed
    "Stop and get help (continued)" and starts with a whole tier, heading and action first."""
    guide = snapshot.plan.guide
    longer = dataclasses.replace(guide.safety_net[1], signs=guide.safety_net[1].signs * 3)
    guide = dataclasses.replace(guide, safety_net=(guide.safety_net[0], longer,
                                                   guide.safety_net[2]))
    big = dataclasses.replace(snapshot, plan=dataclasses.replace(snapshot.plan, guide=guide))
    texts = page_texts(render_handout(big, HandoutOptions(large_print=True)))
    assert "Stop and get help (continued)" in texts[1]
    assert "(continued)" not in texts[0]
    assert_safety_net_rule(texts, big, HandoutOptions(large_print=True))


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


def test_shared_line_breaks_never_change_the_bytes():
    """Line breaks are shared across renders (pdf.flowables._BREAKS). A handout whose notes
    and FAQ split over pages renders to the same bytes with the cache empty, after other
    handouts have filled it, and again."""
    from pdf import flowables

    notes = ("Keep the stretch gentle and stop if it pinches. " * 42)[:2000]
    big = make_snapshot(exercises=many_exercises(12), notes=notes)
    for options in ALL_OPTIONS:
        flowables._BREAKS.clear()
        cold = render_handout(big, options)
        render_handout(make_snapshot(notes="Other words."), options)
        assert render_handout(big, options) == cold, options.key


def test_an_exercise_taller_than_a_page_still_renders_in_every_size():
    """Steps longer than a page (no template has them, but a clinician's edit could), even
    the first two that large print keeps beside the picture, break over pages instead of
    stopping the render."""
    base = many_exercises(3)
    long_steps = tuple(f"Step {i}: " + "Move slowly and keep breathing. " * 50 for i in range(4))
    big = make_snapshot(exercises=(base[0], dataclasses.replace(base[1], steps=long_steps),
                                   base[2]))
    for options in ALL_OPTIONS:
        pdf, pages = render_handout_with_pages(big, options)
        whole = " ".join(page_texts(pdf))
        # Split over pages, so the footer sits inside a step: look for each step's start.
        assert all(f"Step {i}: Move slowly" in whole for i in range(4)), options.key
        assert pages > 4 and "How it felt" in whole, options.key


def _clear_layout_caches():
    from pdf import flowables, sections

    flowables._BREAKS.clear()
    flowables._parse.cache_clear()
    flowables._clean.cache_clear()
    sections._ARRANGEMENTS.clear()


def test_per_process_layout_caches_never_change_the_bytes():
    """Line breaks, markup parses, cleaned text and exercise arrangements are shared across
    renders. A handout with markup-escaped text renders to the same bytes with every cache
    empty, after another plan (other words, same exercise numbers) has filled them, and again;
    and rendering it did not change the other plan's bytes either."""
    notes = "Use the <blue> strap & keep it slack.\n\nStop if it pinches. " * 3
    first = make_snapshot(notes=notes, clinic=dataclasses.replace(
        make_snapshot().clinic, name="Riverside Physio & Rehab <East>"))
    other = make_snapshot(exercises=many_exercises(4), notes="Other words.")
    for options in ALL_OPTIONS:
        _clear_layout_caches()
        cold = render_handout(first, options)
        _clear_layout_caches()
        other_cold = render_handout(other, options)
        assert render_handout(first, options) == cold, options.key
        assert render_handout(other, options) == other_cold, options.key
        assert render_handout(first, options) == cold, options.key


def test_paragraphs_split_over_pages_render_the_same_from_shared_line_breaks():
    """A paragraph split over two pages gives parts whose line breaks are shared across
    renders too (keyed by the paragraph, width and where it was cut), and ReportLab's split
    works on a copy of the shared lines. A long labelled paragraph and long notes, split in
    every option set: same bytes with every cache empty, warm, and after another plan split
    other text at the same places."""
    from pdf import flowables

    def plan(words: str):
        snap = make_snapshot(notes=(words + " ") * 90, exercises=many_exercises(3))
        return dataclasses.replace(snap, plan=dataclasses.replace(
            snap.plan, habit_anchor=(words + " ") * 110))

    first, other = plan("Walk & rest, then stretch."), plan("Cycle gently, then sit.")
    for options in ALL_OPTIONS:
        _clear_layout_caches()
        cold = render_handout(first, options)
        assert any(k[0][0] in ("head", "tail") for k in flowables._BREAKS), options.key
        assert render_handout(first, options) == cold, options.key
        _clear_layout_caches()
        other_cold = render_handout(other, options)
        assert render_handout(first, options) == cold, options.key
        assert render_handout(other, options) == other_cold, options.key


def test_an_exercise_arrangement_is_never_reused_for_other_words():
    """How many of an exercise's last lines sit beside its picture is remembered per process;
    the same exercise number with other steps must be measured again (a reused arrangement
    would differ from a cold render's)."""
    from pdf import sections

    base = EXERCISES[0]
    short = make_snapshot(exercises=(dataclasses.replace(base, steps=("Lie down.",)),))
    # Long enough that some of its last lines go under its (start and end) pictures.
    long_ = make_snapshot(exercises=(dataclasses.replace(base, steps=base.steps * 5),))
    for options in ALL_OPTIONS:
        _clear_layout_caches()
        cold_long = render_handout(long_, options)
        _clear_layout_caches()
        render_handout(short, options)
        assert render_handout(long_, options) == cold_long, options.key
        # The two really are arranged differently, so the check above can fail.
        assert len(set(sections._ARRANGEMENTS.values())) == 2, options.key


def test_the_plan_code_follows_the_snapshot_it_is_asked_about():
    """The content id is remembered for the last snapshot only, by identity."""
    from pdf.content import content_id

    a, b = make_snapshot(), make_snapshot(patient_name="Someone Else")
    ids = [content_id(s) for s in (a, b, a, b)]
    assert ids[0] == ids[2] != ids[1] == ids[3]
    assert content_id(make_snapshot()) == ids[0]
