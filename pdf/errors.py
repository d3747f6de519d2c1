"""Errors the handout renderer raises for input it cannot draw faithfully."""

from __future__ import annotations


class UnrenderableText(ValueError):
    """Text holds characters the embedded font has no glyph for.

    The message names the snapshot field and the code points, never the text itself: the text
    may be a patient's name, and error messages end up in logs.
    """

    def __init__(self, field: str, code_points: tuple[int, ...]) -> None:
        self.field = field
        self.code_points = code_points
        shown = ", ".join(f"U+{cp:04X}" for cp in code_points)
        super().__init__(
            f"{field} contains characters the handout font cannot draw: {shown}"
        )
