"""The accessible HTML version of the handout: structure a screen reader can navigate."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from pdf_fixtures import make_snapshot, png_logo

from pdf.content import pictures
from pdf.html import render_handout_html
from plans.model import HandoutOptions, PageSize


class _Outline(HTMLParser):
    """Collects tags, headings' text, svg labels and all visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3"):
            self._heading = [tag]

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self._heading:
            self.headings.append((self._heading[0], "".join(self._heading[1:])))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _parse(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def test_html_is_a_complete_document_with_language_and_title():
    """A standalone document: doctype, lang, charset, title, print stylesheet."""
    html = render_handout_html(make_snapshot(), HandoutOptions(page_size=PageSize.A4))
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    assert '<meta charset="utf-8">' in html
    assert "<title>Your home exercise plan</title>" in html
    assert "@media print" in html and "size: A4" in html


def test_html_puts_stop_and_get_help_first_with_the_safety_netting_tiers():
    """The first heading after the title is "Stop and get help", then the three section B
    tiers, each followed by its action line, signs and where to go, then the rest in the PDF's
    order."""
    snap = make_snapshot(notes="Walk after lunch.")
    outline = _parse(render_handout_html(snap, HandoutOptions()))
    headings = outline.headings
    assert headings[0] == ("h1", "Your home exercise plan")
    assert headings[1] == ("h2", "Stop and get help")
    tiers = snap.plan.guide.safety_net
    assert [h for _, h in headings[2:5]] == [f"{t.heading}." for t in tiers]
    text = "".join(outline.text)
    for tier in tiers:
        assert tier.action in text and all(sign in text for sign in tier.signs)
    assert "Emergency number: 911" in text
    assert "When the clinic is closed: Call 555-0199" in text
    order = [h for _, h in headings]
    assert order.index("Your week at a glance") < order.index("Notes from your clinician") \
        < order.index("Your exercises") < order.index("Track your four weeks")


def test_html_has_lists_for_steps_cues_and_warning_signs_and_captions():
    """Steps are an ordered list; signs, cues and prompts are unordered lists; every picture
    (start and end) has a caption; every cue, purpose and phase note is there."""
    snap = make_snapshot()
    html = render_handout_html(snap, HandoutOptions())
    outline = _parse(html)
    tags = [t for t, _ in outline.tags]
    assert tags.count("ol") == len(snap.plan.exercises)
    assert tags.count("figcaption") == 2 * len(snap.plan.exercises)
    assert tags.count("ul") >= 3 + len(snap.plan.exercises)
    text = "".join(outline.text)
    for exercise in snap.plan.exercises:
        assert exercise.dose_text in text and exercise.purpose in text
        assert all(cue in text for cue in exercise.cues)
    assert all(n.note in text for n in snap.plan.phase_notes)
    assert "cancer" not in text.lower()


def test_every_illustration_is_an_svg_image_with_its_alt_text():
    """Each exercise's start and end drawings are inline SVG with role="img", aria-label and
    a <title> saying what its caption says, in the PDF's order (start, then end), grouped
    under the exercise's own description of its picture."""
    snap = make_snapshot()
    outline = _parse(render_handout_html(snap, HandoutOptions()))
    svgs = [a for t, a in outline.tags if t == "svg"]
    assert len(svgs) == 2 * len(snap.plan.exercises)
    labels = [a["aria-label"] for a in svgs]
    assert labels == [p.text for x in snap.plan.exercises for p in pictures(x)]
    assert labels[0].startswith("Start: ") and labels[1].startswith("End: ")
    assert all(a.get("role") == "img" for a in svgs)
    assert sum(1 for t, _ in outline.tags if t == "title") == 1 + len(svgs)
    groups = [a["aria-label"] for t, a in outline.tags if a.get("class") == "pictures"]
    assert groups == [x.illustration_alt for x in snap.plan.exercises]
    text = "".join(outline.text)
    for x in snap.plan.exercises:
        for p in pictures(x):
            assert p.text in text  # the visible caption, as printed in the PDF


def test_logo_has_alt_text_and_a_broken_logo_is_left_out():
    """A valid logo is an <img> with alt text; an invalid one is skipped, not an error."""
    good = _parse(render_handout_html(make_snapshot(logo=png_logo()), HandoutOptions()))
    imgs = [a for t, a in good.tags if t == "img"]
    assert imgs and imgs[0]["alt"] == "Riverside Physio logo"
    bad = render_handout_html(make_snapshot(logo="bm90IGEgcG5n"), HandoutOptions())
    assert "<img" not in bad


def test_user_text_is_escaped_and_shown_literally():
    """Names, notes and exercise text with markup characters are escaped, never live markup."""
    name = "<script>alert(1)</script>&\"'"
    snap = make_snapshot(patient_name=name, notes="<b>bold?</b> & \"quotes\"\nnext line")
    plan = dataclasses.replace(snap.plan, exercises=(
        dataclasses.replace(snap.plan.exercises[0], name="Rolls <i>", illustration_alt='a "b" <c>'),
        *snap.plan.exercises[1:]))
    html = render_handout_html(dataclasses.replace(snap, plan=plan), HandoutOptions())
    assert "<script>" not in html and "<b>bold?" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;" in html
    outline = _parse(html)
    text = "".join(outline.text)
    assert name in text
    assert "<b>bold?</b> & \"quotes\"" in text
    assert "Rolls <i>" in text
    labels = [a["aria-label"] for _, a in outline.tags if a.get("class") == "pictures"]
    assert labels[0] == 'a "b" <c>'


def test_large_print_html_uses_16pt_and_wider_line_spacing():
    """Large print carries through to the HTML version."""
    html = render_handout_html(make_snapshot(), HandoutOptions(large_print=True))
    assert "font-size: 16pt" in html and "line-height: 1.5" in html


def test_slow_down_tier_is_in_the_html():
    snap = make_snapshot()
    text = "".join(_parse(render_handout_html(snap, HandoutOptions())).text)
    assert all(sign in text for sign in snap.plan.guide.safety_net[2].signs)
