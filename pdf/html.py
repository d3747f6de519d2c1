"""The same handout as one accessible HTML document, for screen readers and reflowing screens."""

from __future__ import annotations

import base64
import binascii
from html import escape

from pdf.illustrations import svg_for
from pdf.render import content_id
from pdf.sections import HANDOUT_TITLE
from plans.model import HandoutOptions, HandoutSnapshot, PageSize, Tier

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _css(options: HandoutOptions) -> str:
    size = "18pt" if options.large_print else "14pt"
    line = "1.5" if options.large_print else "1.4"
    page = "letter" if options.page_size is PageSize.LETTER else "A4"
    margin = "1in" if options.large_print else "0.75in"
    return f"""
:root {{ color: #111; background: #fff; }}
body {{ font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: {size};
  line-height: {line}; max-width: 42em; margin: 0 auto; padding: 1em; text-align: left; }}
h1 {{ font-size: 1.8em; margin: 0.4em 0; }}
h2 {{ font-size: 1.4em; margin-top: 1.4em; }}
h3 {{ font-size: 1.15em; margin-bottom: 0.2em; }}
.stop {{ border: 4px solid #a30000; padding: 0.2em 1em 0.8em; margin: 1em 0; }}
.stop h2, .stop h3 {{ color: #a30000; margin-top: 0.5em; }}
.facts {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 0.8em; margin: 0; }}
.facts dt {{ font-weight: bold; }}
.facts dd {{ margin: 0; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #6b6b6b; padding: 0.25em 0.4em; text-align: left;
  vertical-align: top; }}
.tracking td.tick {{ width: 1.6em; }}
.exercise {{ border-top: 1px solid #6b6b6b; padding-top: 0.4em; }}
.exercise svg {{ width: 16em; max-width: 100%; height: auto; }}
.dose {{ font-weight: bold; }}
.logo {{ height: 3em; width: auto; }}
footer {{ border-top: 1px solid #6b6b6b; margin-top: 2em; font-size: 0.9em; }}
@media print {{
  @page {{ size: {page}; margin: {margin}; }}
  body {{ max-width: none; padding: 0; }}
  .stop, .exercise, table, figure {{ break-inside: avoid; }}
  h2, h3 {{ break-after: avoid; }}
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


def render_handout_html(snapshot: HandoutSnapshot, options: HandoutOptions) -> str:
    """A complete HTML document of the handout; every piece of user text is escaped.

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
        "</header>",
        "<main>",
        f"<h1>{e(HANDOUT_TITLE)}</h1>",
    ]
    # The warning signs come before anything else a reader meets, as on page 1 of the PDF.
    flags = {tier: [f for f in plan.red_flags if f.tier is tier] for tier in Tier}
    out.append('<section class="stop" aria-labelledby="stop-heading">')
    out.append('<h2 id="stop-heading">Stop and get help</h2>')
    if flags[Tier.EMERGENCY]:
        out.append(f"<h3>Call {e(clinic.emergency_number)} or go to the emergency department "
                   "now if you have:</h3>")
        out.append("<ul>" + "".join(f"<li>{e(f.text)}</li>" for f in flags[Tier.EMERGENCY])
                   + "</ul>")
    if flags[Tier.SAME_DAY]:
        out.append("<h3>Call your clinic today if you have:</h3>")
        out.append("<ul>" + "".join(f"<li>{e(f.text)}</li>" for f in flags[Tier.SAME_DAY])
                   + "</ul>")
        out.append(f"<p><strong>{e(clinic.name)}:</strong> {e(clinic.contact)}</p>")
    out.append("</section>")

    out.append('<dl class="facts">')
    for label, value in (("For", plan.patient_name), ("From", snapshot.clinician),
                         ("Date", snapshot.created_on),
                         ("Plan", f"{snapshot.plan_id}, version {snapshot.revision}")):
        out.append(f"<dt>{label}:</dt><dd>{e(value)}</dd>")
    out.append("</dl>")

    out.append(f"<section><h2>{e(plan.title)}</h2>")
    if plan.summary:
        out.append(f"<p>{e(plan.summary)}</p>")
    out.append("</section>")

    out.append("<section><h2>Your week at a glance</h2>")
    if plan.habit_anchor:
        out.append(f"<p><strong>When:</strong> {e(plan.habit_anchor)}</p>")
    out.append("<table><thead><tr><th scope=\"col\">Exercise</th><th scope=\"col\">How much</th>"
               "</tr></thead><tbody>")
    out += [f'<tr><th scope="row">{e(x.name)}</th><td>{e(x.dose_text)}</td></tr>'
            for x in plan.exercises]
    out.append("</tbody></table></section>")

    if flags[Tier.SLOW_DOWN]:
        out.append("<section><h2>Slow down and check in</h2>")
        out.append("<p>Ease off, make the movement smaller, and tell your clinician if you "
                   "have:</p>")
        out.append("<ul>" + "".join(f"<li>{e(f.text)}</li>" for f in flags[Tier.SLOW_DOWN])
                   + "</ul></section>")

    out.append("<section><h2>Your exercises</h2>")
    for number, x in enumerate(plan.exercises, start=1):
        alt = x.illustration_alt or f"Drawing of {x.name}"
        out.append(f'<article class="exercise" aria-labelledby="ex-{number}">')
        out.append(f'<h3 id="ex-{number}">{number}. {e(x.name)}</h3>')
        out.append(f'<p class="dose">How much: {e(x.dose_text)}</p>')
        out.append(f"<figure>{svg_for(x.pose, alt)}</figure>")
        out.append("<ol>" + "".join(f"<li>{e(step)}</li>" for step in x.steps) + "</ol>")
        if x.feel:
            out.append(f"<p><strong>What you should feel:</strong> {e(x.feel)}</p>")
        if x.back_off:
            out.append(f"<p><strong>When to back off:</strong> {e(x.back_off)}</p>")
        if x.adapted_because:
            out.append(f"<p><strong>Changed for you:</strong> {e(x.adapted_because)}</p>")
        if x.cues:
            out.append(f"<p><strong>Tip:</strong> {e(x.cues[0])}</p>")
        out.append("</article>")
    out.append("</section>")

    out.append("<section><h2>Track your week</h2>")
    out.append("<p>Tick a box for each day you do the exercise. Days 1 to 7 start on the day "
               "you begin.</p>")
    out.append('<table class="tracking"><thead><tr><th scope="col">Exercise</th>'
               + "".join(f'<th scope="col">Day {d}</th>' for d in range(1, 8))
               + '<th scope="col">How did it feel?</th></tr></thead><tbody>')
    out += [f'<tr><th scope="row">{e(x.name)}</th>' + '<td class="tick"></td>' * 7
            + "<td></td></tr>" for x in plan.exercises]
    out.append("</tbody></table>")
    if plan.tracking_prompts:
        out.append("<p>At the end of each day, ask yourself:</p><ul>"
                   + "".join(f"<li>{e(p)}</li>" for p in plan.tracking_prompts) + "</ul>")
    out.append("</section>")

    if plan.faq:
        out.append("<section><h2>Questions people ask</h2>")
        for entry in plan.faq:
            out.append(f"<h3>{e(entry.question)}</h3><p>{e(entry.answer)}</p>")
        out.append("</section>")
    if plan.notes.strip():
        out.append("<section><h2>Notes from your clinician</h2>")
        for block in plan.notes.replace("\r\n", "\n").split("\n\n"):
            if block.strip():
                out.append(f"<p>{_lines(block.strip())}</p>")
        out.append("</section>")
    if plan.sources:
        out.append("<section><h2>Where this advice comes from</h2><ul>")
        out += [f"<li>{e(s.title)}. {e(s.publisher)}, {s.year}.</li>" for s in plan.sources]
        out.append("</ul></section>")
    out.append("<section><h2>Please remember</h2>")
    out.append("<p>This sheet is not a substitute for your clinician's advice. Ask your clinician "
               "if you are unsure about any exercise.</p>")
    out.append(f"<p>In an emergency, call {e(clinic.emergency_number)}.</p></section>")
    out.append("</main>")
    out.append(f"<footer><p>Plan {e(snapshot.plan_id)}, version {snapshot.revision} · "
               f"ID {content_id(snapshot)}<br>{e(clinic.name)} · {e(clinic.contact)}</p>"
               "</footer>")
    out.append("</body></html>")
    return "\n".join(part for part in out if part)
