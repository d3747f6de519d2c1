"""Pure rendering of patient handouts: a plan snapshot in, PDF (or accessible HTML) out."""

from pdf.errors import UnrenderableText
from pdf.render import render_handout

__all__ = ["UnrenderableText", "render_handout"]
