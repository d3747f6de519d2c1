"""Which characters of a text the handout cannot print, so such text is refused when submitted.

A handout is rendered later, by a worker, with two embedded fonts; text those fonts cannot draw
used to be accepted and then fail every render. This module answers the question at the door,
from plans/data/handout_glyphs.txt (generated from the real font files by `python -m
pdf.coverage`; a test keeps it current), so that plans/ stays free of ReportLab.

Besides missing glyphs, three more kinds of text are refused:
- control, format, private-use, unassigned and separator characters (Unicode categories C*, Zl,
  Zp) even where the font happens to have a glyph: they are invisible or change how the
  surrounding text reads (a right-to-left override, a zero-width space), so the printed page
  would not say what the clinician saw. Line breaks and tabs pass in multi-line fields only.
- right-to-left letters (Hebrew, Arabic, ...): the fonts have glyphs for many of them, but the
  renderer lays text out left to right without shaping, so a Hebrew name would print backwards
  and Arabic letters unjoined.
- text made only of invisible characters (spaces, fillers, marks with nothing to sit on): it
  looks like a value in a form but prints as nothing.

Messages name characters by code point and Unicode name, never by quoting the text: the text
may be a patient's name, and messages can end up in logs.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

GLYPHS_FILE = Path(__file__).parent / "data" / "handout_glyphs.txt"

# Unicode categories refused even when the font has a glyph (see the module docstring).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Bidirectional classes of right-to-left letters (see the module docstring).
_RIGHT_TO_LEFT = frozenset({"R", "AL"})
# Layout whitespace a multi-line field (notes) may hold: the renderer turns it into line breaks
# and spaces, so it needs no glyph.
_MULTILINE_WHITESPACE = frozenset("\n\r\t")
# Letters and symbols that draw as blank space; a value made only of these prints as nothing.
_BLANK_GLYPHS = frozenset({0x115F, 0x1160, 0x2800, 0x3164, 0xFFA0})
_SPOKEN = {0x09: "(a tab)", 0x0A: "(a line break)", 0x0D: "(a line break)"}
# At most this many distinct characters are named in one message; the rest are counted.
_NAMED = 5


@dataclass(frozen=True)
class TextProblem:
    """One field's text the handout cannot print: the field, a message for the person who
    typed it, and the refused code points (empty when the text is only invisible)."""

    field: str
    message: str
    code_points: tuple[int, ...] = ()


@functools.cache
def handout_glyphs() -> frozenset[int]:
    """Code points both handout faces draw, read from the generated list."""
    out: set[int] = set()
    for line in GLYPHS_FILE.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        low, _, high = line.partition("-")
        out.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(out)


def unprintable(text: str, *, multiline: bool = False) -> tuple[int, ...]:
    """The distinct code points of `text`, in order of first appearance, that a handout cannot
    print faithfully."""
    glyphs = handout_glyphs()
    bad: dict[int, None] = {}
    for ch in text:
        if multiline and ch in _MULTILINE_WHITESPACE:
            continue
        cp = ord(ch)
        if cp not in glyphs or unicodedata.category(ch) in _REFUSED_CATEGORIES \
                or unicodedata.bidirectional(ch) in _RIGHT_TO_LEFT:
            bad[cp] = None
    return tuple(bad)


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ord(ch) not in _BLANK_GLYPHS


def only_invisible(text: str) -> bool:
    """True for a non-empty text with nothing a reader would see on paper."""
    return bool(text) and not any(_visible(ch) for ch in text)


def describe(code_points: Iterable[int]) -> str:
    """'U+4E2D CJK UNIFIED IDEOGRAPH-4E2D, U+0007 (a control character)': code points and
    names, never the characters themselves."""
    points = list(code_points)
    parts = []
    for cp in points[:_NAMED]:
        try:
            name = _SPOKEN.get(cp) or unicodedata.name(chr(cp))
        except ValueError:  # controls, surrogates and unassigned code points have no name
            kind = unicodedata.category(chr(cp))
            name = "(a control character)" if kind == "Cc" else "(an unnamed character)"
        parts.append(f"U+{cp:04X} {name}")
    if len(points) > _NAMED:
        parts.append(f"and {len(points) - _NAMED} more")
    return ", ".join(parts)


def text_problem(field: str, text: str, *, multiline: bool = False) -> TextProblem | None:
    """Why `text` cannot go on a handout, or None when it can. Empty text is not a problem
    here: whether a field is required is the caller's rule."""
    if not text:
        return None
    bad = unprintable(text, multiline=multiline)
    if bad:
        these = "this character" if len(bad) == 1 else "these characters"
        return TextProblem(field, (
            f"The handout cannot print {these}: {describe(bad)}. Remove or replace "
            f"{'it' if len(bad) == 1 else 'them'}; the handout prints Latin, Greek and Cyrillic "
            "letters, digits and common punctuation."), bad)
    if only_invisible(text):
        return TextProblem(field, "This has only spaces or invisible characters, which print "
                                  "as nothing. Write it in letters or digits.")
    return None


def text_problems(texts: Iterable[tuple[str, str | None, bool]]) -> list[TextProblem]:
    """Every problem of several (field, text, multiline) at once, so one answer can list them
    all."""
    out = []
    for field, text, multiline in texts:
        found = text_problem(field, text or "", multiline=multiline)
        if found is not None:
            out.append(found)
    return out
