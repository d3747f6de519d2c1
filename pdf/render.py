"""Renders a handout snapshot to PDF bytes: document template, page decorations, metadata."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from pdf import sections
from pdf import styles as st
from pdf.styles import Sheet, sheet_for
from pdf.text import check_snapshot
from plans.model import HandoutOptions, HandoutSnapshot
from plans.snapshot import snapshot_to_dict

LANGUAGE = "en"
SUBJECT = "Home exercise plan"


def content_id(snapshot: HandoutSnapshot) -> str:
    """First 12 hex digits of the SHA-256 of the snapshot's canonical JSON.

    The snapshot, not the template hash: two patients on one template with different doses get
    different ids, so a printed page can be matched to exactly the revision it came from.
    """
    canonical = json.dumps(snapshot_to_dict(snapshot), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


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

    def _fit(self, text: str, font: str, size: float, width: float) -> float:
        """The largest size up to `size` at which `text` fits `width` (long clinic contacts)."""
        measured = stringWidth(text, font, size)
        return size if measured <= width else max(8.0, size * width / measured)

    def _draw_footer(self, total: int) -> None:
        sheet = self._sheet
        size = sheet.footer_size
        left = sheet.margin
        right = sheet.page_size[0] - sheet.margin
        width = right - left
        y = st.FOOTER_BASELINE + size * 1.3  # inside the bottom margin; see Sheet.bottom_margin
        self.saveState()
        self.setStrokeColor(st.RULE)
        self.setLineWidth(0.75)
        self.line(left, y + size * 1.2, right, y + size * 1.2)
        self.setFillColor(st.INK)
        page = f"Page {self._pageNumber} of {total}"
        self.setFont(st.BOLD, size)
        self.drawString(left, y, page)
        ids = self._footer[0]
        ids_size = self._fit(ids, st.REGULAR, size, width - stringWidth(page, st.BOLD, size) - 12)
        self.setFont(st.REGULAR, ids_size)
        self.drawRightString(right, y, ids)
        contact = self._footer[1]
        self.setFont(st.REGULAR, self._fit(contact, st.REGULAR, size, width))
        self.drawString(left, y - size * 1.3, contact)
        self.restoreState()


def _story(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    plan = snapshot.plan
    return [
        *sections.header(snapshot, sheet),
        *sections.stop_and_get_help(snapshot, sheet),
        *sections.about_the_plan(plan, sheet),
        *sections.week_at_a_glance(plan, sheet),
        *sections.slow_down(snapshot, sheet),
        *sections.exercises(plan, sheet),
        *sections.tracking_sheet(plan, sheet),
        *sections.faq(plan, sheet),
        *sections.notes(plan, sheet),
        *sections.sources(plan, sheet),
        *sections.disclaimer(snapshot, sheet),
    ]


def render_handout_with_pages(snapshot: HandoutSnapshot,
                              options: HandoutOptions) -> tuple[bytes, int]:
    """The handout PDF and its page count.

    Raises UnrenderableText when a field holds characters the embedded font cannot draw.
    """
    check_snapshot(snapshot)
    sheet = sheet_for(options)
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
    footer = (
        f"Plan {snapshot.plan_id}, version {snapshot.revision} · ID {content_id(snapshot)}",
        f"{snapshot.clinic.name} · {snapshot.clinic.contact}",
    )
    canvasmaker = functools.partial(_DecoratedCanvas, footer=footer, sheet=sheet,
                                    pdf_date=_pdf_date(snapshot.created_on))
    doc.build(_story(snapshot, sheet), canvasmaker=canvasmaker)
    return buffer.getvalue(), doc.page


def render_handout(snapshot: HandoutSnapshot, options: HandoutOptions) -> bytes:
    """The handout PDF for this snapshot and these options; same input, same bytes.

    Raises UnrenderableText when a field holds characters the embedded font cannot draw.
    """
    return render_handout_with_pages(snapshot, options)[0]
