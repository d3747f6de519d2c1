"""Faster flowables: a paragraph that parses and lays out once, and a pre-drawn pose."""

from __future__ import annotations

import copy
import functools
import io

from reportlab.graphics import renderPDF
from reportlab.lib.abag import ABag
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Paragraph
from reportlab.platypus import paragraph as rl_paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText

from pdf.illustrations import drawing_for
from pdf.text import para
from pdf.textdraw import draw_on


@functools.lru_cache(maxsize=20_000)
def _clean(text: str) -> str:
    """ReportLab's whitespace cleaning of plain text, once per distinct text: template text
    repeats for every patient. A pure function of the string, so sharing it is safe."""
    return cleanBlockQuotedText(text)


@functools.lru_cache(maxsize=5_000)
def _parse(text: str, style: ParagraphStyle,
           bullet: str | None) -> tuple[ParagraphStyle, tuple[ABag, ...], object]:
    """ReportLab's markup parse of `text` in `style`, once per process: the markup paragraphs
    (safety tier leads, the words explained, sources, the disclaimer) are template text that
    repeats for every patient. Keyed by the text, the style object itself (a sheet's styles
    live as long as the process, and the key keeps them so) and the bullet."""
    paragraph = Paragraph(text, style, bullet)
    return paragraph.style, tuple(paragraph.frags), paragraph.bulletText


@functools.cache
def _prototypes(style: ParagraphStyle) -> tuple[ABag, ABag]:
    """The (bold, regular) fragments ReportLab's markup parser makes for `style`."""
    bold, regular = Paragraph("<b>x</b>y", style).frags
    return bold, regular


def _frag(prototype: ABag, text: str) -> ABag:
    """A fragment like `prototype` holding `text`, with lists of its own: what
    prototype.clone(text=..., link=[], us_lines=[]) makes, in a quarter of the time (a
    paragraph's fragments were 2% of a render)."""
    frag = prototype.__class__.__new__(prototype.__class__)
    attrs = frag.__dict__
    attrs.update(prototype.__dict__)
    attrs["text"] = text
    attrs["link"] = []
    attrs["us_lines"] = []
    return frag


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
        # What the line breaks depend on, for the process-wide cache (None: do not share).
        self._break_key = (None if frags is not None or text is None else
                           (_style_key(style), text, label, bulletText))
        if frags is not None or text is None:
            # ReportLab's own split() rebuilds paragraphs from fragments it already has.
            super().__init__(text, style, bulletText, frags=frags, **kwargs)
        elif label and _plain(label) and _plain(text):
            bold, regular = _prototypes(style)
            frags = [_frag(bold, label), _frag(regular, " " + _clean(text))]
            super().__init__(None, style, bulletText, frags=frags)
        elif label:
            self._parsed(f"<b>{para(label)}</b> {para(text)}", style, bulletText)
        elif _plain(text):
            frags = [_frag(_prototypes(style)[1], _clean(text))]
            super().__init__(None, style, bulletText, frags=frags)
        else:
            self._parsed(text, style, bulletText)

    def _parsed(self, text: str, style: ParagraphStyle, bulletText: str | None) -> None:  # noqa: N803
        # Each fragment is a fresh copy, its lists too: the parse is shared, the paragraph's
        # fragments are its own (as the parser's would be).
        parsed_style, frags, bullet = _parse(text, style, bulletText)
        super().__init__(None, parsed_style, bullet, frags=[
            f.clone(**{k: list(v) for k, v in f.__dict__.items() if isinstance(v, list)})
            for f in frags])

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        # Line breaks remembered per width: a paragraph is measured beside a picture and at
        # full width (to choose an arrangement), then again by KeepTogether and the frame.
        # Only this object's own results are reused (split() builds new paragraphs, and copies
        # may arrive without them), and only while it still holds the lines it made.
        memo = self.__dict__.get("_wrap_memo")
        if memo is None or memo[0] is not self.__dict__.get("frags"):
            memo = self._wrap_memo = (self.__dict__.get("frags"), {})
        hit = memo[1].get(availWidth)
        key = self.__dict__.get("_break_key")
        if hit is None and key is not None:
            hit = _BREAKS.get((key, availWidth))
        if hit is not None:
            self.width = availWidth
            self._wrapWidths, self.blPara, self.height = hit
            memo[1][availWidth] = hit
            return self.width, self.height
        frags = self.__dict__.get("frags")
        width, height = super().wrap(availWidth, availHeight)
        # ReportLab's line breaking swaps the paragraph's fragments for its own word list,
        # and split() then cuts that list instead of the lines. A paragraph whose breaks came
        # from the cache keeps its fragments, so without this a paragraph split over two pages
        # came out (invisibly) differently in a process's first render than in later ones.
        self.frags = frags
        memo[1][availWidth] = result = (self._wrapWidths, self.blPara, height)
        if key is not None:
            if len(_BREAKS) >= _BREAKS_LIMIT:
                _BREAKS.clear()
            _BREAKS[(key, availWidth)] = result
        return width, height


    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803
        # Drawing was a third of a render, most of it ReportLab's general machinery around
        # the text (pdf/textdraw.py); the same operators come out either way.
        if not draw_on(self, canvas, x, y, _sW):
            super().drawOn(canvas, x, y, _sW)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        # ReportLab's split edits the words of the lines it splits (it appends a space to the
        # last fragment of each line); those lines may be shared with other paragraphs and
        # later renders through the caches, so it gets a copy of its own.
        bl_para = self.__dict__.get("blPara")
        if bl_para is not None:
            self.blPara = _own_lines(bl_para, self.frags)
        parts = super().split(availWidth, availHeight)
        # The two parts are made from this paragraph's lines at this width, cut after the
        # first part's lines: with those in the key their own line breaks can be shared too
        # (large print splits a few paragraphs over pages in every render).
        key = self.__dict__.get("_break_key")
        if (key is not None and bl_para is not None and len(parts) == 2
                and self.width == availWidth):
            cut = len(parts[0].blPara.lines)
            parts[0]._break_key = ("head", key, availWidth, cut)
            parts[1]._break_key = ("tail", key, availWidth, cut)
        return parts


def _own_lines(bl_para: ABag, frags: list) -> ABag:
    """Lines ReportLab's split may edit without touching `bl_para`: a copy of each fragment
    it may append a space to (a shallow one: the text is a new string), or of everything
    where its edits go further (hyphenated words, processed fragments)."""
    # ReportLab 5.1's names for what it edits; on a version without them, a deep copy.
    hyphenated = getattr(rl_paragraph, "_SplitWordHY", None)
    processed = getattr(rl_paragraph, "_processed_frags", None)
    if hyphenated is None or processed is None:
        return copy.deepcopy(bl_para)
    if bl_para.kind == 0:
        # Single-style lines are only read, except a hyphenated last word, whose class changes.
        if any(isinstance(w, hyphenated) for _, words in bl_para.lines for w in words):
            return copy.deepcopy(bl_para)
        return bl_para
    if bl_para.kind != 1 or processed(frags):
        return copy.deepcopy(bl_para)
    return bl_para.clone(lines=[line.clone(words=[w.clone() for w in line.words])
                                for line in bl_para.lines])


# Line breaks shared across renders: template text (steps, cues, signs, FAQ) repeats for every
# patient, and breaking it is the largest single cost of a render. Keyed by everything the
# breaks depend on; ReportLab only reads the lines when it draws or splits, so sharing them
# cannot change the output (the byte-identity tests render twice and compare).
_BREAKS: dict[tuple[object, float], tuple[object, object, float]] = {}
_BREAKS_LIMIT = 20_000  # entries; a few MB at worst, then it starts over


def _style_key(style: ParagraphStyle) -> tuple[object, ...]:
    return (style.name, style.fontName, style.fontSize, style.leading, style.leftIndent,
            style.rightIndent, style.firstLineIndent, style.bulletFontName,
            style.bulletFontSize, style.bulletIndent, style.wordWrap, style.textColor)


class _Placed(Flowable):
    """A flowable placed without ReportLab's copy of the canvas state.

    Flowable.drawOn saves and restores some twenty canvas attributes around every flowable,
    in case its draw() changes them; these flowables' draw() methods change none (what they
    set, they set between saveState and restoreState), so only the PDF's own q/Q and the
    origin's move remain: the same operators.
    """

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803
        if self._showBoundary:
            super().drawOn(canvas, x, y, _sW)
            return
        matrix = canvas._currentMatrix
        canvas._code.append("q")
        canvas.translate(self._hAlignAdjust(x, _sW), y)
        self._drawOn(canvas)
        canvas._code.append("Q")
        canvas._currentMatrix = matrix


@functools.cache
def _pose_ops(key: str, width: float, height: float | None = None,
              phase: str = "start") -> tuple[str, float]:
    """The PDF drawing operators of a pose drawing, made once per process, and its height.

    The drawing holds only paths and colours (no fonts or images), so its operators need no
    page resources and can be replayed verbatim into any document.
    """
    drawing = drawing_for(key, width, height, phase)
    scratch = Canvas(io.BytesIO())
    start = len(scratch._code)
    renderPDF.draw(drawing, scratch, 0, 0)
    return " ".join(scratch._code[start:]), drawing.height


class PoseArt(_Placed):
    """A pose drawing replayed from cached operators instead of re-rendered shape by shape."""

    def __init__(self, key: str, width: float, height: float | None = None,
                 phase: str = "start") -> None:
        super().__init__()
        self._ops, self.height = _pose_ops(key, width, height, phase)
        self.width = width

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        # drawOn has already saved the graphics state (q) and moved the origin here; the
        # operators change no canvas attribute, so _Placed's drawOn suits.
        self.canv._code.append(self._ops)


class Figure(_Placed):
    """Framed pose pictures stacked top to bottom (an exercise's start above its end), each
    with its caption underneath, `width` wide."""

    def __init__(self, panels: list[tuple[PoseArt, Flowable]], frame: object, gap: float,
                 between: float = 0.0) -> None:
        super().__init__()
        # Not "_frame": platypus sets that attribute to the Frame the flowable is placed in.
        self._panels, self._ink, self._gap, self._between = panels, frame, gap, between

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self.width = max(art.width for art, _ in self._panels)
        self._cap_h = [caption.wrap(art.width, availHeight)[1] for art, caption in self._panels]
        self.height = sum(art.height + self._gap + h
                          for (art, _), h in zip(self._panels, self._cap_h, strict=True))
        self.height += self._between * (len(self._panels) - 1)
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        y = self.height
        for (art, caption), cap_h in zip(self._panels, self._cap_h, strict=True):
            y -= art.height
            art.drawOn(canv, 0, y)
            canv.saveState()
            canv.setStrokeColor(self._ink)
            canv.setLineWidth(0.75)
            canv.rect(0, y, art.width, art.height)
            canv.restoreState()
            y -= self._gap + cap_h
            caption.drawOn(canv, 0, y)
            y -= self._between


class SideBySide(_Placed):
    """A picture on the left and a column of flowables beside it, tops aligned.

    Lighter than a one-row Table (no cell styles or grid to compute), and unlike one it can
    always split: if it is taller than the space left on the page it falls back to stacking
    the picture above the column, which the frame can then break between paragraphs.
    """

    def __init__(self, left: Flowable, right: list[Flowable], left_width: float,
                 gap: float, top: list[Flowable] | None = None,
                 more: Flowable | None = None, keep: int = 0) -> None:
        """`top` is stacked above, full width. With `more`, the block may split in its column
        after at least `keep` items: the rest opens the next page under `more`."""
        super().__init__()
        self._left = left
        self._right = right
        self._left_width = left_width
        self._gap = gap
        self._top = top or []
        self._more = more
        self._keep = keep
        self._tried = False
        self._placed: list[tuple[Flowable, float]] = []

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self._top_placed, top_h = _stack(self._top, availWidth, availHeight)
        if self._top:
            top_h += self._top[-1].getSpaceAfter()
        _, left_h = self._left.wrap(self._left_width, availHeight)
        column = availWidth - self._left_width - self._gap
        self._placed, y = _stack(self._right, column, availHeight)
        self._left_h = left_h
        self._top_h = top_h
        self.width, self.height = availWidth, top_h + max(left_h, y)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        if self.wrap(availWidth, availHeight)[1] <= availHeight:
            return [self]
        if self._more is None or self._tried:
            # Taller than a page even at the top of one: stack it and let the frame break it.
            return [*self._top, self._left, *self._right]
        for k in range(len(self._right) - 1, max(self._keep, 1) - 1, -1):
            head = SideBySide(self._left, self._right[:k], self._left_width, self._gap,
                              self._top)
            if head.wrap(availWidth, availHeight)[1] <= availHeight:
                # The rest starts a page of its own: full width, under the "continued" line.
                return [head, PageBreak(), self._more, *self._right[k:]]
        # Not even the picture and the first steps fit: the whole block moves to the next
        # page (platypus wraps it there again; a second failure means it never will fit).
        self._tried = True
        return []

    def draw(self) -> None:
        for flowable, bottom in self._top_placed:
            flowable.drawOn(self.canv, 0, self.height - bottom)
        below_top = self.height - self._top_h
        self._left.drawOn(self.canv, 0, below_top - self._left_h)
        x = self._left_width + self._gap
        for flowable, bottom in self._placed:
            flowable.drawOn(self.canv, x, below_top - bottom)


def _stack(flowables: list[Flowable], width: float, avail: float) -> tuple[list[tuple[
        Flowable, float]], float]:
    """Wraps flowables stacked in a column: [(flowable, its bottom from the top)], height."""
    placed: list[tuple[Flowable, float]] = []
    y = 0.0
    for i, flowable in enumerate(flowables):
        if i:
            y += max(flowables[i - 1].getSpaceAfter(), flowable.getSpaceBefore())
        y += flowable.wrap(width, avail)[1]
        placed.append((flowable, y))
    return placed, y


def stacked_height(flowables: list[Flowable], width: float, avail: float) -> float:
    """Height of flowables stacked in a column `width` wide, with their spacing."""
    return _stack(flowables, width, avail)[1]


class Together(KeepTogether):
    """KeepTogether without its deep copy of the document's current frame on every wrap.

    ReportLab copies the frame so that flowables which generate content while they are
    measured (frame actions, indenters) cannot change the real one; nothing the handout puts
    in a group does, and the copy was a measured part of every render. With no frame to copy,
    the measuring is otherwise the same code, so the layout is too.
    """

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        doc = getattr(self.canv, "_doctemplate", None)
        frame = getattr(doc, "frame", None)
        if frame is None:
            return super().wrap(availWidth, availHeight)
        doc.frame = None
        try:
            return super().wrap(availWidth, availHeight)
        finally:
            doc.frame = frame


class Continued(_Placed):
    """Flowables kept together that, when they have to move to the next page, open there with
    a line saying what they continue (an exercise's tips after its picture and steps)."""

    def __init__(self, items: list[Flowable], heading: Flowable) -> None:
        super().__init__()
        self._items, self._heading, self._moved = items, heading, False

    def _flows(self) -> list[Flowable]:
        return [self._heading, *self._items] if self._moved else self._items

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self._placed, h = _stack(self._flows(), availWidth, availHeight)
        self.width, self.height = availWidth, h
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        if self.wrap(availWidth, availHeight)[1] <= availHeight:
            return [self]
        if self._moved:
            return self._flows()  # taller than a page even on its own: let it break
        # Platypus moves a flowable that will not split to the next frame and wraps it again.
        self._moved = True
        return []

    def draw(self) -> None:
        for flowable, bottom in self._placed:
            flowable.drawOn(self.canv, 0, self.height - bottom)


class Boxed(_Placed):
    """Groups of flowables inside one thick-bordered box, for the safety-netting tiers.

    It splits only between groups (a tier is never separated from its heading and action
    line); the part on the next page opens with `continued`, so a sign is never read without
    its instruction.
    """

    def __init__(self, groups: list[list[Flowable]], color: object, line: float, pad: float,
                 continued: Flowable | None = None, page_height: float = 0.0) -> None:
        super().__init__()
        self._page_height = page_height
        self._groups = groups
        self._color = color
        self._line = line
        self._pad = pad
        self._continued = continued

    def _items(self) -> list[Flowable]:
        return [f for g in self._groups for f in g]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        inner = availWidth - 2 * self._pad
        self._placed, h = _stack(self._items(), inner, availHeight)
        self.width, self.height = availWidth, h + 2 * self._pad
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        if self.wrap(availWidth, availHeight)[1] <= availHeight:
            return [self]
        for cut in range(len(self._groups) - 1, 0, -1):
            head = Boxed(self._groups[:cut], self._color, self._line, self._pad)
            if head.wrap(availWidth, availHeight)[1] <= availHeight:
                return [head, self._rest(self._groups[cut:])]
        # One group taller than the space: split it between its items, and repeat its lead
        # (the tier heading and action line, the first flowable with keepWithNext) overleaf.
        group = self._groups[0]
        whole = Boxed([group], self._color, self._line, self._pad)
        if whole.wrap(availWidth, availHeight)[1] <= self._page_height:
            return []  # it fits a page of its own: move it there whole
        lead = next((f for f in group if getattr(getattr(f, "style", None), "keepWithNext", 0)),
                    None)
        for cut in range(len(group) - 1, 1, -1):
            head = Boxed([group[:cut]], self._color, self._line, self._pad)
            if head.wrap(availWidth, availHeight)[1] <= availHeight:
                tail = ([lead] if lead is not None else []) + group[cut:]
                return [head, self._rest([tail, *self._groups[1:]])]
        return []

    def _rest(self, groups: list[list[Flowable]]) -> Boxed:
        if self._continued is not None:
            groups = [[self._continued, *groups[0]], *groups[1:]]
        return Boxed(groups, self._color, self._line, self._pad, self._continued,
                     self._page_height)

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setStrokeColor(self._color)
        canv.setLineWidth(self._line)
        half = self._line / 2
        canv.rect(half, half, self.width - self._line, self.height - self._line)
        canv.restoreState()
        for flowable, bottom in self._placed:
            flowable.drawOn(canv, self._pad, self.height - self._pad - bottom)


class Columns(_Placed):
    """Short items (warning signs) in `n` columns, filled top to bottom, balanced by height."""

    def __init__(self, items: list[Flowable], n: int, gap: float) -> None:
        super().__init__()
        self.items = items
        self._n = n
        self._gap = gap

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        col_w = (availWidth - self._gap * (self._n - 1)) / self._n
        heights = [f.wrap(col_w, availHeight)[1] + f.getSpaceAfter() for f in self.items]
        cols = _balanced(heights, self._n)
        self._cols, self._col_w, self._heights = cols, col_w, heights
        self.width = availWidth
        self.height = max(sum(heights[i] for i in col) for col in cols)
        return self.width, self.height

    def draw(self) -> None:
        for c, col in enumerate(self._cols):
            x = c * (self._col_w + self._gap)
            y = self.height
            for i in col:
                flowable = self.items[i]
                y -= self._heights[i]
                flowable.drawOn(self.canv, x, y + flowable.getSpaceAfter())


def _balanced(heights: list[float], n: int) -> list[list[int]]:
    """Item indexes split into at most `n` runs, in order, with the tallest run as short as
    possible (greedy against a rising limit: items are few, so this is cheap)."""
    if n <= 1 or len(heights) <= 1:
        return [list(range(len(heights)))]
    limit = max(max(heights), sum(heights) / n)
    while True:
        cols: list[list[int]] = [[]]
        acc = 0.0
        for i, h in enumerate(heights):
            if cols[-1] and acc + h > limit + 0.01:
                cols.append([])
                acc = 0.0
            cols[-1].append(i)
            acc += h
        if len(cols) <= n:
            return cols
        limit += min(heights)


class Grid(_Placed):
    """A light table drawn straight on the canvas: a bold label row over a value row
    (the dose grid), or a header row over empty tick boxes (the log). Cheaper than a
    platypus Table, which computes styles for every cell."""

    def __init__(self, header: list[str], rows: list[list[str]], widths: list[float],
                 font: str, bold: str, size: float, row_h: float, ink: object, rule: object,
                 boxes: int = 0, box: float = 0.0, label_column: bool = False) -> None:
        super().__init__()
        self._label_column = label_column
        self._header, self._rows, self._widths = header, rows, widths
        self._font, self._bold, self._size, self._row_h = font, bold, size, row_h
        self._ink, self._rule, self._boxes, self._box = ink, rule, boxes, box
        self.width = sum(widths)
        self.height = row_h * ((0 if label_column else 1) + len(rows))

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setStrokeColor(self._rule)
        canv.setLineWidth(1)
        canv.setFillColor(self._ink)
        pad = self._size * 0.35
        top = self.height
        xs = [0.0]
        for w in self._widths:
            xs.append(xs[-1] + w)
        table = self._rows if self._label_column else [self._header, *self._rows]
        for r, row in enumerate(table):
            y = top - (r + 1) * self._row_h
            for c, text in enumerate(row):
                bold = c == 0 if self._label_column else r == 0
                canv.setFont(self._bold if bold else self._font, self._size)
                if text:
                    canv.drawString(xs[c] + pad, y + (self._row_h - self._size) / 2 + 2, text)
                elif r and self._boxes and c and not self._label_column:
                    # Tick boxes: one per session that day, side by side, centred.
                    span = self._boxes * self._box + (self._boxes - 1) * self._box * 0.3
                    x0 = xs[c] + (self._widths[c] - span) / 2
                    for b in range(self._boxes):
                        canv.rect(x0 + b * self._box * 1.3, y + (self._row_h - self._box) / 2,
                                  self._box, self._box)
        for x in xs:
            canv.line(x, 0, x, top)
        for r in range(len(table) + 1):
            canv.line(0, top - r * self._row_h, self.width, top - r * self._row_h)
        canv.restoreState()
