"""The lean paragraph drawing (pdf/textdraw.py) writes exactly what ReportLab would, or declines."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from pdf_fixtures import make_snapshot, many_exercises, png_logo
from reportlab.lib.colors import CMYKColor, Color
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from pdf import flowables, render_handout
from pdf import styles as st
from pdf.coverage import drawable_code_points
from pdf.textdraw import draw_on
from plans.model import HandoutOptions, PageSize

ALL_OPTIONS = [HandoutOptions(large_print=lp, page_size=ps)
               for lp in (False, True) for ps in PageSize]


def _sheet(large: bool = False):
    return st.sheet_for(HandoutOptions(large_print=large))


def _canvas() -> Canvas:
    st.register_fonts()
    return Canvas(io.BytesIO(), invariant=1, initialFontName=st.REGULAR)


def _both(make, width: float, x: float = 36, y: float = 500) -> tuple[list[str], list[str]]:
    """The operators ReportLab's own drawOn writes for a fresh paragraph from `make`, and the
    ones the lean path writes, each on a fresh canvas (so font subsets start alike)."""
    general, lean = _canvas(), _canvas()
    p = make()
    p.wrap(width, 10_000)
    start = len(general._code)
    Flowable.drawOn(p, general, x, y)
    q = make()
    q.wrap(width, 10_000)
    # An empty paragraph (no lines) is left to ReportLab: it draws nothing but the state saves.
    taken = draw_on(q, lean, x, y)
    assert taken or not q.blPara.lines, "the lean path declined a paragraph it should take"
    if not taken:
        q.drawOn(lean, x, y)
    assert lean._doc._pdfVersion == general._doc._pdfVersion
    assert lean.__dict__.get("_fillColorObj") == general.__dict__.get("_fillColorObj")
    return general._code[start:], lean._code[start:]


def _unrendered_nbsp_text() -> hs.SearchStrategy[str]:
    # Spaces, no-break spaces, PDF string delimiters and a wide alphabet, so that some lines
    # overhang (shrunk word spacing), get escaped, or need a second font subset.
    alphabet = list("abc xyz  ()\\\xa0éüßøł αβγΩλΣ жЖщЩяЯ 0189 .,-•")
    return hs.text(hs.sampled_from(alphabet), min_size=0, max_size=160)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_unrendered_nbsp_text(), label=hs.sampled_from(["", "Why:", "When to back off:"]),
       name=hs.sampled_from(["body", "step", "stop_item", "caption", "h1", "tier_lead"]),
       width=hs.floats(min_value=40, max_value=540), large=hs.booleans())
def test_lean_drawing_writes_the_operators_reportlab_writes(text, label, name, width, large):
    """For plain and labelled paragraphs in every handout style, with or without a bullet,
    at any column width (lines that overhang get their word spacing shrunk), the operators
    are ReportLab's own, string for string."""
    style = _sheet(large)[name]
    bullet = "•" if name == "stop_item" else "3." if name == "step" else None
    if label:
        general, lean = _both(lambda: flowables.Para(text, style, bullet, label=label), width)
    else:
        general, lean = _both(lambda: flowables.Para(text, style, bullet), width)
    assert lean == general


def test_markup_runs_with_colour_and_size_and_a_second_font_subset_match():
    """A tier lead (bold coloured run in a larger size, then body text) and a text of more
    than 255 distinct characters, which ReportLab spreads over two font subsets: same
    operators, subset switches included."""
    sheet = _sheet()
    lead = sheet["stop_lead"]
    markup = (f'<font name="{st.BOLD}" color="{lead.textColor.hexval()}" size="13.2">'
              "Go to the emergency department now.</font> Stop the exercises (all of them) "
              "and call \\ the emergency number.")
    general, lean = _both(lambda: flowables.Para(markup, sheet["tier_lead"]), 300)
    assert lean == general
    many = "".join(chr(c) for c in sorted(drawable_code_points()) if c > 32)[:400]
    words = " ".join(many[i:i + 9] for i in range(0, len(many), 9))
    general, lean = _both(lambda: flowables.Para(words, sheet["body"], label="Why:"), 400)
    assert lean == general
    assert any("/F" in op and "+1 " in op for op in lean), "expected a second subset"


@pytest.mark.parametrize("make", [
    lambda s: flowables.Para("Centred text here", ParagraphStyle("c", parent=s["body"],
                                                                   alignment=TA_CENTER)),
    lambda s: flowables.Para("Justified text " * 20, ParagraphStyle("j", parent=s["body"],
                                                                      alignment=TA_JUSTIFY)),
    lambda s: flowables.Para("On a tint", ParagraphStyle("b", parent=s["body"],
                                                         backColor=st.TINT)),
    lambda s: flowables.Para("Read <u>this</u> first", s["body"]),
    lambda s: flowables.Para('See <a href="https://example.org">the site</a>', s["body"]),
    lambda s: flowables.Para("E = mc<super>2</super>", s["body"]),
    lambda s: flowables.Para("Type 1 face", ParagraphStyle("h", parent=s["body"],
                                                            fontName="Helvetica")),
    lambda s: flowables.Para("Printer ink", ParagraphStyle("k", parent=s["body"],
                                                           textColor=CMYKColor(0, 0, 0, 1))),
    lambda s: flowables.Para("See through", ParagraphStyle(
        "a", parent=s["body"], textColor=Color(0.07, 0.07, 0.07, alpha=0.5))),
], ids=["centred", "justified", "background", "underline", "link", "rise", "type1", "cmyk",
        "alpha"])
def test_paragraphs_it_cannot_draw_are_declined_and_drawn_by_reportlab(make):
    """Anything beyond plain left-aligned TrueType text in opaque RGB is declined with nothing
    written, and Para.drawOn then writes exactly what ReportLab's drawOn writes."""
    sheet = _sheet()
    declined = _canvas()
    p = make(sheet)
    p.wrap(300, 1000)
    before = list(declined._code)
    assert not draw_on(p, declined, 36, 500)
    assert declined._code == before
    general, via_para = _canvas(), _canvas()
    a, b = make(sheet), make(sheet)
    a.wrap(300, 1000)
    b.wrap(300, 1000)
    Flowable.drawOn(a, general, 36, 500)
    b.drawOn(via_para, 36, 500)
    assert via_para._code == general._code


@pytest.mark.parametrize("options", ALL_OPTIONS, ids=lambda o: o.key)
def test_handouts_are_byte_identical_with_and_without_the_lean_drawing(options, monkeypatch):
    """Whole handouts (logo, every section, a long plan that splits paragraphs over pages)
    come out byte for byte the same when every paragraph, box, grid and column goes through
    ReportLab's drawing."""
    snapshots = [make_snapshot(logo=png_logo(), notes="Walk after lunch & rest.\n\nTwice."),
                 make_snapshot(exercises=many_exercises(12), notes="A long note. " * 120)]
    lean = [render_handout(s, options) for s in snapshots]
    monkeypatch.setattr(flowables, "draw_on", lambda *args: False)
    # Boxes, columns, grids and side-by-side blocks placed as ReportLab places any flowable.
    monkeypatch.setattr(flowables._Placed, "drawOn", Flowable.drawOn)
    assert [render_handout(s, options) for s in snapshots] == lean
