"""Renders a handout snapshot to PDF bytes: document template, page decorations, metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
from typing import Any

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from pdf import sections
from pdf import styles as st
from pdf.content import content_id, plan_code
from pdf.styles import Sheet, sheet_for
from pdf.text import check_snapshot
from plans.model import HandoutOptions, HandoutSnapshot

__all__ = ["content_id", "page_sheet", "render_handout", "render_handout_with_pages"]

LANGUAGE = "en"
SUBJECT = "Home exercise plan"


def _pdf_date(created_on: str) -> str:
    """The snapshot's date as a PDF date; the renderer never reads the clock."""
    try:
        day = dt.date.fromisoformat(created_on)
    except ValueError:
        day = dt.date(2000, 1, 1)
    return f"D:{day:%Y%m%d}000000+00'00'"


class _DecoratedCanvas(Canvas):
    """Holds every page until the end so each footer can say "Page X of Y"."""

    def __init__(self, *args: Any, footer: tuple[str, str], sheet: Sheet, pdf_date: str,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._footer = footer
        self._sheet = sheet
        # Creation and modification dates come from the snapshot, so bytes are reproducible.
        self._doc.setDateFormatter(lambda *_parts: pdf_date)

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        self._pages.clear()
        super().save()

    def _draw_footer(self, total: int) -> None:
        """Page X of Y and the plan code on one line; the clinic's name and contact wrapped
        under it at the footer size (never smaller), cut with "..." after the lines the
        bottom margin holds."""
        sheet = self._sheet
        size = sheet.footer_size
        lead = size * 1.25
        left = sheet.margin
        right = sheet.page_size[0] - sheet.margin
        lines = _footer_lines(self._footer[1], size, right - left, sheet.footer_lines - 1)
        y = st.FOOTER_BASELINE + lead * (sheet.footer_lines - 1)
        self.saveState()
        self.setStrokeColor(st.RULE)
        self.setLineWidth(0.75)
        self.line(left, y + size * 1.2, right, y + size * 1.2)
        self.setFillColor(st.INK)
        self.setFont(st.BOLD, size)
        self.drawString(left, y, f"Page {self._pageNumber} of {total}")
        self.setFont(st.REGULAR, size)
        self.drawRightString(right, y, self._footer[0])
        for line in lines:
            y -= lead
            self.drawString(left, y, line)
        self.restoreState()


@functools.lru_cache(maxsize=64)
def _footer_lines(text: str, size: float, width: float, keep: int) -> list[str]:
    """The clinic's footer lines, cut with "..." after `keep`: the same on every page of a
    handout, so worked out once, not per page. Callers only read the list."""
    lines = simpleSplit(text, st.REGULAR, size, width)
    if len(lines) > keep:
        lines = lines[:keep]
        last = lines[-1]
        while last and stringWidth(last + " ...", st.REGULAR, size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + " ..."
    return lines


def _story(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """The handout in reading order: safety first, then the plan at a glance and the
    clinician's notes, how to do it safely, the exercises by phase, the log, then the rest."""
    plan = snapshot.plan
    return [
        *sections.header(snapshot, sheet),
        *sections.stop_and_get_help(snapshot, sheet),
        *sections.week_at_a_glance(plan, sheet),
        *sections.notes(plan, sheet),
        *sections.about_the_plan(plan, sheet),
        *sections.how_to(plan, sheet),
        *sections.exercises(plan, sheet),
        *sections.tracking_sheet(plan, sheet),
        *sections.faq(plan, sheet),
        *sections.sources(plan, sheet),
        *sections.disclaimer(snapshot, sheet),
    ]


def _footer(snapshot: HandoutSnapshot) -> tuple[str, str]:
    return (f"Plan code {plan_code(snapshot)}, revision {snapshot.revision}",
            _clinic_line(snapshot))


def _clinic_line(snapshot: HandoutSnapshot) -> str:
    clinic = snapshot.clinic
    return " · ".join(p for p in (clinic.name, clinic.contact) if p)


def page_sheet(snapshot: HandoutSnapshot, options: HandoutOptions) -> Sheet:
    """The style sheet for this handout's pages: the footer keeps a second line for the clinic
    only when its name and contact need one, and the frame gets the room otherwise."""
    return _page_sheet(options, _clinic_line(snapshot))


@functools.lru_cache(maxsize=256)
def _page_sheet(options: HandoutOptions, clinic_line: str) -> Sheet:
    # Once per clinic and option set, not per render: wrapping the line and building a
    # sheet were 1.5% of a render.
    sheet = sheet_for(options)
    lines = simpleSplit(clinic_line, st.REGULAR, sheet.footer_size, sheet.frame_width)
    return dataclasses.replace(sheet, footer_lines=1 + min(max(len(lines), 1), 2))


def render_handout_with_pages(snapshot: HandoutSnapshot,
                              options: HandoutOptions) -> tuple[bytes, int]:
    """The handout PDF and its page count.

    Raises UnrenderableText when a field holds characters the embedded font cannot draw.
    """
    check_snapshot(snapshot)
    sheet = page_sheet(snapshot, options)
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=sheet.page_size,
        leftMargin=sheet.margin,
        rightMargin=sheet.margin,
        topMargin=sheet.margin,
        bottomMargin=sheet.bottom_margin,
        title=sections.HANDOUT_TITLE,
        author=snapshot.clinic.name,
        subject=SUBJECT,
        creator="Limber",
        keywords="",
        lang=LANGUAGE,
        invariant=1,
        # Without these the canvas declares Helvetica on every page: an unembedded font.
        initialFontName=st.REGULAR,
        initialFontSize=sheet.body_size,
        initialLeading=sheet.leading,
        displayDocTitle=True,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="handout", frames=[frame])])
    canvasmaker = functools.partial(_DecoratedCanvas, footer=_footer(snapshot), sheet=sheet,
                                    pdf_date=_pdf_date(snapshot.created_on))
    doc.build(_story(snapshot, sheet), canvasmaker=canvasmaker)
    return buffer.getvalue(), doc.page


def render_handout(snapshot: HandoutSnapshot, options: HandoutOptions) -> bytes:
    """The handout PDF for this snapshot and these options; same input, same bytes.

    Raises UnrenderableText when a field holds characters the embedded font cannot draw.
    """
    return render_handout_with_pages(snapshot, options)[0]
