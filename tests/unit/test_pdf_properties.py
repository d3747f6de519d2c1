"""Properties over many inputs: odd user text and sparse plans never break a handout."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdf_fixtures import make_snapshot
from pdf_helpers import page_texts

from pdf import render_handout
from pdf.html import render_handout_html
from plans.model import HandoutOptions

# Latin, Greek and Cyrillic letters, digits, and the characters that break naive markup.
ALPHABET = st.sampled_from(list("abcxyzABCXYZéüßøłŁ" "αβγΩλΣ" "жЖщЩяЯ" "0189"
                                "<>&\"';:/()[]{}#%*+=?!.,-" " "))
NAMES = st.text(ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=NAMES, notes=st.text(ALPHABET, max_size=300))
def test_any_name_and_notes_render_and_read_back_literally(name, notes):
    """Whatever a clinician types as a name or note (markup characters included) renders, and
    the name comes back out of the PDF as typed. Compared without whitespace: a word longer
    than its column is broken across lines, which is layout, not a change of text."""
    pdf = render_handout(make_snapshot(patient_name=name, notes=notes), HandoutOptions())
    assert "For:" + re.sub(r"\s", "", name) in re.sub(r"\s", "", page_texts(pdf)[0])


def test_a_plan_with_no_exercises_flags_faq_or_sources_still_renders():
    """A sparse plan (nothing optional filled in) renders with its header and footer."""
    snap = make_snapshot()
    plan = dataclasses.replace(snap.plan, exercises=(), red_flags=(), faq=(), sources=(),
                               tracking_prompts=(), habit_anchor="", summary="", notes="")
    snap = dataclasses.replace(snap, plan=plan)
    texts = page_texts(render_handout(snap, HandoutOptions(large_print=True)))
    assert "Maria G." in texts[0] and "Page 1 of" in texts[0]
    assert "<h1>Your home exercise plan</h1>" in render_handout_html(snap, HandoutOptions())
