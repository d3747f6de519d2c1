"""Plain paragraphs written straight into the page's content: ReportLab's operators, less work.

Paragraph.drawOn, for every paragraph, saves the canvas state twice (a copy of some twenty
attributes each time), builds a text object, and sets fill colour and font through general
methods that handle CMYK, separations, shaping, underlines, links and justification. The
handout's paragraphs need none of that; this module emits the very same operator strings for
the paragraphs it accepts (left-aligned, TrueType fonts, RGB colours, no underline, link,
background, image or rise) and declines the rest, which ReportLab then draws as before.
tests/unit/test_pdf_textdraw.py compares the two, operator for operator.
"""

from __future__ import annotations

import functools

from reportlab.lib.colors import CMYKColor, Color
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.platypus import paragraph as rl_paragraph

try:
    from reportlab.pdfbase.ttfonts import ShapedStr
except ImportError:  # a ReportLab without text shaping has no shaped text to decline
    ShapedStr = ()  # noqa: N816 - isinstance(x, ()) is always False

# ReportLab's own helpers for what this module repeats. Written against ReportLab 5.1; if a
# version lacks one, every paragraph goes to ReportLab's drawing (and the tests, which compare
# with the installed ReportLab's operators, say whether the rest still holds).
_nbsp = getattr(rl_paragraph, "_nbspCount", None)
_draw_bullet = getattr(rl_paragraph, "_drawBullet", None)
_USABLE = (_nbsp is not None and _draw_bullet is not None
           and hasattr(rl_paragraph, "paraFontSizeHeightOffset"))
_RG: dict[tuple[float, float, float], str] = {}  # colour -> its "r g b rg" operator


def draw_on(para: rl_paragraph.Paragraph, canvas: object, x: float, y: float,
            avail_width: float = 0) -> bool:
    """Appends to `canvas` what `para.drawOn(canvas, x, y, avail_width)` would and returns
    True, or appends nothing and returns False when the paragraph needs ReportLab's general
    drawing. Leaves the canvas's state (colours, font, matrix) as drawOn would: unchanged."""
    lines = _lines(para, canvas) if _USABLE else None
    if lines is None:
        return False
    style = para.style
    blpara = para.blPara
    kind = blpara.kind
    first = blpara if kind == 0 else lines[0]
    if rl_paragraph.paraFontSizeHeightOffset:
        cur_y = para.height - first.fontSize
    else:
        cur_y = para.height - getattr(first, "ascent", first.fontSize)
    code = canvas._code
    # Flowable.drawOn: save the state and move the origin; drawPara: save the state again.
    code.append("q")
    code.append(f"{fp_str(1, 0, 0, 1, para._hAlignAdjust(x, avail_width), y)} cm")
    code.append("q")
    offset = style.firstLineIndent
    doc = canvas._doc
    escape = canvas._escape
    text = _Text(doc, escape)
    bullet = para.bulletText
    if bullet:
        color = getattr(style, "bulletColor", style.textColor)
        if (isinstance(bullet, str) and style.bulletAnchor == "start"
                and _truetype(style.bulletFontName)
                and _plain_color(color)
                and color.alpha in (None, canvas._extgstate.getValue("ca"))):
            offset = _bullet(code, text, bullet, style, color, cur_y, offset, doc)
        else:
            offset = _draw_bullet(canvas, offset, cur_y, bullet, style, rtl=False)
    leading = style.leading
    out = ["BT", f"1 0 0 1 {fp_str(style.leftIndent, cur_y)} Tm"]
    if kind == 0:
        color = blpara.textColor
        code.append(_color(color, doc))
        font = getFont(blpara.fontName)
        size = blpara.fontSize
        for i, (space, words) in enumerate(lines):
            move = offset if i == 0 else 0
            if move > 1e-6 or move < -1e-6:
                out.append(f"{fp_str(move, 0)} Td")
            line = " ".join(words)
            # A line a little wider than the column (ReportLab lets the last word overhang
            # a point or two) is drawn with its word spacing shrunk to fit.
            spaces = len(words) + _nbsp(line) - 1 if space <= -1e-8 else 0
            if spaces > 0:
                out.append(f"{fp_str(space / float(spaces))} Tw")
            out.append(text.encoded(line, font, size, leading) + " T*")
            if spaces > 0:
                out.append("0 Tw")
            if move > 1e-6 or move < -1e-6:
                out.append(f"{fp_str(-move, 0)} Td")
    else:
        font_key: tuple[str, float] | None = None
        font = size = color = None
        tx_leading = None
        for i, line in enumerate(lines):
            move = offset if i == 0 else 0
            if move > 1e-6 or move < -1e-6:
                out.append(f"{fp_str(move, 0)} Td")
            words = line.words
            last = words[-1]
            spaces = (line.wordCount + sum(_nbsp(w.text) for w in words) - 1
                      if line.extraSpace <= -1e-8 else 0)
            if spaces > 0:
                out.append(f"{fp_str(line.extraSpace / float(spaces))} Tw")
            if tx_leading != leading:
                tx_leading = leading
                out.append(f"{fp_str(leading)} TL")
            for frag in words:
                if font_key != (frag.fontName, frag.fontSize):
                    font_key = (frag.fontName, frag.fontSize)
                    font, size = getFont(frag.fontName), frag.fontSize
                    text.subset = -1
                if color != frag.textColor:
                    color = frag.textColor
                    out.append(_color(color, doc))
                out.append(text.encoded(frag.text, font, size, leading)
                           + (" T*" if frag is last else ""))
            if spaces > 0:
                out.append("0 Tw")
            if move > 1e-6 or move < -1e-6:
                out.append(f"{fp_str(-move, 0)} Td")
    out.append("ET")
    code.append(" ".join(out))
    code.append("Q")
    code.append("Q")
    return True


def _bullet(code: list[str], text: _Text, bullet: str, style: object, color: Color,
            cur_y: float, offset: float, doc: object) -> float:
    """ReportLab's _drawBullet for a text bullet anchored at its start: its own text object
    at the bullet indent; returns the first line's offset, moved right past the bullet."""
    cur_y += getattr(style, "bulletOffsetY", 0)
    name, size = style.bulletFontName, style.bulletFontSize
    font = getFont(name)
    text.subset = -1
    encoded = text.encoded(bullet, font, size, size * 1.2)
    code.append(f"BT 1 0 0 1 {fp_str(style.bulletIndent, cur_y)} Tm {_color(color, doc)} "
                f"{encoded} ET")
    end = style.bulletIndent + font.stringWidth(bullet, size) + size * 0.6
    text.subset = -1
    return max(offset, end - style.leftIndent)


class _Text:
    """PDFTextObject._formatText for TrueType text: each run in its font subset, switching
    subset (and restating size and leading) only when the subset changes."""

    def __init__(self, doc: object, escape: object) -> None:
        self.doc, self.escape, self.subset = doc, escape, -1

    def encoded(self, text: str, font: object, size: float, leading: float) -> str:
        doc = self.doc
        chunks = font.splitString(text, doc)
        if len(chunks) == 1 and chunks[0][0] == self.subset:  # most lines after the first
            return f"({self.escape(chunks[0][1])}) Tj"
        parts = []
        for subset, chunk in chunks:
            if subset != self.subset:
                parts.append(f"{font.getSubsetInternalName(subset, doc)} "
                             f"{fp_str(size)} Tf {fp_str(leading)} TL")
                self.subset = subset
            parts.append(f"({self.escape(chunk)}) Tj")
        return " ".join(parts)


def _color(color: Color, doc: object) -> str:
    """The fill colour operator; like setFillColor, a colour with alpha marks the document
    as using transparency (the alpha itself equals the current one: _lines checked)."""
    if color.alpha is not None:
        doc.ensureMinPdfVersion("transparency")
    rgb = (color.red, color.green, color.blue)
    op = _RG.get(rgb)
    if op is None:
        op = _RG[rgb] = f"{fp_str(rgb)} rg"
    return op


def _lines(para: rl_paragraph.Paragraph, canvas: object) -> list | None:
    """The paragraph's broken lines when this module draws exactly as ReportLab would,
    else None."""
    style = para.style
    blpara = para.__dict__.get("blPara")
    if (blpara is None or getattr(para, "_showBoundary", None) or getattr(para, "debug", 0)
            or not canvas.bottomup
            or getattr(canvas, "_enforceColorSpace", None)
            or style.alignment != TA_LEFT or style.backColor
            or (style.borderColor and style.borderWidth)
            or style.wordWrap is not None or style.endDots
            or getattr(para, "autoLeading", getattr(style, "autoLeading", "")) in ("min", "max")
            or getattr(para, "_offsets", None) is not None
            or "preformatted" in type(para).__name__.lower()):
        return None
    lines = blpara.lines
    if not lines:
        return None
    # What the lines hold is checked once per set of lines: shared line breaks
    # (pdf.flowables._BREAKS) are drawn again by every render of the same text.
    # Kept with the very lines checked: ReportLab's clones of a line set carry its attributes
    # along with other lines.
    checked = blpara.__dict__.get("_lean_checked")
    if checked is not None and checked[0] is lines:
        alphas = checked[1]
    else:
        alphas = _drawable_alphas(blpara)
        blpara._lean_checked = (lines, alphas)
    if alphas is None:
        return None
    current = canvas._extgstate.getValue("ca")
    if any(a is not None and a != current for a in alphas):
        return None
    return lines


def _drawable_alphas(blpara: object) -> frozenset[float | None] | None:
    """The alphas of the lines' colours when every line is plain TrueType text in RGB
    colours, else None."""
    if blpara.kind == 0:
        if (blpara.us_lines or blpara.link or not _plain_color(blpara.textColor)
                or not _truetype(blpara.fontName)):
            return None
        for _space, words in blpara.lines:
            # Words split across lines are str subclasses; joined, they are plain text.
            if not all(isinstance(w, str) for w in words):
                return None
        return frozenset([blpara.textColor.alpha])
    if blpara.kind != 1:
        return None
    alphas = set()
    for line in blpara.lines:
        words = getattr(line, "words", None)
        if not words or getattr(line, "preformatted", False):
            return None
        for frag in words:
            if (hasattr(frag, "cbDefn") or frag.us_lines or frag.link or frag.rise
                    or getattr(frag, "backColor", None)
                    or not isinstance(frag.text, str) or isinstance(frag.text, ShapedStr)
                    or not _plain_color(frag.textColor) or not _truetype(frag.fontName)):
                return None
            alphas.add(frag.textColor.alpha)
    return frozenset(alphas)


def _plain_color(color: object) -> bool:
    return isinstance(color, Color) and not isinstance(color, CMYKColor)


@functools.cache
def _truetype(name: str) -> bool:
    font = getFont(name)
    return bool(font._dynamicFont)
