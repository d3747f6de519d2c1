"""Builders for each part of the handout: a snapshot (or part of it) in, flowables out."""

from __future__ import annotations

import base64
import binascii
import functools
import io

from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    Spacer,
    Table,
    TableStyle,
)

from pdf import styles as st
from pdf.content import (
    GRID_HELP,
    HANDOUT_TITLE,
    PICTURE_LEGEND,
    STOP_TITLE,
    dose_grid,
    exercise_groups,
    pictures,
    plan_code,
    safety_tiers,
    sessions_per_day,
)
from pdf.flowables import (
    Boxed,
    Columns,
    Continued,
    Figure,
    Grid,
    Para,
    PoseArt,
    SideBySide,
    Together,
    stacked_height,
)
from pdf.styles import Sheet
from pdf.text import para
from plans.model import HandoutSnapshot, Plan, ResolvedExercise, Tier

__all__ = ["HANDOUT_TITLE", "STOP_TITLE"]


def _logo(b64: str, height: float) -> Image | None:
    """The clinic logo scaled to `height`, or None when it is absent or not a readable image.

    A broken logo is the clinic's configuration problem, never a reason to withhold a handout.
    """
    decoded = _decoded_logo(b64) if b64 else None
    if decoded is None:
        return None
    data, w, h = decoded
    return Image(io.BytesIO(data), width=height * w / h, height=height)


@functools.lru_cache(maxsize=16)  # a deployment serves a few clinics; logos are small
def _decoded_logo(b64: str) -> tuple[bytes, int, int] | None:
    """The logo's bytes and pixel size, or None; once per clinic logo per process, not per
    render (decoding and reading the PNG header were 2% of a render)."""
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
    return data, w, h


def _plain_table(rows: list[list[object]], widths: list[float]) -> Table:
    """A borderless layout table: the grid only places things side by side.

    A Table sets its cell font on the canvas even when every cell is a flowable; left at the
    default that is Helvetica, which would then sit unembedded in every page's resources.
    """
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st.REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def header(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """Clinic, logo and contact beside who the plan is for, when, by whom, and its code.

    Compact so the safety box starts high on page 1. "From:" only when a clinician is named.
    """
    clinic = snapshot.clinic
    width = sheet.frame_width
    style = sheet["header"]
    clinic_cell: list[Flowable] = [Para(para(clinic.name), sheet["header_clinic"])]
    if clinic.contact:
        clinic_cell.append(Para(para(clinic.contact), style))
    who: list[Flowable] = [Para(snapshot.plan.patient_name, label="For:", style=style),
                           Para(snapshot.created_on, label="Date:", style=style)]
    if snapshot.clinician.strip():
        who.append(Para(snapshot.clinician.strip(), label="From:", style=style))
    who.append(Para(f"{plan_code(snapshot)}, revision {snapshot.revision}", label="Plan code:",
                    style=style))
    logo = _logo(clinic.logo_png_b64, sheet.body_size * 2.4)
    right_w = width * 0.42
    if logo is not None:
        logo_w = min(logo.drawWidth, width * 0.2)
        logo.drawWidth, logo.drawHeight = logo_w, logo.drawHeight * logo_w / logo.drawWidth
        top = _plain_table([[logo, clinic_cell, who]],
                           [logo_w + 8, width - logo_w - 8 - right_w, right_w])
    else:
        top = _plain_table([[clinic_cell, who]], [width - right_w, right_w])
    return [
        top,
        HRFlowable(width="100%", thickness=1, color=st.RULE, spaceBefore=2, spaceAfter=4),
        Para(HANDOUT_TITLE, sheet["title"]),
    ]


def stop_and_get_help(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    """The safety-netting tiers (REFERENCES.md section B) in one box: each tier's heading and
    action line, its signs, and where to go: the clinic's emergency number, its phone and its
    out-of-hours route. A tier is never split from its heading; in large print the box may run
    onto page 2 under "Stop and get help (continued)"."""
    clinic = snapshot.clinic
    columns = 1 if sheet.large_print else 2
    groups: list[list[Flowable]] = []
    for i, tier in enumerate(safety_tiers(snapshot.plan)):
        urgent = tier.tier is not Tier.SLOW_DOWN
        group: list[Flowable] = []
        if i == 0:
            group.append(Para(STOP_TITLE, sheet["stop_title"]))
        # The heading says where to go; the action line, right after it in the same
        # paragraph, says what to do. One paragraph keeps them together and saves a line.
        lead = sheet["stop_lead" if urgent else "slow_lead"]
        group.append(Para(f'<font name="{st.BOLD}" color="{lead.textColor.hexval()}" '
                          f'size="{sheet.body_size * 1.1:g}">{para(tier.heading)}.</font> '
                          f"{para(tier.action)}", sheet["tier_lead"]))
        signs = [Para(para(s), sheet["stop_item"], bulletText="•") for s in tier.signs]
        # Two columns of short signs in standard print; in large print one sign a line, each
        # its own flowable so a very long tier can continue overleaf between signs.
        if columns > 1:
            group.append(Columns(signs, columns, sheet.body_size))
        else:
            group += signs
        if tier.tier is Tier.EMERGENCY:
            group.append(Para(clinic.emergency_number, label="Emergency number:",
                              style=sheet["body_bold_gap"]))
        elif tier.tier is Tier.SAME_DAY:
            reach = f"{clinic.name}, {clinic.contact}" if clinic.contact else clinic.name
            group.append(Para(reach, label="Clinic:", style=sheet["body_gap"]))
            if clinic.out_of_hours:
                group.append(Para(clinic.out_of_hours, label="When the clinic is closed:",
                                  style=sheet["body_gap"]))
        groups.append(group)
    box = Boxed(groups, st.WARNING, 3, sheet.body_size * 0.6,
                continued=Para(f"{STOP_TITLE} (continued)", sheet["stop_title"]),
                page_height=sheet.frame_height)
    return [box, Spacer(1, sheet.body_size * 0.5)]


def about_the_plan(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """The template's title and summary."""
    flows: list[Flowable] = [Para(para(plan.title), sheet["h1"])]
    if plan.summary:
        flows.append(Para(para(plan.summary), sheet["body"]))
    return flows


def week_at_a_glance(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """Every exercise and how much of it to do, as two columns without a heavy table."""
    if not plan.exercises:
        return []
    rows = [[Para(para(e.name), sheet["cell_bold"]), Para(para(e.dose_text), sheet["cell"])]
            for e in plan.exercises]
    width = sheet.frame_width
    table = Table(rows, colWidths=[width * 0.34, width * 0.66], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st.REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, st.RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    flows: list[Flowable] = [
        Para("Your week at a glance", sheet["h1"]),
        Para("Each line is one exercise and how much of it to do. The details follow.",
             sheet["body"]),
    ]
    if plan.habit_anchor:
        flows.append(Para(plan.habit_anchor, label="When:", style=sheet["body"]))
    flows.append(table)
    # Not kept together: the table may run on to the next page row by row (the heading keeps
    # with its first line), so page 1 is not left half empty under the safety box.
    return flows


def notes(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """The clinician's own notes, the most personal part, right after the week at a glance;
    split by paragraph and allowed to flow."""
    if not plan.notes.strip():
        return []
    # Paragraphs split on a blank line, whichever line ending the notes came with.
    text = plan.notes.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    flows: list[Flowable] = [Para("Notes from your clinician", sheet["h1"])]
    flows += [Para(para(b), sheet["body"]) for b in blocks]
    # The heading keeps with the first paragraph (keepWithNext); the rest may flow.
    return flows


def how_to(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """Pain rule, getting down and up (with bed and counter options), and words explained."""
    guide = plan.guide
    if guide is None:
        return []
    flows: list[Flowable] = [
        Para("Before you start", sheet["h1"]),
        Para(guide.pain_rule, label="How much is too much?", style=sheet["body"]),
        Para(guide.floor_note, label="Getting down and up:", style=sheet["body"]),
    ]
    if guide.terms:
        words = " ".join(f"<b>{para(t.word)}:</b> {para(t.meaning)}" for t in guide.terms)
        flows.append(Para(f"<b>Words used here.</b> {words}", sheet["body"]))
    # Not kept together: the heading keeps with the pain rule, and a page is not left half
    # empty in large print for the sake of three paragraphs.
    return flows


def _dose_grid(exercise: ResolvedExercise, sheet: Sheet, width: float) -> Grid:
    cells = dose_grid(exercise.dose)
    size = sheet.grid_size
    widths = [max(st.string_width(label, st.BOLD, size), st.string_width(value, st.REGULAR,
                                                                          size)) + size
              for label, value in cells]
    if sum(widths) > width:
        # Too wide for one row (large print, narrow column): one row per dose part instead.
        label_w = max(st.string_width(c[0], st.BOLD, size) for c in cells) + size
        return Grid([], [list(c) for c in cells], [label_w, width - label_w], st.REGULAR,
                    st.BOLD, size, size * 1.35, st.INK, st.RULE, label_column=True)
    spare = width - sum(widths)
    widths = [w + spare * w / sum(widths) for w in widths]
    return Grid([c[0] for c in cells], [[c[1] for c in cells]], widths, st.REGULAR, st.BOLD,
                size, size * 1.35, st.INK, st.RULE)


def _figure(exercise: ResolvedExercise, sheet: Sheet) -> Figure:
    """The exercise's pictures stacked in one column, start above end, each captioned."""
    panels = [(PoseArt(exercise.pose, sheet.picture_width, sheet.picture_height, p.phase),
               Para(p.caption, label=p.label, style=sheet["caption"]) if p.label else
               Para(para(p.caption), sheet["caption"]))
              for p in pictures(exercise)]
    return Figure(panels, st.RULE, 3, sheet.body_size * 0.5)


def exercise_block(number: int, exercise: ResolvedExercise, sheet: Sheet,
                   lead: list[Flowable] | None = None) -> list[Flowable]:
    """The flowables of one exercise, opened by `lead` (its phase heading and note)."""
    return _exercise_block(number, exercise, sheet, lead or [])


def _exercise_block(number: int, exercise: ResolvedExercise, sheet: Sheet,
                    lead: list[Flowable]) -> list[Flowable]:
    """One exercise: the captioned picture with, beside it, the name, purpose, dose grid and
    numbered steps; then every cue, what to feel, when to back off and why it was changed for
    this patient. Those last lines go beside the picture while the column there is shorter
    than the picture, and under it (feel and back-off side by side) after that: measured, so
    the block is as short as its words allow."""
    width = sheet.frame_width
    gap = sheet.body_size * 0.8
    column = width - sheet.picture_width - gap
    steps = [Para(para(step), sheet["step"], bulletText=f"{i}.")
             for i, step in enumerate(exercise.steps, start=1)]
    name = Para(f"{number}. {para(exercise.name)}", sheet["h2"])
    head: list[Flowable] = []
    beside: list[Flowable] = []
    if sheet.large_print:
        # At 16 pt the grid needs the full width to stay one row.
        head = [name, _dose_grid(exercise, sheet, width), Spacer(1, sheet.body_size * 0.4)]
    else:
        # The name heads the column beside the picture: a line saved on every exercise.
        beside.append(name)
    if exercise.purpose:
        beside.append(Para(exercise.purpose, label="Why:", style=sheet["body"]))
    if not sheet.large_print:
        beside += [_dose_grid(exercise, sheet, column), Spacer(1, sheet.body_size * 0.4)]
    beside += steps
    tail: list[Flowable] = []
    if exercise.cues:
        # Run in after a bold label: the cues are short, and a line each would leave most of
        # every line empty.
        tail.append(Para(" \u2022 ".join(exercise.cues), label="Tips:", style=sheet["body"]))
    pair = [Para(text, label=label, style=sheet["body"]) for label, text in (
        ("What you should feel:", exercise.feel), ("When to back off:", exercise.back_off))
        if text]
    tail += pair
    if exercise.adapted_because:
        tail.append(Para(exercise.adapted_because, label="Changed for you:",
                         style=sheet["body"]))
    figure = _figure(exercise, sheet)
    # Every field the block prints (not the dose range, which it does not print).
    key = (number, exercise.name, exercise.purpose, exercise.steps, exercise.cues,
           exercise.feel, exercise.back_off, exercise.adapted_because, exercise.pose,
           exercise.illustration_alt, tuple(dose_grid(exercise.dose)), sheet.large_print,
           sheet.page_size, sheet.footer_lines)
    k = _ARRANGEMENTS.get(key)
    if k is None:
        k = _arrangement(figure, beside, tail, pair, sheet)
        if len(_ARRANGEMENTS) >= _ARRANGEMENTS_LIMIT:
            _ARRANGEMENTS.clear()
        _ARRANGEMENTS[key] = k
    below = _below(tail[k:], pair, sheet)
    more = Para(f"{number}. {para(exercise.name)} (continued)", sheet["h3"])
    rule = HRFlowable(width="100%", thickness=0.75, color=st.RULE, spaceBefore=2,
                      spaceAfter=sheet.body_size * 0.3)
    # The lines under the picture stay together and may follow on the next page, opening
    # there with the exercise's name, so no page is left a third empty for want of three
    # lines.
    after = Continued([*below, rule], more) if below else rule
    if sheet.large_print:
        # Large print: the name, grid and picture with the purpose and the first two steps
        # stay together; later steps may open the next page under the "continued" line (an
        # exercise fills most of a page, and moving whole ones left pages a third empty).
        keep = len(beside) - len(steps) + min(2, len(steps))
        # The phase heading and note are not tied to the block: with two pictures an exercise
        # fills most of a large-print page, and tying them would leave the page before it
        # half empty. The heading still keeps with its note.
        return [*lead, SideBySide(figure, [*beside, *tail[:k]], sheet.picture_width, gap,
                                  top=head, more=more, keep=keep), after]
    side = SideBySide(figure, [*beside, *tail[:k]], sheet.picture_width, gap)
    return [Together([*lead, side]), after]


# How many tail lines go beside each exercise's picture, per process: the same for every
# patient given the same exercise (the text it prints and its dose grid), number and
# print size, and measuring it wraps every tail line at two widths. The key holds everything
# the choice depends on (the styles and widths follow from print size and page size).
_ARRANGEMENTS: dict[tuple[object, ...], int] = {}
_ARRANGEMENTS_LIMIT = 5_000  # entries of a few hundred bytes; then it starts over


def _arrangement(figure: Figure, beside: list[Flowable], tail: list[Flowable],
                 pair: list[Flowable], sheet: Sheet) -> int:
    """The first k tail lines beside the picture, the rest under it: the shortest block."""
    width = sheet.frame_width
    column = width - sheet.picture_width - sheet.body_size * 0.8
    picture_h = figure.wrap(sheet.picture_width, sheet.frame_height)[1]
    best: tuple[float, int] | None = None
    # A column already as tall as the picture has no room to give: skip measuring the tail
    # at its width (line breaking is most of a first render's cost).
    room = _height(beside, column, sheet) < picture_h
    for k in range(len(tail) + 1 if room else 0):
        side_h = max(picture_h, _height([*beside, *tail[:k]], column, sheet))
        below_h = _height(_below(tail[k:], pair, sheet), width, sheet)
        if best is None or side_h + below_h < best[0] - 0.5:
            best = (side_h + below_h, k)
    return best[1] if best else 0


def _below(tail: list[Flowable], pair: list[Flowable], sheet: Sheet) -> list[Flowable]:
    """The tail lines that do not fit beside the picture, at full width; in standard print
    what to feel and when to back off (short lines) side by side when both are here."""
    if not tail:
        return []
    flows: list[Flowable] = [Spacer(1, sheet.body_size * 0.15)]
    together = len(pair) == 2 and not sheet.large_print and all(p in tail for p in pair)
    for p in tail:
        if together and p is pair[0]:
            flows.append(Columns(pair, 2, sheet.body_size * 0.8))
        elif not (together and p is pair[1]):
            flows.append(p)
    return flows


def _height(flows: list[Flowable], width: float, sheet: Sheet) -> float:
    return stacked_height(flows, width, sheet.frame_height)


def exercises(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """Exercises grouped under their phases, each phase with its note, numbered through."""
    flows: list[Flowable] = [Para("Your exercises", sheet["h1"]),
                             Para(f"{GRID_HELP} {PICTURE_LEGEND}", sheet["small"])]
    for group in exercise_groups(plan):
        lead: list[Flowable] = [Para(para(group.phase.name), sheet["phase"])]
        if group.phase.note:
            lead.append(Para(para(group.phase.note), sheet["body"]))
        # The phase heading and note travel with the first exercise's name, picture and steps.
        flows += exercise_block(*group.exercises[0], sheet, lead)
        for n, e in group.exercises[1:]:
            flows += exercise_block(n, e, sheet)
    return flows


def tracking_sheet(plan: Plan, sheet: Sheet) -> list[Flowable]:
    """Four weeks of days to tick, a box per session (twice a day, two boxes), a line per
    week for how it felt, then the template's questions and the review line."""
    width = sheet.frame_width
    size = sheet.grid_size
    per_day = sessions_per_day(plan)
    box = sheet.tick_box
    feel_w = width * (0.2 if sheet.large_print else 0.26)
    week_w = st.string_width("Week 4", st.BOLD, size) + size
    day_w = (width - feel_w - week_w) / 7
    while per_day * box * 1.3 > day_w - 2 and box > 10:
        box -= 1
    header = ["", *[f"Day {d}" if day_w > st.string_width("Day 7", st.BOLD, size) + 6
                    else str(d) for d in range(1, 8)], "How it felt"]
    # The last column is " ", not "": Grid draws tick boxes only in empty cells.
    rows = [[f"Week {w}", *[""] * 7, " "] for w in range(1, 5)]
    grid = Grid(header, rows, [week_w, *[day_w] * 7, feel_w], st.REGULAR, st.BOLD, size,
                max(size * 1.45, box + 4), st.INK, st.RULE, boxes=per_day, box=box)
    flows: list[Flowable] = [Together([
        Para("Track your four weeks", sheet["h1"]),
        Para(plan.guide.log_help if plan.guide else
             "Tick a box each time you do your exercises.", sheet["body"]),
        grid,
    ]), Spacer(1, sheet.body_size * 0.5)]
    if plan.tracking_prompts:
        items: list[Flowable] = [Para("At the end of each week, ask yourself:", sheet["label"])]
        items += [Para(para(p), sheet["bullet"], bulletText="•") for p in plan.tracking_prompts]
        flows.append(Together(items))
    if plan.guide is not None:
        flows.append(Para(plan.guide.review, label="Your next visit:", style=sheet["body"]))
    return flows


def faq(plan: Plan, sheet: Sheet) -> list[Flowable]:
    if not plan.faq:
        return []
    entries = [Para(e.answer, label=e.question, style=sheet["body"]) for e in plan.faq]
    # The heading is kept with the first answer; the rest may flow over pages.
    return [Together([Para("Questions people ask", sheet["h1"]), entries[0]]), *entries[1:]]


def sources(plan: Plan, sheet: Sheet) -> list[Flowable]:
    if not plan.sources:
        return []
    # One run-in paragraph: titles are long and a line each leaves half of most lines empty.
    listed = " • ".join(f"{para(s.title)}. {para(s.publisher)}, {s.year}."
                         for s in plan.sources)
    # A bold run-in label rather than a heading: the list is small print, and read last.
    return [Para(f"<b>Where this advice comes from:</b> {listed}", sheet["small"])]


def disclaimer(snapshot: HandoutSnapshot, sheet: Sheet) -> list[Flowable]:
    number = para(snapshot.clinic.emergency_number)
    return [Para("<b>Please remember.</b> This sheet is not a substitute for your clinician's "
                 "advice. Ask your clinician if you are unsure about any exercise. In an "
                 f"emergency, call {number}.", sheet["body"])]
