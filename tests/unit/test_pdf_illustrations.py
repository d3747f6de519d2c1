"""Pose drawings: every named pose draws, and an unknown one never breaks a handout."""

from __future__ import annotations

import dataclasses

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import page_texts

from pdf import render_handout
from pdf.illustrations import NEUTRAL_STANDING, POSES, drawing_for, pose_for, svg_for
from plans.model import HandoutOptions

NAMED_POSES = ["supine_knees_bent", "supine_leg_raised_strap", "supine_leg_raised_bent_knee",
               "supine_floss", "tall_kneel_hinge", "standing_hinge", "bridge", "dead_bug",
               "stool_fold", "seated_knee_extend", "walking", "standing_knee_bend", "ankle_pump"]


def test_every_pose_the_catalogue_may_name_has_its_own_drawing():
    """Each pose key the templates use has pose data (not the neutral fallback)."""
    for key in NAMED_POSES:
        assert key in POSES and pose_for(key) is not NEUTRAL_STANDING


@pytest.mark.parametrize("key", NAMED_POSES + ["no_such_pose", ""])
def test_pose_draws_within_its_box_as_pdf_and_svg(key):
    """Drawings fill the asked picture box, stay inside it, and have an SVG twin."""
    drawing = drawing_for(key, 180, 120)
    assert (drawing.width, drawing.height) == (180, 120)
    x0, y0, x1, y1 = drawing.getBounds()
    assert x0 >= 0 and y0 >= 0 and x1 <= drawing.width + 0.5 and y1 <= drawing.height + 0.5
    svg = svg_for(key, "label")
    assert svg.startswith("<svg") and 'role="img"' in svg


def test_unknown_pose_key_draws_a_neutral_figure_and_the_handout_renders():
    """An exercise whose pose key is not in the library still renders, with its text."""
    snap = make_snapshot()
    odd = dataclasses.replace(snap.plan.exercises[0], pose="handstand_on_a_unicycle")
    plan = dataclasses.replace(snap.plan, exercises=(odd, *snap.plan.exercises[1:]))
    texts = page_texts(render_handout(dataclasses.replace(snap, plan=plan), HandoutOptions()))
    assert odd.name in " ".join(texts)
