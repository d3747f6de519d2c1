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


@pytest.mark.parametrize("text, markup", [
    ("", ""),
    ("plain words", "plain words"),
    ("line one\nline two", "line one<br/>line two"),
    ("line one\r\nline two", "line one<br/>line two"),
    ("line one\rline two", "line one<br/>line two"),
    ("a\n\nb", "a<br/><br/>b"),
    ("a\r\n\r\nb\n", "a<br/><br/>b<br/>"),
    ("tab\tstays", "tab\tstays"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("<br/>", "&lt;br/&gt;"),
    ("say \"hi\" it's", "say \"hi\" it's"),
    ("&amp;", "&amp;amp;"),
])
def test_para_escapes_markup_and_turns_every_kind_of_line_break_into_one_br(text, markup):
    from pdf.text import para

    assert para(text) == markup


def test_lone_carriage_return_in_notes_prints_as_a_line_break():
    """Notes pasted from old Mac text use a bare CR; the handout shows two lines, not one."""
    import io

    from pypdf import PdfReader

    snap = make_snapshot(notes="First line\rSecond line\r\rNew paragraph")
    reader = PdfReader(io.BytesIO(render_handout(snap, HandoutOptions())))
    lines = [line.strip() for page in reader.pages for line in page.extract_text().splitlines()]
    at = lines.index("First line")
    assert lines[at + 1] == "Second line"
    assert "New paragraph" in lines[at + 2:]


def _set(obj, path: str, value: str):
    """`obj` with the field at `path` (as snapshot_texts names it) replaced by `value`."""
    head, _, rest = path.partition(".")
    name, _, index = head.partition("[")
    current = getattr(obj, name)
    if index:
        i = int(index.rstrip("]"))
        item = value if not rest else _set(current[i], rest, value)
        return dataclasses.replace(obj, **{name: (*current[:i], item, *current[i + 1:])})
    return dataclasses.replace(obj, **{name: value if not rest else _set(current, rest, value)})


def test_snapshot_texts_names_every_printed_field_in_order_with_its_own_text():
    from pdf.text import snapshot_texts

    snap = make_snapshot(notes="Ice after.")
    guide = snap.plan.guide
    snap = dataclasses.replace(snap, plan=dataclasses.replace(
        snap.plan, exercises=snap.plan.exercises[:2], faq=snap.plan.faq[:1],
        sources=snap.plan.sources[:2], red_flags=snap.plan.red_flags[:2],
        phase_notes=snap.plan.phase_notes[:2],
        guide=dataclasses.replace(guide, safety_net=guide.safety_net[:2], terms=guide.terms[:2])))
    got = list(snapshot_texts(snap))
    exercise_fields = ["name", "purpose", "feel", "back_off", "dose_text", "adapted_because",
                       "illustration_alt", "phase"]
    want_fields = ["clinician", "plan_id", "created_on", "clinic.name", "clinic.contact",
                   "clinic.emergency_number", "clinic.out_of_hours", "plan.patient_name",
                   "plan.title", "plan.summary", "plan.habit_anchor", "plan.notes"]
    for i, ex in enumerate(snap.plan.exercises):
        want_fields += [f"plan.exercises[{i}].{f}" for f in exercise_fields]
        want_fields += [f"plan.exercises[{i}].steps[{j}]" for j in range(len(ex.steps))]
        want_fields += [f"plan.exercises[{i}].cues[{j}]" for j in range(len(ex.cues))]
    want_fields += ["plan.red_flags[0].text", "plan.red_flags[1].text",
                    "plan.phase_notes[0].name", "plan.phase_notes[0].note",
                    "plan.phase_notes[1].name", "plan.phase_notes[1].note"]
    for i, tier in enumerate(snap.plan.guide.safety_net):
        want_fields += [f"plan.guide.safety_net[{i}].heading", f"plan.guide.safety_net[{i}].action"]
        want_fields += [f"plan.guide.safety_net[{i}].signs[{j}]" for j in range(len(tier.signs))]
    want_fields += ["plan.guide.pain_rule", "plan.guide.floor_note", "plan.guide.log_help",
                    "plan.guide.review", "plan.guide.terms[0]", "plan.guide.terms[1]",
                    "plan.tracking_prompts[0]", "plan.tracking_prompts[1]",
                    "plan.faq[0].question", "plan.faq[0].answer",
                    "plan.sources[0].title", "plan.sources[0].publisher",
                    "plan.sources[1].title", "plan.sources[1].publisher"]
    assert [f for f, _ in got] == want_fields
    # Each label carries the text of the field it names (the field path reads it back); a
    # glossary term is printed as its word and meaning together.
    for field, text in got:
        value = _get(snap, field)
        want = f"{value.word} {value.meaning}" if field.startswith("plan.guide.terms") else value
        assert text == want, field


def _get(obj, path: str):
    for part in path.split("."):
        name, _, index = part.partition("[")
        obj = getattr(obj, name)
        if index:
            obj = obj[int(index.rstrip("]"))]
    return obj


def test_an_undrawable_character_in_any_printed_field_is_reported_on_that_field():
    """Every label snapshot_texts gives is the one check_snapshot reports, field by field."""
    from pdf.text import check_snapshot, snapshot_texts

    snap = make_snapshot()
    fields = [f for f, _ in snapshot_texts(snap)]
    assert len(fields) > 60
    check_snapshot(snap)  # the clean snapshot passes
    for field in fields:
        # A glossary term is printed as word and meaning: put the character in its word.
        path = f"{field}.word" if field.startswith("plan.guide.terms") else field
        with pytest.raises(UnrenderableText) as info:
            check_snapshot(_set(snap, path, "ok \U0001F9B4 ok"))
        assert info.value.field == field
        assert info.value.code_points == (0x1F9B4,)
        assert str(info.value) == (f"{field} contains characters the handout font cannot "
                                   "draw: U+1F9B4")


def test_check_drawable_lists_each_missing_code_point_once_in_order_of_appearance():
    with pytest.raises(UnrenderableText) as info:
        check_drawable("plan.notes", "王 ok 小 王 \U0001F9B4 小")
    assert info.value.code_points == (0x738B, 0x5C0F, 0x1F9B4)
    assert info.value.field == "plan.notes"


@pytest.mark.parametrize("code_point", [0xF000, 0x1D5D4])
def test_a_character_only_one_of_the_two_faces_can_draw_is_refused(code_point):
    """Any text may be set in bold (headings, labels), so a glyph must exist in both faces:
    U+F000 is only in the regular face, U+1D5D4 only in the bold one."""
    with pytest.raises(UnrenderableText) as info:
        check_drawable("plan.title", f"A{chr(code_point)}")
    assert info.value.code_points == (code_point,)


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x00", "\x1b"])
def test_other_control_characters_are_not_layout_whitespace(char):
    """Only LF, CR and tab are layout whitespace; other control characters have no glyph."""
    with pytest.raises(UnrenderableText):
        check_drawable("plan.notes", f"a{char}b")


def test_an_out_of_hours_route_the_font_cannot_draw_is_named_in_the_error():
    """The clinic's out-of-hours route is printed, so it is checked like every other field."""
    snap = make_snapshot()
    clinic = dataclasses.replace(snap.clinic, out_of_hours="Call 111 or \u591c\u9593\u8a3a\u7642")
    with pytest.raises(UnrenderableText) as caught:
        render_handout(dataclasses.replace(snap, clinic=clinic), HandoutOptions())
    assert caught.value.field == "clinic.out_of_hours"
