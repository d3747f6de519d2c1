"""Reading rendered handouts back: text per page, normalised so wrapped lines still match."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def page_texts(pdf: bytes) -> list[str]:
    """Extracted text of each page with runs of whitespace (line wraps) collapsed to one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pages_with(texts: list[str], needle: str) -> list[int]:
    """1-based numbers of the pages whose text contains `needle` (whitespace-normalised)."""
    needle = flat(needle)
    return [i for i, t in enumerate(texts, start=1) if needle in t]


def assert_safety_net_rule(texts: list[str], snapshot, options) -> None:
    """The page-1 rule for the safety-netting box (see test_pdf_render for it in words)."""
    from pdf.content import safety_tiers

    first = texts[0]
    assert "Stop and get help" in first
    tiers = safety_tiers(snapshot.plan)
    for number, tier in enumerate(tiers):
        heading = pages_with(texts, tier.heading + ".")
        assert heading, tier.tier
        # The action line follows its heading wherever it is printed, and every sign is on a
        # page where they are (a tier too long for one page repeats them overleaf).
        assert pages_with(texts, f"{tier.heading}. {tier.action}") == heading, tier.tier
        for sign in tier.signs:
            assert pages_with(texts, sign)[0] in heading, (tier.tier, sign)
        if number == 0 or not options.large_print:
            assert heading[0] == 1, tier.tier
    emergency = pages_with(texts, f"Emergency number: {snapshot.clinic.emergency_number}")
    assert emergency and emergency[0] == 1


def text_runs(pdf: bytes) -> tuple[tuple[float, float], list[list[tuple[str, bool, float, float,
                                                                        float]]]]:
    """Page (width, height) and, per page, every text run: (text, bold, size, x, y)."""
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    pages = []
    for page in reader.pages:
        runs: list[tuple[str, bool, float, float, float]] = []

        def visit(text, cm, tm, font, size, runs=runs):
            if not text.strip():
                return
            bold = bool(font) and "Bold" in str(font.get("/BaseFont", ""))
            scale = abs(tm[0]) or 1.0
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            runs.append((text.strip("\n"), bold, size * scale, x, y))

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return (float(box.width), float(box.height)), pages


def _mul(a: list[float], b: list[float]) -> list[float]:
    """PDF matrix product a x b (a applied first)."""
    return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]


def drawn_rectangles(pdf: bytes) -> list[list[tuple[float, float, float, float]]]:
    """Per page, every rectangle path (`re`) as drawn on the page: (x, y, width, height) in
    points after the transformation matrix, read from the content streams."""
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for page in reader.pages:
        ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        stack: list[list[float]] = []
        rects = []
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q":
                ctm = stack.pop() if stack else ctm
            elif op == b"cm":
                ctm = _mul([float(v) for v in operands], ctm)
            elif op == b"re":
                x, y, w, h = (float(v) for v in operands)
                x0, y0 = ctm[0] * x + ctm[2] * y + ctm[4], ctm[1] * x + ctm[3] * y + ctm[5]
                rects.append((x0, y0, abs(w * ctm[0]), abs(h * ctm[3])))
        out.append(rects)
    return out


def assert_exercises_hold_together(texts: list[str], exercises, key: str = "") -> None:
    """Each exercise's name, pictures (by their captions), purpose and first steps share a
    page. What follows (in large print later steps, then the tips and feel lines) is on that
    page or runs on over the next pages, each of which opens with "N. name (continued)"."""
    from pdf.content import pictures

    for number, exercise in enumerate(exercises, start=1):
        name = f"{number}. {exercise.name}"
        first = pages_with(texts, name)[0]
        for picture in pictures(exercise):
            assert first in pages_with(texts, picture.text), (key, number, picture.text)
        for step in exercise.steps[:2]:
            assert first in pages_with(texts, step), (key, number, step)
        continued = pages_with(texts, f"{name} (continued)")
        for text in (*exercise.steps[2:], f"When to back off: {exercise.back_off}"):
            # The first page from the exercise's name on (a step may repeat in another).
            where = [p for p in pages_with(texts, text) if p >= first]
            assert where, (key, number, text)
            assert where[0] == first or (where[0] > first and set(
                range(first + 1, where[0] + 1)) <= set(continued)), (key, number, text)
