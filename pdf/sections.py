"""Builders for each part of the handout: a snapshot (or part of it) in, flowables out."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    Spacer,
    Table,
    TableStyle,
)

from pdf import styles as st
from pdf.flowables import Para, PoseArt, SideBySide
from pdf.styles import Sheet
from pdf.text import para
from plans.model import HandoutSnapshot, Plan, RedFlag, ResolvedExercise, Tier

HANDOUT_TITLE = "Your home exercise plan"


def _logo(b64: str, height: float) -> Image | None:
    """The clinic logo scaled to `height`, or None when it is absent or not a readable image.

    A broken logo is the clinic's configuration problem, never a reason to withhold a handout.
    """
    if not b64:
        return None
    try:
        data = base64.b64decode(b64, validate=True)
        reader = ImageReader(io.BytesIO(data))
        w, h = reader.getSize()
    except (binascii.Error, ValueError, OSError, SyntaxError, TypeError):
        return None
    except Exception:  # noqa: BLE001 - PIL raises many types for corrupt images; skip the logo
        return None
    if not w or not h:
        return None
    return Image(io.BytesIO(data), width=height * w / h, height=height)


def _table_style(commands: list[tuple[object, ...]]) -> TableStyle:
    """A table style whose cell font is the embedded face.

    A Table sets its cell font on the canvas even when every cell is a flowable; left at the
    default that is Helvetica, which would then sit unembedded in every page's resources.
    """
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), st.REGULAR), *commands])


def _plain_table(rows: list[list[object]], widths: list[float]) -> Table:
    """A borderless layout table: the grid only places things side by side."""
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def header(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """Clinic, logo and contact; who the plan is for, by whom, when, and which plan revision.

    Kept compact so that, even in large print, the warning box starts high on page 1.
    """
    clinic = snapshot.clinic
    width = sheet.frame_width
    clinic_cell: list[Flowable] = [
        Para(para(clinic.name), sheet["header_clinic"]),
        Para(para(clinic.contact), sheet["header"]),
    ]
    logo = _logo(clinic.logo_png_b64, sheet.body_size * 2.6)
    if logo is not None:
        logo_w = min(logo.drawWidth, width * 0.25)
        logo.drawWidth, logo.drawHeight = logo_w, logo.drawHeight * logo_w / logo.drawWidth
        top = _plain_table([[logo, clinic_cell]], [logo_w + 10, width - logo_w - 10])
    else:
        top = _plain_table([[clinic_cell]], [width])
    style = sheet["header"]
    who = _plain_table([
        [Para(snapshot.plan.patient_name, label="For:", style=style),
         Para(snapshot.created_on, label="Date:", style=style)],
        [Para(snapshot.clinician, label="From:", style=style),
         Para(f"{snapshot.plan_id}, version {snapshot.revision}", label="Plan:", style=style)],
    ], [width * 0.5, width * 0.5])
    return [
        top,
        HRFlowable(width="100%", thickness=1, color=st.RULE, spaceBefore=4, spaceAfter=6),
        who,
        Spacer(1, sheet.body_size * 0.3),
        Para(HANDOUT_TITLE, sheet["title"]),
    ]


def about_the_plan(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """The template's title and summary, after the warning box so the box stays high."""
    flows: list[Flowable] = [Para(para(plan.title), sheet["h1"])]
    if plan.summary:
        flows.append(Para(para(plan.summary), sheet["body"]))
    return flows


def _flags(plan: Plan, tier: Tier) -> list[RedFlag]:
    return [f for f in plan.red_flags if f.tier is tier]


STOP_TITLE = "Stop and get help"


class _WarningBox(Table):
    """The boxed warning signs. If the box runs onto the next page (large print), the part there
    is headed "Stop and get help (continued)" and names the tier its first sign belongs to, so
    a sign is never read without its instruction."""

    def __init__(self, *args: Any, continued: dict[int, str] | None = None,
                 sheet: Sheet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._continued = continued or {}
        self._sheet = sheet

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        parts = super().split(availWidth, availHeight)
        if len(parts) == 2 and self._sheet is not None:
            tail = parts[1]
            tail._continued, tail._sheet = self._continued, self._sheet
            head: list[Flowable] = [Para(f"{STOP_TITLE} (continued)",
                                         self._sheet["stop_title"])]
            cell = tail._cellvalues[1][0] if len(tail._cellvalues) > 1 else None
            # Table keeps a cell's flowables as a tuple; the sign's paragraph is its first.
            first = cell[0] if isinstance(cell, (list, tuple)) and cell else cell
            tier = self._continued.get(id(first))
            if tier:
                head.append(Para(f"Continued: {tier[0].lower()}{tier[1:]}:",
                                 self._sheet["stop_tier"]))
            tail._cellvalues = [[head], *tail._cellvalues[1:]]
            # The split copies measured row heights; the new heading row must be measured anew.
            heights = list(tail._argH)
            heights[0] = None
            tail._argH = tail._rowHeights = heights
        return parts


def _tier_rows(heading: str, flags: list[RedFlag], sheet: Sheet,
               continued: dict[int, str]) -> list[list[object]]:
    """One table row per warning sign; the tier heading shares a row with the first sign so a
    page break never leaves a heading alone at the foot of page 1."""
    items = [Para(para(f.text), sheet["stop_item"], bulletText="•") for f in flags]
    continued.update({id(item): heading.removesuffix(":") for item in items[1:]})
    return [[[Para(heading, sheet["stop_tier"]), items[0]]], *([i] for i in items[1:])]


def stop_and_get_help(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """The boxed emergency and same-day warning signs, one table row per sign so that in large
    print the box can run onto page 2 and still be boxed, with its heading, on each part."""
    plan = snapshot.plan
    number = para(snapshot.clinic.emergency_number)
    rows: list[list[object]] = [[Para(STOP_TITLE, sheet["stop_title"])]]
    continued: dict[int, str] = {}
    emergency = _flags(plan, Tier.EMERGENCY)
    if emergency:
        rows += _tier_rows(f"Call {number} or go to the emergency department now if you have:",
                           emergency, sheet, continued)
    same_day = _flags(plan, Tier.SAME_DAY)
    if same_day:
        rows += _tier_rows("Call your clinic today if you have:", same_day, sheet, continued)
        rows.append([Para(
            snapshot.clinic.contact, label=f"{snapshot.clinic.name}:", style=sheet["body"])])
    # repeatRows=1: if the box runs onto page 2 (large print), its heading comes along.
    box = _WarningBox(rows, colWidths=[sheet.frame_width], hAlign="LEFT", repeatRows=1,
                      continued=continued, sheet=sheet)
    pad = sheet.body_size * 0.6
    box.setStyle(_table_style([
        ("BOX", (0, 0), (-1, -1), 3, st.WARNING),
        # Close the box at the foot of page 1 too when it continues on page 2.
        ("LINEBELOW", (0, "splitlast"), (-1, "splitlast"), 3, st.WARNING),
        ("LEFTPADDING", (0, 0), (-1, -1), pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, 0), (0, 0), pad * 0.5),
        ("BOTTOMPADDING", (0, -1), (-1, -1), pad),
    ]))
    return [box, Spacer(1, sheet.body_size)]


def slow_down(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """The slow-down tier: signs to ease off and check in at the next visit."""
    flags = _flags(snapshot.plan, Tier.SLOW_DOWN)
    if not flags:
        return []
    items: list[Flowable] = [
        Para("Slow down and check in", sheet["h2"]),
        Para("Ease off, make the movement smaller, and tell your clinician if you have:",
                  sheet["body"]),
    ]
    items += [Para(para(f.text), sheet["bullet"], bulletText="•") for f in flags]
    return [KeepTogether(items)]


def week_at_a_glance(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """A table of every exercise and how much of it to do."""
    rows = [[Para("Exercise", sheet["cell_bold"]), Para("How much", sheet["cell_bold"])]]
    rows += [[Para(para(e.name), sheet["cell"]), Para(para(e.dose_text), sheet["cell"])]
             for e in plan.exercises]
    width = sheet.frame_width
    table = Table(rows, colWidths=[width * 0.45, width * 0.55], hAlign="LEFT", repeatRows=1)
    table.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 1.5, st.INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.5, st.RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    flows: list[Flowable] = [Para("Your week at a glance", sheet["h1"])]
    if plan.habit_anchor:
        flows.append(Para(plan.habit_anchor, label="When:", style=sheet["body"]))
    flows.append(table)
    # A short table reads best whole; a long one may split (its header row repeats).
    return [KeepTogether(flows)] if len(plan.exercises) <= 8 else flows


def exercise_block(number: int, exercise: ResolvedExercise, sheet: Sheet) -> Flowable:
    """One exercise, kept on one page: name, dose, picture beside numbered steps, what to feel,
    when to back off, one tip, and why it was changed for this patient if it was."""
    width = sheet.frame_width
    steps = [Para(para(step), sheet["step"], bulletText=f"{i}.")
             for i, step in enumerate(exercise.steps, start=1)]
    heading = [Para(f"{number}. {para(exercise.name)}", sheet["h2"]),
               Para(f"How much: {para(exercise.dose_text)}", sheet["dose"])]
    tail: list[Flowable] = []
    if exercise.feel:
        tail.append(Para(exercise.feel, label="What you should feel:", style=sheet["body"]))
    if exercise.back_off:
        tail.append(Para(exercise.back_off, label="When to back off:", style=sheet["body"]))
    if exercise.adapted_because:
        tail.append(Para(exercise.adapted_because, label="Changed for you:", style=sheet["body"]))
    if exercise.cues:
        tail.append(Para(exercise.cues[0], label="Tip:", style=sheet["body"]))
    rule = HRFlowable(width="100%", thickness=0.75, color=st.RULE, spaceBefore=2,
                      spaceAfter=sheet.body_size * 0.8)
    gap = Spacer(1, sheet.body_size * 0.3)
    if sheet.large_print:
        # Large print: a big picture under the name when the whole exercise still fits one
        # page; otherwise a smaller one beside the name and dose. Never a column of steps
        # beside the picture: at 18 pt it would hold too few words a line.
        big = [*heading, PoseArt(exercise.pose, min(width * 0.55, 3.2 * inch)), gap, *steps,
               gap, *tail, rule]
        if _stacked_height(big, width) <= sheet.frame_height - sheet.leading:
            return KeepTogether(big)
        art_w = min(width * 0.3, 1.9 * inch)
        top = _plain_table([[heading, PoseArt(exercise.pose, art_w)]], [width - art_w, art_w])
        return KeepTogether([top, gap, *steps, gap, *tail, rule])
    art_w = min(width * 0.36, 2.6 * inch)
    side = SideBySide(PoseArt(exercise.pose, art_w), steps, art_w, 10)
    return KeepTogether([*heading, side, gap, *tail, rule])


def _stacked_height(flowables: list[Flowable], width: float) -> float:
    """Height of flowables stacked in a frame `width` wide, spacing included."""
    total = 0.0
    previous_after = 0.0
    for flowable in flowables:
        total += max(previous_after, flowable.getSpaceBefore())
        total += flowable.wrap(width, 1e6)[1]
        previous_after = flowable.getSpaceAfter()
    return total + previous_after


def exercises(plan: Plan, sheet: Sheet) -> list[Flowable]:
    flows: list[Flowable] = [CondPageBreak(sheet.body_size * 12),
                             Para("Your exercises", sheet["h1"])]
    flows += [exercise_block(i, e, sheet) for i, e in enumerate(plan.exercises, start=1)]
    return flows


def tracking_sheet(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """Seven day columns to tick, a column for how it felt, and the template's prompts."""
    width = sheet.frame_width
    # Tick boxes about 0.42 inch square: big enough to tick with a pen and a shaky hand.
    day_w = 0.42 * inch
    feel_w = width * 0.26
    name_w = width - 7 * day_w - feel_w
    head: list[object] = [Para("Exercise", sheet["cell_bold"])]
    head += [str(d) for d in range(1, 8)]  # plain strings so the table can centre them
    head.append(Para("How did it feel?", sheet["cell_bold"]))
    rows = [head]
    rows += [[Para(para(e.name), sheet["cell"])] + [""] * 8 for e in plan.exercises]
    table = Table(rows, colWidths=[name_w] + [day_w] * 7 + [feel_w], hAlign="LEFT",
                  repeatRows=1)
    table.setStyle(_table_style([
        ("FONTNAME", (1, 0), (7, 0), st.BOLD),
        ("FONTSIZE", (1, 0), (7, 0), sheet.body_size),
        ("LEADING", (1, 0), (7, 0), sheet.leading),
        ("TEXTCOLOR", (1, 0), (7, 0), st.INK),
        ("GRID", (0, 0), (-1, -1), 0.75, st.RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (7, 0), "CENTER"),
        ("BACKGROUND", (0, 0), (-1, 0), st.TINT),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 1), (-1, -1), 9),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 10),
    ]))
    flows: list[Flowable] = [
        CondPageBreak(sheet.body_size * 14),
        Para("Track your week", sheet["h1"]),
        Para("Tick a box for each day you do the exercise. Days 1 to 7 start on the day you "
                  "begin.", sheet["body"]),
        table,
        Spacer(1, sheet.body_size * 0.6),
    ]
    if plan.tracking_prompts:
        flows.append(Para("At the end of each day, ask yourself:", sheet["body"]))
        flows += [Para(para(p), sheet["bullet"], bulletText="•")
                  for p in plan.tracking_prompts]
    return flows


def faq(plan: Plan, sheet: Sheet) -> list[Flowable]:
    if not plan.faq:
        return []
    flows: list[Flowable] = [Para("Questions people ask", sheet["h1"])]
    for entry in plan.faq:
        flows.append(KeepTogether([
            Para(para(entry.question), sheet["h2"]),
            Para(para(entry.answer), sheet["body"]),
        ]))
    return flows


def notes(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """The clinician's own notes; may be long, so split by paragraph and allowed to flow."""
    if not plan.notes.strip():
        return []
    flows: list[Flowable] = [Para("Notes from your clinician", sheet["h1"])]
    # Paragraphs are split on a blank line, whichever line ending the notes came with.
    for block in plan.notes.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        if block.strip():
            flows.append(Para(para(block.strip()), sheet["body"]))
    return flows


def sources(plan: Plan, sheet: Sheet) -> list[Flowable]:
    if not plan.sources:
        return []
    flows: list[Flowable] = [Para("Where this advice comes from", sheet["h1"])]
    flows += [Para(f"{para(s.title)}. {para(s.publisher)}, {s.year}.", sheet["bullet"],
                        bulletText="•") for s in plan.sources]
    return flows


def disclaimer(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    number = para(snapshot.clinic.emergency_number)
    return [KeepTogether([
        Para("Please remember", sheet["h1"]),
        Para("This sheet is not a substitute for your clinician's advice. Ask your "
                  "clinician if you are unsure about any exercise.", sheet["body"]),
        Para(f"In an emergency, call {number}.", sheet["body"]),
    ])]
