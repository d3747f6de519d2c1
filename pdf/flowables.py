"""Faster flowables: a paragraph that parses and lays out once, and a pre-drawn pose."""

from __future__ import annotations

import functools
import io

from reportlab.graphics import renderPDF
from reportlab.lib.abag import ABag
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText

from pdf.illustrations import drawing_for
from pdf.text import para


@functools.cache
def _prototypes(style: ParagraphStyle) -> tuple[ABag, ABag]:
    """The (bold, regular) fragments ReportLab's markup parser makes for `style`."""
    bold, regular = Paragraph("<b>x</b>y", style).frags
    return bold, regular


def _plain(text: str) -> bool:
    # No markup, entities or line breaks (which para() turns into <br/>): the parser would
    # return the whitespace-cleaned text as one fragment.
    return "<" not in text and "&" not in text and "\n" not in text and "\r" not in text


class Para(Paragraph):
    """A Paragraph that skips the markup parser for plain text and remembers its line breaks.

    Two measured costs of a render: the HTML-based markup parser, run for every paragraph even
    when it holds no markup, and line breaking, which tables and KeepTogether repeat at the same
    width while they measure. Both results depend only on the text, style and width.
    """

    def __init__(self, text: str | None, style: ParagraphStyle,
                 bulletText: str | None = None, frags: list[ABag] | None = None,  # noqa: N803
                 *, label: str = "", **kwargs: object) -> None:
        """`text` is Paragraph markup; with `label`, `text` is plain user text shown after a
        bold label, and is escaped here."""
        if frags is not None or text is None:
            # ReportLab's own split() rebuilds paragraphs from fragments it already has.
            super().__init__(text, style, bulletText, frags=frags, **kwargs)
        elif label and _plain(label) and _plain(text):
            bold, regular = _prototypes(style)
            frags = [bold.clone(text=label, link=[], us_lines=[]),
                     regular.clone(text=" " + cleanBlockQuotedText(text), link=[], us_lines=[])]
            super().__init__(None, style, bulletText, frags=frags)
        elif label:
            super().__init__(f"<b>{para(label)}</b> {para(text)}", style, bulletText)
        elif _plain(text):
            frags = [_prototypes(style)[1].clone(text=cleanBlockQuotedText(text), link=[],
                                                 us_lines=[])]
            super().__init__(None, style, bulletText, frags=frags)
        else:
            super().__init__(text, style, bulletText)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        memo = self.__dict__.get("_wrap_memo")
        # Reuse only if this very object was wrapped at this width and still holds those lines
        # (split() builds new paragraphs, and copies may arrive without them).
        if memo is not None and memo[0] == availWidth and memo[1] is self.__dict__.get("blPara"):
            return self.width, self.height
        width, height = super().wrap(availWidth, availHeight)
        self._wrap_memo = (availWidth, self.blPara)
        return width, height


@functools.cache
def _pose_ops(key: str, width: float) -> tuple[str, float]:
    """The PDF drawing operators of a pose drawing, made once per process, and its height.

    The drawing holds only paths and colours (no fonts or images), so its operators need no
    page resources and can be replayed verbatim into any document.
    """
    drawing = drawing_for(key, width)
    scratch = Canvas(io.BytesIO())
    start = len(scratch._code)
    renderPDF.draw(drawing, scratch, 0, 0)
    return " ".join(scratch._code[start:]), drawing.height


class PoseArt(Flowable):
    """A pose drawing replayed from cached operators instead of re-rendered shape by shape."""

    def __init__(self, key: str, width: float) -> None:
        super().__init__()
        self._ops, self.height = _pose_ops(key, width)
        self.width = width

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        # drawOn has already saved the graphics state and moved the origin here.
        self.canv._code.append(self._ops)


class SideBySide(Flowable):
    """A picture on the left and a column of flowables beside it, tops aligned.

    Lighter than a one-row Table (no cell styles or grid to compute), and unlike one it can
    always split: if it is taller than the space left on the page it falls back to stacking
    the picture above the column, which the frame can then break between paragraphs.
    """

    def __init__(self, left: Flowable, right: list[Flowable], left_width: float,
                 gap: float) -> None:
        super().__init__()
        self._left = left
        self._right = right
        self._left_width = left_width
        self._gap = gap
        self._placed: list[tuple[Flowable, float]] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        _, left_h = self._left.wrap(self._left_width, availHeight)
        column = availWidth - self._left_width - self._gap
        placed: list[tuple[Flowable, float]] = []
        y = 0.0
        for i, flowable in enumerate(self._right):
            if i:
                y += max(self._right[i - 1].getSpaceAfter(), flowable.getSpaceBefore())
            _, h = flowable.wrap(column, availHeight)
            y += h
            placed.append((flowable, y))
        self._placed = placed
        self._left_h = left_h
        self.width, self.height = availWidth, max(left_h, y)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        if self.wrap(availWidth, availHeight)[1] <= availHeight:
            return [self]
        return [self._left, *self._right]

    def draw(self) -> None:
        self._left.drawOn(self.canv, 0, self.height - self._left_h)
        x = self._left_width + self._gap
        for flowable, bottom in self._placed:
            flowable.drawOn(self.canv, x, self.height - bottom)
