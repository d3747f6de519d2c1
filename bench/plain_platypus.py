"""The handout's content laid out the way a hand-written ReportLab script would: the baseline
bench/render.py compares Limber's render with (issue 14: "plain platypus on the same content").

Same text, same DejaVu faces and sizes (pdf.styles' sheet), same page size, margins and
drawings, same accelerators (whatever this interpreter has), built from the stock platypus
parts with no caching: a Paragraph per text (markup parsed), a Table for the header, the week
at a glance, each dose grid and the log, a Drawing per pose (pdf.illustrations) beside its
steps in a one-row Table, KeepTogether per exercise, a footer drawn on every page. It is not
meant to look the same, only to carry the same words, pictures and grids.
"""

from __future__ import annotations

import io

from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
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
    plan_code,
    safety_tiers,
)
from pdf.illustrations import drawing_for
from pdf.styles import sheet_for
from pdf.text import para
from plans.model import HandoutOptions, HandoutSnapshot

_GRID = TableStyle([("FONTNAME", (0, 0), (-1, -1), st.REGULAR),
                    ("FONTNAME", (0, 0), (-1, 0), st.BOLD),
                    ("GRID", (0, 0), (-1, -1), 0.5, st.RULE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP")])


def _labelled(label: str, text: str, style) -> Paragraph:
    return Paragraph(f"<b>{para(label)}</b> {para(text)}", style)


def render_plain(snapshot: HandoutSnapshot, options: HandoutOptions) -> bytes:
    sheet = sheet_for(options)
    plan, clinic = snapshot.plan, snapshot.clinic
    body = sheet["body"]
    width = sheet.frame_width
    story: list = []
    story.append(Table(
        [[[Paragraph(para(clinic.name), sheet["header_clinic"]),
           Paragraph(para(clinic.contact), sheet["header"])],
          [_labelled("For:", plan.patient_name, sheet["header"]),
           _labelled("Date:", snapshot.created_on, sheet["header"]),
           _labelled("From:", snapshot.clinician, sheet["header"]),
           _labelled("Plan code:", f"{plan_code(snapshot)}, revision {snapshot.revision}",
                     sheet["header"])]]],
        colWidths=[width * 0.58, width * 0.42],
        style=[("FONTNAME", (0, 0), (-1, -1), st.REGULAR), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(Paragraph(HANDOUT_TITLE, sheet["title"]))
    story.append(Paragraph(STOP_TITLE, sheet["stop_title"]))
    for tier in safety_tiers(plan):
        story.append(Paragraph(f"<b>{para(tier.heading)}.</b> {para(tier.action)}",
                               sheet["tier_lead"]))
        story += [Paragraph(para(s), sheet["stop_item"], bulletText="•") for s in tier.signs]
    story.append(_labelled("Emergency number:", clinic.emergency_number, body))
    story.append(_labelled("Clinic:", f"{clinic.name}, {clinic.contact}", body))
    story.append(_labelled("When the clinic is closed:", clinic.out_of_hours, body))
    story.append(Paragraph("Your week at a glance", sheet["h1"]))
    story.append(Table([[Paragraph(para(e.name), sheet["cell_bold"]),
                         Paragraph(para(e.dose_text), sheet["cell"])] for e in plan.exercises],
                       colWidths=[width * 0.34, width * 0.66],
                       style=[("FONTNAME", (0, 0), (-1, -1), st.REGULAR),
                              ("LINEBELOW", (0, 0), (-1, -1), 0.5, st.RULE)]))
    if plan.notes.strip():
        story.append(Paragraph("Notes from your clinician", sheet["h1"]))
        story += [Paragraph(para(b), body) for b in plan.notes.split("\n\n") if b.strip()]
    story.append(Paragraph(para(plan.title), sheet["h1"]))
    story.append(Paragraph(para(plan.summary), body))
    guide = plan.guide
    if guide is not None:
        story += [Paragraph("Before you start", sheet["h1"]),
                  _labelled("How much is too much?", guide.pain_rule, body),
                  _labelled("Getting down and up:", guide.floor_note, body)]
        if guide.terms:
            story.append(Paragraph(" ".join(f"<b>{para(t.word)}:</b> {para(t.meaning)}"
                                            for t in guide.terms), body))
    story += [Paragraph("Your exercises", sheet["h1"]),
              Paragraph(f"{GRID_HELP} {PICTURE_LEGEND}", sheet["small"])]
    column = width - sheet.picture_width - 8
    for group in exercise_groups(plan):
        story.append(Paragraph(para(group.phase.name), sheet["phase"]))
        if group.phase.note:
            story.append(Paragraph(para(group.phase.note), body))
        for number, ex in group.exercises:
            cells = dose_grid(ex.dose)
            grid = Table([[c[0] for c in cells], [c[1] for c in cells]], style=_GRID)
            steps = [Paragraph(para(s), sheet["step"], bulletText=f"{i}.")
                     for i, s in enumerate(ex.steps, start=1)]
            right = [Paragraph(f"{number}. {para(ex.name)}", sheet["h2"]),
                     _labelled("Why:", ex.purpose, body), grid, *steps]
            left = [drawing_for(ex.pose, sheet.picture_width, sheet.picture_height),
                    Paragraph(para(ex.illustration_alt or ex.name), sheet["caption"])]
            block = [Table([[left, right]], colWidths=[sheet.picture_width + 8, column],
                           style=[("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("FONTNAME", (0, 0), (-1, -1), st.REGULAR)])]
            if ex.cues:
                block.append(_labelled("Tips:", " \u2022 ".join(ex.cues), body))
            for label, text in (("What you should feel:", ex.feel),
                                ("When to back off:", ex.back_off),
                                ("Changed for you:", ex.adapted_because)):
                if text:
                    block.append(_labelled(label, text, body))
            story.append(KeepTogether(block))
    log_help = guide.log_help if guide else "Tick a box each time you do your exercises."
    story += [Paragraph("Track your four weeks", sheet["h1"]), Paragraph(para(log_help), body),
              Table([["", *[f"Day {d}" for d in range(1, 8)], "How it felt"],
                     *[[f"Week {w}", *[""] * 8] for w in range(1, 5)]], style=_GRID),
              Spacer(1, 6)]
    if plan.tracking_prompts:
        story.append(Paragraph("At the end of each week, ask yourself:", sheet["label"]))
        story += [Paragraph(para(p), sheet["bullet"], bulletText="•")
                  for p in plan.tracking_prompts]
    if guide is not None:
        story.append(_labelled("Your next visit:", guide.review, body))
    if plan.faq:
        story.append(Paragraph("Questions people ask", sheet["h1"]))
        story += [_labelled(e.question, e.answer, body) for e in plan.faq]
    if plan.sources:
        listed = " • ".join(f"{para(s.title)}. {para(s.publisher)}, {s.year}."
                             for s in plan.sources)
        story.append(Paragraph(f"<b>Where this advice comes from:</b> {listed}", sheet["small"]))
    story.append(Paragraph("<b>Please remember.</b> This sheet is not a substitute for your "
                           "clinician's advice. Ask your clinician if you are unsure about any "
                           f"exercise. In an emergency, call {para(clinic.emergency_number)}.",
                           body))
    footer = (f"Plan code {plan_code(snapshot)}, revision {snapshot.revision} · "
              f"{clinic.name} · {clinic.contact}")

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(st.REGULAR, sheet.footer_size)
        canvas.drawString(sheet.margin, st.FOOTER_BASELINE, f"Page {doc.page}  {footer}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=sheet.page_size, leftMargin=sheet.margin,
                            rightMargin=sheet.margin, topMargin=sheet.margin,
                            bottomMargin=sheet.bottom_margin, invariant=1,
                            initialFontName=st.REGULAR, title=HANDOUT_TITLE)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
