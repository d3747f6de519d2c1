"""The handout's one style sheet: embedded fonts, palette, page metrics and paragraph styles."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from plans.model import HandoutOptions, PageSize

FONT_DIR = Path(__file__).parent / "fonts"
REGULAR = "LimberSans"
BOLD = "LimberSans-Bold"

# Dark on white throughout; colour only ever repeats what words already say.
INK = colors.HexColor("#111111")
MUTED = colors.HexColor("#3d3d3d")
WARNING = colors.HexColor("#a30000")  # dark red: 7.9:1 on white, still legible printed in grey
RULE = colors.HexColor("#6b6b6b")
FOOTER_BASELINE = 0.3 * inch
TINT = colors.HexColor("#f2f2f2")


class _WidthCachingTTFont(TTFont):
    """A TTFont that remembers the widths of the words it has measured.

    Line breaking measures every word of every paragraph, in pure Python, character by
    character; handouts repeat the same template words across patients, so a bounded cache of
    (text, size) -> width removes most of that work. Widths depend only on the font file.
    """

    _LIMIT = 100_000  # entries; about 10 MB at worst, then it starts over

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path)
        self._widths: dict[tuple[str, float], float] = {}

    def stringWidth(self, text: str, size: float, encoding: str = "utf8") -> float:  # noqa: N802
        key = (text, size)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) >= self._LIMIT:
                self._widths.clear()
            width = self._widths[key] = super().stringWidth(text, size, encoding)
        return width


@functools.cache
def register_fonts() -> tuple[TTFont, TTFont]:
    """Registers the embedded DejaVu faces once per process and returns (regular, bold).

    Parsing a TTF costs tens of milliseconds; doing it per render would dominate render time.
    """
    regular = _WidthCachingTTFont(REGULAR, str(FONT_DIR / "DejaVuSans.ttf"))
    bold = _WidthCachingTTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(bold)
    # Maps <b> in Paragraph markup to the bold face; there is no italic on purpose.
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR,
                                  boldItalic=BOLD)
    return regular, bold


@dataclass(frozen=True)
class Sheet:
    """Everything a builder needs to lay out one handout at one print size."""

    large_print: bool
    page_size: tuple[float, float]
    margin: float
    body_size: float
    leading: float
    footer_size: float
    styles: dict[str, ParagraphStyle]

    @property
    def frame_width(self) -> float:
        return self.page_size[0] - 2 * self.margin

    @property
    def bottom_margin(self) -> float:
        """Bottom of the text frame: the page margin, or above the footer if that is higher.

        The footer lives inside the bottom margin, its lowest line 0.3 inch from the edge: clear
        of most printers' unprintable strip, and it leaves the frame a full page.
        """
        footer_top = FOOTER_BASELINE + self.footer_size * 2.5 + 6
        return max(self.margin, footer_top)

    @property
    def frame_height(self) -> float:
        return self.page_size[1] - self.margin - self.bottom_margin

    def __getitem__(self, name: str) -> ParagraphStyle:
        return self.styles[name]


@functools.cache
def sheet_for(options: HandoutOptions) -> Sheet:
    """The style sheet for these options; built once per option set."""
    register_fonts()
    large = options.large_print
    # Body 14 pt (older readers); large print 18 pt at 1.5 line spacing with 1-inch margins.
    body = 18.0 if large else 14.0
    leading = body * (1.5 if large else 1.3)
    margin = 1.0 * inch if large else 0.75 * inch
    page = LETTER if options.page_size is PageSize.LETTER else A4
    # Page 1 must hold the header and as much of the warning box as possible, so in large
    # print the header lines (reference facts, not instructions) sit at the 16 pt floor of
    # the large-print range and the title is not scaled up as far.
    head = 16.0 if large else body
    title = body * (1.5 if large else 1.8)

    def style(name: str, size: float, lead: float, font: str = REGULAR, **kw: object) -> \
            ParagraphStyle:
        # No widows or orphans: a lone line at the top or foot of a page is easy to lose.
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=lead,
                              textColor=kw.pop("textColor", INK), alignment=TA_LEFT,
                              allowWidows=0, allowOrphans=0, **kw)

    styles = {
        "body": style("body", body, leading, spaceAfter=body * 0.4),
        "small": style("small", body - 2, (body - 2) * 1.3, textColor=MUTED),
        "title": style("title", title, title * 1.2, BOLD, spaceAfter=body * 0.2),
        "subtitle": style("subtitle", body * 1.15, body * 1.45, spaceAfter=body * 0.6),
        # Headings stay with what follows them: never the last line of a page.
        "h1": style("h1", body * 1.45, body * 1.8, BOLD, spaceBefore=body * 0.8,
                    spaceAfter=body * 0.4, keepWithNext=1),
        "h2": style("h2", body * 1.2, body * 1.5, BOLD, spaceBefore=body * 0.3,
                    spaceAfter=body * 0.25, keepWithNext=1),
        "dose": style("dose", body, leading, BOLD, spaceAfter=body * 0.4),
        "step": style("step", body, leading, leftIndent=body * 1.6, firstLineIndent=0,
                      bulletIndent=0, bulletFontName=BOLD, bulletFontSize=body,
                      spaceAfter=body * 0.2),
        "bullet": style("bullet", body, leading, leftIndent=body * 1.2, bulletIndent=body * 0.2,
                        bulletFontName=REGULAR, bulletFontSize=body, spaceAfter=body * 0.15),
        # Warning signs are short separate items with space between them, so inside the box
        # large print runs at 1.35 line spacing: that is what lets both urgent tiers start on
        # page 1 at 18 pt.
        "stop_item": style("stop_item", body, body * (1.35 if large else 1.3),
                           leftIndent=body * 1.2, bulletIndent=body * 0.2, bulletFontName=REGULAR,
                           bulletFontSize=body, spaceAfter=body * 0.15),
        "stop_title": style("stop_title", title, title * 1.2, BOLD, textColor=WARNING),
        "stop_tier": style("stop_tier", body * 1.05, body * 1.4, BOLD, textColor=WARNING,
                           spaceBefore=body * 0.2),
        "cell": style("cell", body, leading),
        "cell_bold": style("cell_bold", body, leading, BOLD),
        "header": style("header", head, head * 1.3),
        "header_clinic": style("header_clinic", head * 1.15, head * 1.4, BOLD),
    }
    return Sheet(large_print=large, page_size=page, margin=margin, body_size=body,
                 leading=leading, footer_size=14.0 if large else 12.0, styles=styles)
