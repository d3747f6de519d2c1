"""Pose drawings: every pose the catalogue names has a start and an end picture of one body,
and an unknown one never breaks a handout."""

from __future__ import annotations

import dataclasses
import math

import pytest
from pdf_fixtures import make_snapshot
from pdf_helpers import page_texts

from pdf import render_handout
from pdf.illustrations import (
    NEUTRAL_STANDING,
    PHASES,
    POSES,
    Pose,
    drawing_for,
    pose_for,
    svg_for,
)
from plans.catalogue import default_catalogue
from plans.model import HandoutOptions
from plans.schemas import POSES as SCHEMA_POSES

CATALOGUE_POSES = sorted({e.pose for e in default_catalogue().exercises.values()})


def test_every_pose_the_catalogue_may_name_has_a_start_and_an_end():
    """Each pose key the exercise data may name (and each one it does name) has its own start
    and end poses, which differ, and a caption for each."""
    assert set(CATALOGUE_POSES) <= set(SCHEMA_POSES)
    for key in SCHEMA_POSES:
        pair = POSES[key]
        assert pose_for(key, "start") is pair.start and pose_for(key, "end") is pair.end
        assert pair.start != pair.end, key
        assert pair.start_caption.strip() and pair.end_caption.strip(), key
        assert pair.start_caption != pair.end_caption, key


def _segments(pose: Pose) -> list[float]:
    return [math.dist(a, b) for line in (*pose.body, *pose.far)
            for a, b in zip(line, line[1:], strict=False)]


@pytest.mark.parametrize("key", sorted(SCHEMA_POSES))
def test_start_and_end_are_one_body(key):
    """The same person in two positions: every limb and the trunk keep their lengths from the
    start picture to the end picture, and the head its distance from the neck."""
    pair = POSES[key]
    start, end = _segments(pair.start), _segments(pair.end)
    assert len(start) == len(end), key
    assert all(abs(a - b) < 0.1 for a, b in zip(start, end, strict=True)), key
    necks = [math.dist(p.head, p.body[0][-1]) for p in (pair.start, pair.end)]
    assert abs(necks[0] - necks[1]) < 0.1, key


@pytest.mark.parametrize("key", sorted(SCHEMA_POSES))
def test_the_end_picture_shows_which_way_to_move(key):
    """The arrows are on the end picture (the start has none): where the moving part went."""
    pair = POSES[key]
    assert pair.end.arrows and not pair.start.arrows, key


@pytest.mark.parametrize("key", sorted(SCHEMA_POSES) + ["no_such_pose", ""])
@pytest.mark.parametrize("phase", PHASES)
def test_pose_draws_within_its_box_as_pdf_and_svg(key, phase):
    """Drawings fill the asked picture box, stay inside it, and have an SVG twin."""
    drawing = drawing_for(key, 180, 120, phase)
    assert (drawing.width, drawing.height) == (180, 120)
    x0, y0, x1, y1 = drawing.getBounds()
    assert x0 >= 0 and y0 >= 0 and x1 <= drawing.width + 0.5 and y1 <= drawing.height + 0.5
    svg = svg_for(key, "label", phase)
    assert svg.startswith("<svg") and 'role="img"' in svg


def test_start_and_end_are_drawn_at_one_scale():
    """Both pictures of a pose share one frame, so the person is the same size in both: the
    floor-to-head height of a standing start is kept when the end bends over."""
    for key in SCHEMA_POSES:
        a, b = (svg_for(key, "x", p) for p in PHASES)
        assert a.split("viewBox=")[1].split('"')[1] == b.split("viewBox=")[1].split('"')[1]


def test_unknown_pose_key_draws_a_neutral_figure_and_the_handout_renders():
    """An exercise whose pose key is not in the library still renders, with its text and one
    neutral picture captioned with its own picture description."""
    snap = make_snapshot()
    odd = dataclasses.replace(snap.plan.exercises[0], pose="handstand_on_a_unicycle")
    assert pose_for(odd.pose) is NEUTRAL_STANDING
    plan = dataclasses.replace(snap.plan, exercises=(odd, *snap.plan.exercises[1:]))
    texts = page_texts(render_handout(dataclasses.replace(snap, plan=plan), HandoutOptions()))
    assert odd.name in " ".join(texts)
    assert odd.illustration_alt in " ".join(texts)
