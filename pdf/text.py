"""User text on its way into the PDF: glyph coverage checks and Paragraph-markup escaping."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from xml.sax.saxutils import escape

from pdf.coverage import drawable_code_points
from pdf.errors import UnrenderableText
from plans.model import HandoutSnapshot

# Whitespace the layout turns into spaces or line breaks, so no glyph is needed.
_LAYOUT_WHITESPACE = frozenset(map(ord, "\n\r\t"))


@functools.cache
def _drawable() -> frozenset[int]:
    """Code points both embedded faces have a real glyph for, plus layout whitespace."""
    return drawable_code_points() | _LAYOUT_WHITESPACE


@functools.lru_cache(maxsize=20_000)
def _all_drawable(text: str) -> bool:
    """Whether the font draws all of `text`, once per distinct text: template text repeats for
    every patient."""
    return _drawable().issuperset(map(ord, text))


def check_drawable(field: str, text: str) -> None:
    """Raises UnrenderableText naming `field` when the font lacks a glyph for part of `text`."""
    if _all_drawable(text):
        return
    drawable = _drawable()
    missing = list(dict.fromkeys(ord(ch) for ch in text if ord(ch) not in drawable))
    if missing:
        raise UnrenderableText(field, tuple(missing))


def snapshot_texts(snapshot: HandoutSnapshot) -> Iterator[tuple[str, str]]:
    """Every (field, text) of the snapshot that appears on the handout."""
    plan = snapshot.plan
    clinic = snapshot.clinic
    yield "clinician", snapshot.clinician
    yield "plan_id", snapshot.plan_id
    yield "created_on", snapshot.created_on
    yield "clinic.name", clinic.name
    yield "clinic.contact", clinic.contact
    yield "clinic.emergency_number", clinic.emergency_number
    yield "clinic.out_of_hours", clinic.out_of_hours
    yield "plan.patient_name", plan.patient_name
    yield "plan.title", plan.title
    yield "plan.summary", plan.summary
    yield "plan.habit_anchor", plan.habit_anchor
    yield "plan.notes", plan.notes
    for i, ex in enumerate(plan.exercises):
        base = f"plan.exercises[{i}]"
        for name in ("name", "purpose", "feel", "back_off", "dose_text", "adapted_because",
                     "illustration_alt", "phase"):
            yield f"{base}.{name}", getattr(ex, name)
        for j, step in enumerate(ex.steps):
            yield f"{base}.steps[{j}]", step
        for j, cue in enumerate(ex.cues):
            yield f"{base}.cues[{j}]", cue
    for i, flag in enumerate(plan.red_flags):
        yield f"plan.red_flags[{i}].text", flag.text
    for i, note in enumerate(plan.phase_notes):
        yield f"plan.phase_notes[{i}].name", note.name
        yield f"plan.phase_notes[{i}].note", note.note
    if plan.guide is not None:
        guide = plan.guide
        for i, tier in enumerate(guide.safety_net):
            yield f"plan.guide.safety_net[{i}].heading", tier.heading
            yield f"plan.guide.safety_net[{i}].action", tier.action
            for j, sign in enumerate(tier.signs):
                yield f"plan.guide.safety_net[{i}].signs[{j}]", sign
        for name in ("pain_rule", "floor_note", "log_help", "review"):
            yield f"plan.guide.{name}", getattr(guide, name)
        for i, term in enumerate(guide.terms):
            yield f"plan.guide.terms[{i}]", f"{term.word} {term.meaning}"
    for i, prompt in enumerate(plan.tracking_prompts):
        yield f"plan.tracking_prompts[{i}]", prompt
    for i, entry in enumerate(plan.faq):
        yield f"plan.faq[{i}].question", entry.question
        yield f"plan.faq[{i}].answer", entry.answer
    for i, source in enumerate(plan.sources):
        yield f"plan.sources[{i}].title", source.title
        yield f"plan.sources[{i}].publisher", source.publisher


def check_snapshot(snapshot: HandoutSnapshot) -> None:
    """Raises UnrenderableText for the first field holding a character the font cannot draw."""
    for field, text in snapshot_texts(snapshot):
        check_drawable(field, text)


def para(text: str) -> str:
    """User text as safe Paragraph markup: <, > and & shown literally, line breaks kept.

    A line break may arrive as CR LF (what browsers send from a textarea), LF, or a lone CR
    (old Mac text pasted in); each becomes one <br/>."""
    return escape(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br/>")
