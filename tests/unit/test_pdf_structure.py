"""PDF structure a viewer, a screen reader and an archive rely on: fonts, metadata, validity."""

from __future__ import annotations

import io
import shutil
import subprocess

import pikepdf
import pytest
from pdf_fixtures import make_snapshot, png_logo
from pdf_helpers import page_texts

from pdf import render_handout
from plans.model import HandoutOptions, PageSize

PATIENT = "Zoë Patientname-Unique"


@pytest.fixture(scope="module", params=[HandoutOptions(), HandoutOptions(True, PageSize.A4)],
                ids=lambda o: o.key)
def pdf(request):
    snapshot = make_snapshot(patient_name=PATIENT, logo=png_logo(),
                             notes="Long notes. " * 50)
    return render_handout(snapshot, request.param)


def _fonts(doc: pikepdf.Pdf) -> dict[str, pikepdf.Dictionary]:
    found = {}
    for page in doc.pages:
        for _name, font in page.Resources.get("/Font", {}).items():
            found[str(font.BaseFont)] = font
        for _name, xobj in page.Resources.get("/XObject", {}).items():
            for _fname, font in xobj.get("/Resources", {}).get("/Font", {}).items():
                found[str(font.BaseFont)] = font
    return found


def test_every_font_is_embedded(pdf):
    """Each font on each page carries its TrueType program (FontFile2): no viewer substitution."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        fonts = _fonts(doc)
        assert fonts, "no fonts found"
        for name, font in fonts.items():
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            assert descriptor is not None and "/FontFile2" in descriptor, name
            assert "DejaVu" in name or "LimberSans" in name, name


def test_title_language_and_author_set_without_patient_name(pdf):
    """Title and /Lang are set, author is the clinic, and the patient's name is nowhere in the
    document information or XMP metadata."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        info = doc.docinfo
        assert str(info["/Title"]) == "Your home exercise plan"
        assert str(info["/Author"]) == "Riverside Physio"
        assert str(doc.Root.Lang) == "en"
        meta_text = " ".join(str(v) for v in info.values())
        assert PATIENT not in meta_text and "Patientname" not in meta_text
        if "/Metadata" in doc.Root:
            assert b"Patientname" not in doc.Root.Metadata.read_bytes()
        for key in ("/Subject", "/Keywords"):
            assert "Patientname" not in str(info.get(key, ""))
    assert PATIENT in page_texts(pdf)[0]


def test_creation_date_comes_from_the_snapshot(pdf):
    """The creation date is the plan's date, not the render time."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert str(doc.docinfo["/CreationDate"]).startswith("D:20261128")


def test_qpdf_check_is_clean(pdf, tmp_path):
    """qpdf finds no structural errors or warnings."""
    from tests.conftest import need

    qpdf = shutil.which("qpdf")
    need(qpdf is not None, "qpdf (Debian package qpdf)")
    path = tmp_path / "handout.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout
    assert "WARNING" not in result.stdout.upper() + result.stderr.upper()


def _text_sizes(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, font size in points, baseline height above the page bottom) of every text run."""
    from pypdf import PdfReader

    runs: list[tuple[str, float, float]] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        def visit(text, cm, tm, font, size):
            if text.strip():
                runs.append((text.strip(), size * abs(tm[0]) * abs(cm[0] or 1),
                             cm[1] * tm[4] + cm[3] * tm[5] + cm[5]))
        page.extract_text(visitor_text=visit)
    return runs


def test_type_sizes_meet_the_reading_targets():
    """Standard print: body at 12 pt (REFERENCES.md's floor) and nothing under 10 pt (picture
    captions, the legend, sources and the footer). Large print: body at 16 pt, everything
    above the footer at 14 or more, the footer at 12."""
    snap = make_snapshot(notes="Walk after lunch.")
    standard = _text_sizes(render_handout(snap, HandoutOptions()))
    assert min(size for _, size, _ in standard) >= 10 - 0.01
    sizes = [round(size, 2) for _, size, _ in standard]
    assert max(set(sizes), key=sizes.count) == 12  # the body
    large = _text_sizes(render_handout(snap, HandoutOptions(large_print=True)))
    above_footer = [(t, s) for t, s, y in large if y > 72]
    assert min(s for _, s in above_footer) >= 14 - 0.01, min(above_footer, key=lambda r: r[1])
    sizes = [round(s, 2) for _, s in above_footer]
    assert max(set(sizes), key=sizes.count) == 16
    assert min(s for _, s, _ in large) >= 12 - 0.01
