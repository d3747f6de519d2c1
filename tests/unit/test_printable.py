"""plans/printable.py: the glyph list matches the fonts, and what it accepts really renders."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import page_texts

from pdf import render_handout
from pdf.coverage import GLYPHS_FILE, drawable_code_points, render_file
from pdf.text import check_drawable
from plans.model import ClinicInfo, HandoutOptions
from plans.printable import handout_glyphs, only_invisible, text_problem, text_problems, unprintable


def test_the_committed_glyph_list_matches_the_fonts():
    """Regenerated from the font files, the list is byte for byte the committed one: a font
    change without `python -m pdf.coverage` fails here, not in a patient's render."""
    assert GLYPHS_FILE.read_text("utf-8") == render_file(drawable_code_points())
    assert handout_glyphs() == drawable_code_points()


def test_the_check_command_fails_on_a_stale_list(tmp_path, monkeypatch):
    from pdf import coverage

    stale = tmp_path / "handout_glyphs.txt"
    stale.write_text(GLYPHS_FILE.read_text("utf-8").replace("0020-007E\n", "0020-007D\n"))
    monkeypatch.setattr(coverage, "GLYPHS_FILE", stale)
    assert coverage.main(["--check"]) == 1
    monkeypatch.setattr(coverage, "GLYPHS_FILE", GLYPHS_FILE)
    assert coverage.main(["--check"]) == 0


def test_every_character_the_checker_accepts_the_renderer_can_draw():
    """What passes at the door never fails the renderer's own glyph check (read from the
    fonts, not from the list), so an accepted text cannot end in a permanent failure. Every
    listed character is tried, and every 7th code point of the rest of Unicode."""
    candidates = sorted(handout_glyphs() | set(range(0, 0x110000, 7)))
    accepted = "".join(chr(cp) for cp in candidates
                       if not 0xD800 <= cp <= 0xDFFF and not unprintable(chr(cp)))
    assert len(accepted) > 3000
    check_drawable("anything", accepted)


@pytest.mark.parametrize("text, expected", [
    ("王小明", (0x738B, 0x5C0F, 0x660E)),
    ("Ann \U0001F9B4", (0x1F9B4,)),
    ("A\x07B", (0x07,)),
    ("Ana\nP.", (0x0A,)),
    ("\u202eAna", (0x202E,)),  # right-to-left override: the page would not read as typed
    ("Ana\u200bP.", (0x200B,)),  # zero width space
    ("שרה", (0x05E9, 0x05E8, 0x05D4)),  # drawable glyphs, but would print backwards
    ("\ue000", (0xE000,)),  # private use
])
def test_refused_characters_are_named_by_code_point(text, expected):
    assert unprintable(text) == expected
    found = text_problem("patient.display_name", text)
    assert found is not None and found.code_points == expected
    assert f"U+{expected[0]:04X}" in found.message
    # The message never repeats the text: it may be a patient's name.
    assert all(ch not in found.message for ch in text if not ch.isascii())
    assert "Ann" not in found.message and "Ana" not in found.message


@pytest.mark.parametrize("text", ["Ana P.", "Zoë Ångström-Łukasiewicz", "Nguyễn Thị Ánh",
                                  "Αλέξανδρος", "Светлана", "O'Brien-Smith (Jr.)", "e\u0301"])
def test_names_the_fonts_draw_are_accepted(text):
    assert text_problem("patient.display_name", text) is None


def test_line_breaks_and_tabs_pass_in_multiline_fields_only():
    assert text_problem("notes", "Walk daily.\r\n\tEase off if sore.", multiline=True) is None
    assert text_problem("clinician", "Sam\tOkafor") is not None


@pytest.mark.parametrize("text", [" ", "\u00a0\u2003", "\u3164", "\u2800\u2800", "\u0301",
                                  "\n\n"])
def test_text_of_only_invisible_characters_is_refused(text):
    assert only_invisible(text)
    assert text_problem("notes", text, multiline=True) is not None


def test_empty_text_is_not_a_printing_problem():
    assert text_problem("notes", "") is None
    assert only_invisible("") is False


def test_problems_of_several_fields_come_back_together():
    found = text_problems([("patient.display_name", "王", False), ("clinician", "Sam", False),
                           ("notes", "\x00", True), ("clinic.name", None, False)])
    assert [p.field for p in found] == ["patient.display_name", "notes"]


def test_many_characters_are_counted_not_all_listed():
    found = text_problem("notes", "一二三四五六七八", multiline=True)
    assert found is not None and "and 3 more" in found.message


def test_accepted_non_latin1_text_in_every_typed_field_really_renders():
    """PDF read-back: accented, Greek and Cyrillic text in the patient name, clinician, notes
    and the clinic's details passes the check and comes out of the PDF as the same text."""
    texts = {"patient": "Łukasz Żółć", "clinician": "Dr Σοφία Νικολάου",
             "notes": "Ходите каждый день.", "clinic": "Ośrodek Fizjoterapii Łódź",
             "contact": "Tél. 01 23 45 67 89 · café-physio.example"}
    assert text_problems([(k, v, k == "notes") for k, v in texts.items()]) == []
    snap = make_snapshot(patient_name=texts["patient"], notes=texts["notes"],
                         clinician=texts["clinician"],
                         clinic=ClinicInfo(name=texts["clinic"], contact=texts["contact"],
                                           emergency_number="112"))
    flat = " ".join(" ".join(page_texts(render_handout(snap, HandoutOptions()))).split())
    for value in texts.values():
        assert value in flat, value


def test_plans_printable_imports_no_pdf_stack():
    out = subprocess.run([sys.executable, "-c", "import sys, plans.printable; "
                          "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                          "('reportlab', 'pdf', 'flask')))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
