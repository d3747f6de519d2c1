"""User text in the handout: scripts that must render, characters that cannot, markup that
must appear literally."""

from __future__ import annotations

import dataclasses

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import page_texts

from pdf import UnrenderableText, render_handout
from pdf.text import check_drawable
from plans.model import HandoutOptions


@pytest.mark.parametrize("name", ["Αλέξανδρος Παπαδόπουλος", "Светлана Кузнецова",
                                  "Zoë Ångström-Łukasiewicz", "Nguyễn Thị Ánh"])
def test_greek_cyrillic_and_accented_latin_names_extract_exactly(name):
    """Names in Greek, Cyrillic and accented Latin are drawn with real glyphs and come back
    out of the PDF as the same characters."""
    texts = page_texts(render_handout(make_snapshot(patient_name=name), HandoutOptions()))
    assert f"For: {name}" in texts[0]


@pytest.mark.parametrize("text, code_points", [
    ("王小明", (0x738B, 0x5C0F, 0x660E)),
    ("Ann \U0001F9B4", (0x1F9B4,)),
])
def test_undrawable_characters_raise_a_clear_error_naming_field_not_text(text, code_points):
    """A character the embedded font lacks raises UnrenderableText naming the field and code
    points; the message never repeats the text (it may be a patient's name)."""
    with pytest.raises(UnrenderableText) as info:
        render_handout(make_snapshot(patient_name=text), HandoutOptions())
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == "plan.patient_name"
    assert err.code_points == code_points
    assert "plan.patient_name" in str(err)
    assert f"U+{code_points[0]:04X}" in str(err)
    assert text not in str(err) and "Ann" not in str(err)


def test_undrawable_character_in_an_exercise_step_names_that_step():
    """The field path points at the exact step, so the clinician or template author can fix it."""
    snap = make_snapshot()
    exercise = dataclasses.replace(snap.plan.exercises[1], steps=("Lie down", "Breathe 🫁"))
    plan = dataclasses.replace(snap.plan, exercises=(snap.plan.exercises[0], exercise))
    with pytest.raises(UnrenderableText) as info:
        render_handout(dataclasses.replace(snap, plan=plan), HandoutOptions())
    assert info.value.field == "plan.exercises[1].steps[1]"


def test_line_breaks_and_tabs_in_notes_are_not_errors():
    """Layout whitespace needs no glyph; it is not reported as undrawable."""
    check_drawable("plan.notes", "line one\nline two\r\n\tindented")


@pytest.mark.parametrize("options", [HandoutOptions(), HandoutOptions(large_print=True)],
                         ids=lambda o: o.key)
def test_markup_characters_in_user_text_appear_literally(options):
    """Names and notes with <, >, &, and quotes are shown as typed and never break layout."""
    name = "<script>&\"'"
    notes = "Use a <b>belt</b> & towel if \"strap\" isn't handy. <para>Not markup</para>"
    snap = make_snapshot(patient_name=name, notes=notes)
    plan = dataclasses.replace(
        snap.plan,
        exercises=(dataclasses.replace(snap.plan.exercises[0], name="Rolls <fast> & slow"),
                   *snap.plan.exercises[1:]))
    snap = dataclasses.replace(snap, clinician="Dr. O'Neil & \"Co\" <PT>", plan=plan)
    whole = " ".join(page_texts(render_handout(snap, options)))
    assert f"For: {name}" in whole
    assert notes in whole
    assert "Rolls <fast> & slow" in whole
    assert "Dr. O'Neil & \"Co\" <PT>" in whole


@pytest.mark.parametrize("text", ["Plain words  and\nline wraps ", "Ünïcødé ΑΒΓ Жж", "a < b & c",
                                  "x"])
def test_fast_paragraphs_match_reportlabs_parser_exactly(text):
    """The parser-free path for plain text gives the same fragments ReportLab's markup parser
    would, with and without a bold label, so the speed-up cannot change what is printed."""
    from reportlab.platypus import Paragraph

    from pdf.flowables import Para
    from pdf.styles import sheet_for
    from pdf.text import para

    style = sheet_for(HandoutOptions())["body"]

    def frags(p):
        return [f.__dict__ for f in p.frags]

    assert frags(Para(para(text), style)) == frags(Paragraph(para(text), style))
    assert frags(Para(text, style, label="Tip:")) == \
        frags(Paragraph(f"<b>Tip:</b> {para(text)}", style))


def test_an_out_of_hours_route_the_font_cannot_draw_is_named_in_the_error():
    """The clinic's out-of-hours route is printed, so it is checked like every other field."""
    snap = make_snapshot()
    clinic = dataclasses.replace(snap.clinic, out_of_hours="Call 111 or \u591c\u9593\u8a3a\u7642")
    with pytest.raises(UnrenderableText) as caught:
        render_handout(dataclasses.replace(snap, clinic=clinic), HandoutOptions())
    assert caught.value.field == "clinic.out_of_hours"
