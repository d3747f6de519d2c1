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


def string_width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


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
    # Pose pictures: every exercise's picture has this box (at least 1.5 inch tall; larger,
    # never smaller, in large print).
    picture_width: float = 2.4 * inch
    picture_height: float = 1.6 * inch
    grid_size: float = 12.0  # dose grid and log
    tick_box: float = 16.0
    footer_lines: int = 3

    @property
    def frame_width(self) -> float:
        return self.page_size[0] - 2 * self.margin

    @property
    def bottom_margin(self) -> float:
        """Bottom of the text frame: the page margin, or above the footer if that is higher.

        The footer lives inside the bottom margin, its lowest line 0.3 inch from the edge: clear
        of most printers' unprintable strip, and it leaves the frame a full page.
        """
        footer_top = FOOTER_BASELINE + self.footer_size * 1.25 * self.footer_lines + 6
        return max(self.margin, footer_top)

    @property
    def frame_height(self) -> float:
        return self.page_size[1] - self.margin - self.bottom_margin

    def __getitem__(self, name: str) -> ParagraphStyle:
        return self.styles[name]


@functools.cache
def sheet_for(options: HandoutOptions) -> Sheet:
    """The style sheet for these options; built once per option set.

    Sizes are the compact end of REFERENCES.md's targets (docs/handout.md, "Type and colour"
    and "Page counts"): body 12 pt at 1.2 line spacing with 0.5-inch margins; large print
    16 pt at 1.4 with 0.75-inch margins.
    """
    register_fonts()
    large = options.large_print
    body = 16.0 if large else 12.0
    leading = body * (1.4 if large else 1.2)
    margin = 0.75 * inch if large else 0.5 * inch
    page = LETTER if options.page_size is PageSize.LETTER else A4
    head = body
    title = body * 1.5
    small = max(10.0, body - 2)

    def style(name: str, size: float, lead: float, font: str = REGULAR, **kw: object) -> \
            ParagraphStyle:
        # No widows or orphans: a lone line at the top or foot of a page is easy to lose.
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=lead,
                              textColor=kw.pop("textColor", INK), alignment=TA_LEFT,
                              allowWidows=0, allowOrphans=0, **kw)

    styles = {
        "body": style("body", body, leading, spaceAfter=body * 0.2),
        "body_gap": style("body_gap", body, leading, spaceBefore=body * 0.2),
        "body_bold_gap": style("body_bold_gap", body, leading, spaceBefore=body * 0.2),
        "label": style("label", body, leading, BOLD, spaceBefore=body * 0.2, keepWithNext=1),
        "small": style("small", small, small * 1.3, spaceAfter=body * 0.3),
        "caption": style("caption", small, small * 1.25),
        "title": style("title", title, title * 1.2, BOLD, spaceAfter=body * 0.3),
        # Headings stay with what follows them: never the last line of a page.
        "h1": style("h1", body * 1.35, body * 1.65, BOLD, spaceBefore=body * 0.5,
                    spaceAfter=body * 0.3, keepWithNext=1),
        "phase": style("phase", body * 1.2, body * 1.5, BOLD, spaceBefore=body * 0.4,
                       spaceAfter=body * 0.2, keepWithNext=1),
        "h2": style("h2", body * 1.15, body * 1.45, BOLD, spaceBefore=body * 0.2,
                    spaceAfter=body * 0.2, keepWithNext=1),
        "h3": style("h3", body * 1.05, body * 1.35, BOLD, spaceBefore=body * 0.5,
                    spaceAfter=body * 0.1, keepWithNext=1),
        "step": style("step", body, leading, leftIndent=body * 1.4, firstLineIndent=0,
                      bulletIndent=0, bulletFontName=BOLD, bulletFontSize=body,
                      spaceAfter=body * 0.05),
        "bullet": style("bullet", body, leading, leftIndent=body * 1.2, bulletIndent=body * 0.2,
                        bulletFontName=REGULAR, bulletFontSize=body, spaceAfter=body * 0.1),
        "stop_item": style("stop_item", body, body * 1.25, leftIndent=body * 1.1,
                           bulletIndent=body * 0.1, bulletFontName=REGULAR,
                           bulletFontSize=body, spaceAfter=body * 0.05),
        "stop_title": style("stop_title", title, title * 1.15, BOLD, textColor=WARNING),
        "stop_tier": style("stop_tier", body * 1.1, body * 1.4, BOLD, textColor=WARNING,
                           spaceBefore=body * 0.3, keepWithNext=1),
        "tier_lead": style("tier_lead", body, body * 1.3, spaceBefore=body * 0.4,
                           spaceAfter=body * 0.2, keepWithNext=1),
        "stop_lead": style("stop_lead", body, leading, BOLD, textColor=WARNING),
        "slow_lead": style("slow_lead", body, leading, BOLD),
        "cell": style("cell", body, leading),
        "cell_bold": style("cell_bold", body, leading, BOLD),
        "header": style("header", head, head * 1.25),
        "header_clinic": style("header_clinic", head * 1.15, head * 1.35, BOLD),
    }
    return Sheet(large_print=large, page_size=page, margin=margin, body_size=body,
                 leading=leading, footer_size=12.0 if large else 10.0, styles=styles,
                 picture_width=(2.6 if large else 2.1) * inch,
                 picture_height=(1.75 if large else 1.5) * inch,
                 grid_size=body, tick_box=18.0 if large else 15.0,
                 footer_lines=3)
