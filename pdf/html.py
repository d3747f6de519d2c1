"""The same handout as one accessible HTML document, for screen readers and reflowing screens."""

from __future__ import annotations

import base64
import binascii
from html import escape

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
from pdf.illustrations import svg_for
from plans.model import HandoutOptions, HandoutSnapshot, PageSize, Tier

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _css(options: HandoutOptions) -> str:
    size = "16pt" if options.large_print else "12pt"
    line = "1.5" if options.large_print else "1.4"
    page = "letter" if options.page_size is PageSize.LETTER else "A4"
    margin = "1in" if options.large_print else "0.75in"
    return f"""
:root {{ color: #111; background: #fff; }}
body {{ font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: {size};
  line-height: {line}; max-width: 42em; margin: 0 auto; padding: 1em; text-align: left; }}
h1 {{ font-size: 1.8em; margin: 0.4em 0; }}
h2 {{ font-size: 1.4em; margin-top: 1.4em; }}
h3 {{ font-size: 1.2em; margin-bottom: 0.2em; }}
h4 {{ font-size: 1.1em; margin-bottom: 0.2em; }}
.stop {{ border: 4px solid #a30000; padding: 0.2em 1em 0.8em; margin: 1em 0; }}
.stop h2, .stop h3 {{ color: #a30000; margin-top: 0.5em; }}
.facts {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 0.8em; margin: 0; }}
.facts dt {{ font-weight: bold; }}
.facts dd {{ margin: 0; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #6b6b6b; padding: 0.25em 0.4em; text-align: left;
  vertical-align: top; }}
.tracking td.tick {{ white-space: nowrap; }}
.scroll {{ overflow-x: auto; }}
.box {{ display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #333;
  margin-right: 0.2em; }}
figcaption {{ font-size: 0.9em; }}
.dose {{ width: auto; }}
.exercise {{ border-top: 1px solid #6b6b6b; padding-top: 0.4em; }}
.pictures {{ display: flex; flex-direction: column; gap: 0.5em; margin: 0.5em 0; }}
.pictures figure {{ margin: 0; }}
.exercise svg {{ width: 16em; max-width: 100%; height: auto; border: 1px solid #6b6b6b; }}
.logo {{ height: 3em; width: auto; }}
footer {{ border-top: 1px solid #6b6b6b; margin-top: 2em; font-size: 0.9em; }}
@media print {{
  @page {{ size: {page}; margin: {margin}; }}
  body {{ max-width: none; padding: 0; }}
  .stop, .exercise, table, figure {{ break-inside: avoid; }}
  .scroll {{ overflow: visible; }}
  h2, h3, h4 {{ break-after: avoid; }}
  a {{ color: #111; text-decoration: none; }}
}}
"""


def _logo(snapshot: HandoutSnapshot) -> str:
    """An <img> of the clinic logo, or "" when it is absent or not a PNG (never an error)."""
    b64 = snapshot.clinic.logo_png_b64
    if not b64:
        return ""
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return ""
    if not data.startswith(_PNG_SIGNATURE):
        return ""
    alt = escape(f"{snapshot.clinic.name} logo")
    return (f'<img class="logo" alt="{alt}" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">')


def _lines(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(escape(line) for line in text.replace("\r\n", "\n").split("\n"))


def _tick_cells(per_day: int) -> str:
    boxes = "".join('<span class="box" aria-hidden="true"></span>' for _ in range(per_day))
    return f'<td class="tick">{boxes}</td>'


def render_handout_html(snapshot: HandoutSnapshot, options: HandoutOptions) -> str:
    """A complete HTML document of the handout, same content and order as the PDF; every piece
    of user text is escaped.

    Raises nothing for unusual characters: the reader's own fonts draw them.
    """
    plan = snapshot.plan
    clinic = snapshot.clinic
    e = escape
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(HANDOUT_TITLE)}</title>",
        f"<style>{_css(options)}</style>",
        "</head>",
        f'<body class="{"large-print" if options.large_print else "standard-print"}">',
        "<header>",
        _logo(snapshot),
        f'<p><strong>{e(clinic.name)}</strong><br>{e(clinic.contact)}</p>',
        '<dl class="facts">',
        f"<dt>For:</dt><dd>{e(plan.patient_name)}</dd>",
        f"<dt>Date:</dt><dd>{e(snapshot.created_on)}</dd>",
    ]
    if snapshot.clinician.strip():
        out.append(f"<dt>From:</dt><dd>{e(snapshot.clinician.strip())}</dd>")
    out += [f"<dt>Plan code:</dt><dd>{plan_code(snapshot)}, revision {snapshot.revision}</dd>",
            "</dl>", "</header>", "<main>", f"<h1>{e(HANDOUT_TITLE)}</h1>"]

    # The safety-netting tiers come before anything else a reader meets, as on page 1.
    out.append('<section class="stop" aria-labelledby="stop-heading">')
    out.append(f'<h2 id="stop-heading">{e(STOP_TITLE)}</h2>')
    for tier in safety_tiers(plan):
        out.append(f"<h3>{e(tier.heading)}.</h3><p>{e(tier.action)}</p>")
        out.append("<ul>" + "".join(f"<li>{e(s)}</li>" for s in tier.signs) + "</ul>")
        if tier.tier is Tier.EMERGENCY:
            out.append(f"<p><strong>Emergency number:</strong> {e(clinic.emergency_number)}</p>")
        elif tier.tier is Tier.SAME_DAY:
            reach = f"{clinic.name}, {clinic.contact}" if clinic.contact else clinic.name
            out.append(f"<p><strong>Clinic:</strong> {e(reach)}</p>")
            if clinic.out_of_hours:
                out.append(f"<p><strong>When the clinic is closed:</strong> "
                           f"{e(clinic.out_of_hours)}</p>")
    out.append("</section>")

    out.append("<section><h2>Your week at a glance</h2>")
    out.append("<p>Each line is one exercise and how much of it to do. The details follow.</p>")
    if plan.habit_anchor:
        out.append(f"<p><strong>When:</strong> {e(plan.habit_anchor)}</p>")
    out.append("<table><thead><tr><th scope=\"col\">Exercise</th><th scope=\"col\">How much</th>"
               "</tr></thead><tbody>")
    out += [f'<tr><th scope="row">{e(x.name)}</th><td>{e(x.dose_text)}</td></tr>'
            for x in plan.exercises]
    out.append("</tbody></table></section>")

    if plan.notes.strip():
        out.append("<section><h2>Notes from your clinician</h2>")
        for block in plan.notes.replace("\r\n", "\n").split("\n\n"):
            if block.strip():
                out.append(f"<p>{_lines(block.strip())}</p>")
        out.append("</section>")

    out.append(f"<section><h2>{e(plan.title)}</h2>")
    if plan.summary:
        out.append(f"<p>{e(plan.summary)}</p>")
    out.append("</section>")

    guide = plan.guide
    if guide is not None:
        out.append("<section><h2>Before you start</h2>")
        out.append(f"<p><strong>How much is too much?</strong> {e(guide.pain_rule)}</p>")
        out.append(f"<p><strong>Getting down and up:</strong> {e(guide.floor_note)}</p>")
        if guide.terms:
            out.append("<p><strong>Words used here.</strong></p><dl>" + "".join(
                f"<dt>{e(t.word)}</dt><dd>{e(t.meaning)}</dd>" for t in guide.terms) + "</dl>")
        out.append("</section>")

    out.append("<section><h2>Your exercises</h2>")
    out.append(f"<p>{e(GRID_HELP)} {e(PICTURE_LEGEND)}</p>")
    for group in exercise_groups(plan):
        out.append(f"<h3>{e(group.phase.name)}</h3>")
        if group.phase.note:
            out.append(f"<p>{e(group.phase.note)}</p>")
        for number, x in group.exercises:
            alt = x.illustration_alt or f"Drawing of {x.name}"
            out.append(f'<article class="exercise" aria-labelledby="ex-{number}">')
            out.append(f'<h4 id="ex-{number}">{number}. {e(x.name)}</h4>')
            if x.purpose:
                out.append(f"<p><strong>Why:</strong> {e(x.purpose)}</p>")
            cells = dose_grid(x.dose)
            out.append('<table class="dose"><tr>' + "".join(
                f'<th scope="col">{e(label)}</th>' for label, _ in cells) + "</tr><tr>"
                + "".join(f"<td>{e(value)}</td>" for _, value in cells) + "</tr></table>")
            # Start above end, as in the PDF; each picture's alt text is its caption, and the
            # pair as a whole is named by the exercise's own description of its picture.
            out.append(f'<div class="pictures" role="group" aria-label="{e(alt)}">')
            for p in pictures(x):
                label = f"<strong>{e(p.label)}</strong> " if p.label else ""
                out.append(f"<figure>{svg_for(x.pose, p.text, p.phase)}"
                           f"<figcaption>{label}{e(p.caption)}</figcaption></figure>")
            out.append("</div>")
            out.append("<ol>" + "".join(f"<li>{e(step)}</li>" for step in x.steps) + "</ol>")
            if x.cues:
                out.append("<p><strong>Tips:</strong></p><ul>"
                           + "".join(f"<li>{e(c)}</li>" for c in x.cues) + "</ul>")
            if x.feel:
                out.append(f"<p><strong>What you should feel:</strong> {e(x.feel)}</p>")
            if x.back_off:
                out.append(f"<p><strong>When to back off:</strong> {e(x.back_off)}</p>")
            if x.adapted_because:
                out.append(f"<p><strong>Changed for you:</strong> {e(x.adapted_because)}</p>")
            out.append("</article>")
    out.append("</section>")

    per_day = sessions_per_day(plan)
    out.append('<section><h2 id="tracking-title">Track your four weeks</h2>')
    out.append(f"<p>{e(guide.log_help) if guide else 'Tick a box each time you do your exercises.'}"
               "</p>")
    # Nine columns do not fit a phone: the table scrolls in its own box (WCAG 1.4.10), which a
    # keyboard can reach and scroll (tabindex) and a screen reader can name (region + label).
    out.append('<div class="scroll" role="region" aria-labelledby="tracking-title" tabindex="0">')
    out.append('<table class="tracking"><thead><tr><td></td>'
               + "".join(f'<th scope="col">Day {d}</th>' for d in range(1, 8))
               + '<th scope="col">How it felt</th></tr></thead><tbody>')
    out += [f'<tr><th scope="row">Week {w}</th>' + _tick_cells(per_day) * 7 + "<td></td></tr>"
            for w in range(1, 5)]
    out.append("</tbody></table></div>")
    if plan.tracking_prompts:
        out.append("<p>At the end of each week, ask yourself:</p><ul>"
                   + "".join(f"<li>{e(p)}</li>" for p in plan.tracking_prompts) + "</ul>")
    if guide is not None:
        out.append(f"<p><strong>Your next visit:</strong> {e(guide.review)}</p>")
    out.append("</section>")

    if plan.faq:
        out.append("<section><h2>Questions people ask</h2>")
        for entry in plan.faq:
            out.append(f"<h3>{e(entry.question)}</h3><p>{e(entry.answer)}</p>")
        out.append("</section>")
    if plan.sources:
        out.append("<section><h2>Where this advice comes from</h2><ul>")
        out += [f"<li>{e(s.title)}. {e(s.publisher)}, {s.year}.</li>" for s in plan.sources]
        out.append("</ul></section>")
    out.append("<section><h2>Please remember</h2>")
    out.append("<p>This sheet is not a substitute for your clinician's advice. Ask your clinician "
               "if you are unsure about any exercise. In an emergency, call "
               f"{e(clinic.emergency_number)}.</p></section>")
    out.append("</main>")
    contact = " · ".join(e(p) for p in (clinic.name, clinic.contact) if p)
    out.append(f"<footer><p>Plan code {plan_code(snapshot)}, revision {snapshot.revision}<br>"
               f"{contact}</p></footer>")
    out.append("</body></html>")
    return "\n".join(part for part in out if part)
