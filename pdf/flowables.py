"""Two faster flowables: a paragraph that lays out once per width, and a pre-drawn pose."""

from __future__ import annotations

import functools
import io

from reportlab.graphics import renderPDF
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph

from pdf.illustrations import drawing_for


class Para(Paragraph):
    """A Paragraph that remembers its line breaks for the last width it was wrapped to.

    Tables and KeepTogether wrap the same paragraph several times at one width while they
    measure; line breaking is the single largest cost of a render, and its result depends only
    on the width, so repeating it is pure waste.
    """

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
