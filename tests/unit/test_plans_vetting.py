"""check_templates: passes the shipped data, and names file, field and problem for broken copies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from plans.catalogue import DATA_DIR, CatalogueError, load_catalogue
from plans.vetting import Problem, check_templates, content_hash, stamp_content_hashes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A private copy of the shipped data dir to break."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text("utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")


def exercise(doc: dict, ex_id: str) -> dict:
    return next(e for e in doc["exercises"] if e["id"] == ex_id)


def problems_for(data: Path, file: str, field: str) -> list[Problem]:
    return [p for p in check_templates(data) if p.file == file and p.field == field]


def test_shipped_templates_pass_every_check():
    assert [str(p) for p in check_templates(DATA_DIR)] == []


def test_problem_prints_as_file_field_problem():
    assert str(Problem("a.yaml", "b.c", "is wrong")) == "a.yaml: b.c: is wrong"


def test_exercise_without_steps_is_reported(data):
    edit(data / "exercises.yaml", lambda d: exercise(d, "glute_bridge").pop("steps"))
    [p] = problems_for(data, "exercises.yaml", "exercises.glute_bridge.steps")
    assert "required" in p.problem.lower()


def test_exercise_with_empty_cues_or_back_off_is_reported(data):
    def change(d):
        exercise(d, "dead_bug")["cues"] = []
        exercise(d, "dead_bug")["back_off"] = ""
    edit(data / "exercises.yaml", change)
    assert problems_for(data, "exercises.yaml", "exercises.dead_bug.cues")
    assert problems_for(data, "exercises.yaml", "exercises.dead_bug.back_off")


def test_unknown_exercise_id_in_a_template_is_reported(data):
    edit(data / "templates" / "core_routine.yaml",
         lambda d: d["phases"][1]["items"][0].update(exercise="toe_touch_bounce"))
    [p] = problems_for(data, "templates/core_routine.yaml", "phases.1.items.0.exercise")
    assert p.problem == "unknown exercise 'toe_touch_bounce'"


def test_unknown_swap_target_and_source_are_reported(data):
    edit(data / "exercises.yaml",
         lambda d: exercise(d, "strap_hamstring_stretch")["swaps"].update(
             nerve_symptoms="no_such_move"))
    edit(data / "templates" / "desk_day.yaml", lambda d: d["sources"].append("blog_2020"))
    assert problems_for(data, "exercises.yaml",
                        "exercises.strap_hamstring_stretch.swaps.nerve_symptoms")
    [p] = problems_for(data, "templates/desk_day.yaml", "sources.3")
    assert "blog_2020" in p.problem


def test_default_dose_outside_its_range_is_reported(data):
    edit(data / "exercises.yaml",
         lambda d: exercise(d, "strap_hamstring_stretch")["dose"].update(hold_seconds=90))
    [p] = problems_for(data, "exercises.yaml",
                       "exercises.strap_hamstring_stretch.dose.hold_seconds")
    assert p.problem == "90 is outside the allowed range 15 to 45"


def test_template_dose_outside_the_exercise_range_is_reported(data):
    edit(data / "templates" / "progression.yaml",
         lambda d: d["phases"][1]["items"][1]["dose"].update(hold_seconds=120))
    assert problems_for(data, "templates/progression.yaml", "phases.1.items.1.dose.hold_seconds")


def test_bad_review_status_is_reported(data):
    edit(data / "templates" / "gentle_start.yaml", lambda d: d["review"].update(status="ok-ish"))
    [p] = problems_for(data, "templates/gentle_start.yaml", "review.status")
    assert "approved" in p.problem


def test_missing_reviewer_and_bad_review_date_are_reported(data):
    edit(data / "templates" / "gentle_start.yaml",
         lambda d: d["review"].update(reviewer="", date="last week"))
    assert problems_for(data, "templates/gentle_start.yaml", "review.reviewer")
    assert problems_for(data, "templates/gentle_start.yaml", "review.date")


def test_hard_to_read_text_is_reported_with_its_grade(data):
    edit(data / "exercises.yaml", lambda d: exercise(d, "glute_bridge").update(
        purpose="Facilitates neuromuscular recruitment of the gluteal musculature, consequently "
                "augmenting lumbopelvic stabilisation throughout functional activities.",
        feel="Considerable posterior musculature activation, predominantly gluteal."))
    [p] = problems_for(data, "exercises.yaml", "exercises.glute_bridge.purpose")
    assert "Flesch-Kincaid grade" in p.problem and "most allowed is 8" in p.problem


def test_straight_knee_long_hold_without_a_nerve_swap_is_reported(data):
    edit(data / "exercises.yaml",
         lambda d: exercise(d, "stool_forward_fold").update(swaps={}))
    found = problems_for(data, "exercises.yaml", "exercises.stool_forward_fold.swaps")
    assert {p.problem for p in found} == {
        "a straight-knee long hold needs a nerve_symptoms swap or exclusion",
        "a straight-knee long hold needs a high_irritability swap or exclusion",
        "a nerve-tensioning move needs a nerve_symptoms swap or exclusion"}


def test_nerve_tensioning_move_without_a_nerve_swap_is_reported(data):
    edit(data / "exercises.yaml",
         lambda d: exercise(d, "sliding_hamstring_floss").update(swaps={}))
    found = problems_for(data, "exercises.yaml", "exercises.sliding_hamstring_floss.swaps")
    assert {p.problem for p in found} == {
        "a nerve-tensioning move needs a nerve_symptoms swap or exclusion"}


def test_screening_finding_in_an_unknown_category_is_reported(data):
    def change(d):
        d["findings"][0]["category"] = "no_such_category"
    edit(data / "screening.yaml", change)
    assert problems_for(data, "screening.yaml", "findings.saddle_numbness.category")


def test_unknown_pose_key_is_reported(data):
    edit(data / "exercises.yaml", lambda d: exercise(d, "dead_bug").update(pose="cartwheel"))
    assert problems_for(data, "exercises.yaml", "exercises.dead_bug.pose")


def test_red_flag_file_missing_a_tier_is_reported(data):
    edit(data / "red_flags.yaml",
         lambda d: d.update(red_flags=[f for f in d["red_flags"] if f["tier"] != "same_day"]))
    [p] = problems_for(data, "red_flags.yaml", "red_flags")
    assert "same_day" in p.problem


def test_not_yaml_is_reported_not_raised(data):
    (data / "templates" / "core_routine.yaml").write_text("id: [unclosed\n", "utf-8")
    [p] = problems_for(data, "templates/core_routine.yaml", "")
    assert "not valid YAML" in p.problem


def test_broken_data_stops_the_loader_with_the_same_problems(data):
    edit(data / "exercises.yaml", lambda d: exercise(d, "glute_bridge").pop("steps"))
    with pytest.raises(CatalogueError) as e:
        load_catalogue(data)
    assert "exercises.glute_bridge.steps" in str(e.value)


def test_content_changed_after_review_is_reported_and_not_offered(data):
    """Editing what a patient reads without re-stamping the hash takes the template off offer."""
    edit(data / "exercises.yaml",
         lambda d: exercise(d, "glute_bridge").update(feel="Work in your bottom."))
    stale = {p.file for p in check_templates(data) if p.field == "content_hash"}
    # every template that can show the bridge, and only those
    assert stale == {"templates/core_routine.yaml", "templates/gentle_start.yaml",
                     "templates/progression.yaml"}
    cat = load_catalogue(data)
    assert "core_routine" not in {t.id for t in cat.approved_templates()}
    assert "desk_day" in {t.id for t in cat.approved_templates()}
    assert sorted(stamp_content_hashes(data)) == ["core_routine", "gentle_start", "progression"]
    assert check_templates(data) == []


def test_review_details_do_not_change_the_hash_but_content_does():
    t = {"id": "x", "version": 1, "review": {"status": "draft"}, "content_hash": "", "title": "A"}
    same = content_hash(t, {})
    assert content_hash({**t, "review": {"status": "approved"}, "content_hash": "f"}, {}) == same
    assert content_hash({**t, "title": "B"}, {}) != same
    assert content_hash({**t, "version": 2}, {}) != same
    assert content_hash(t, {"exercises": {"a": 1}}) != same


def test_draft_template_is_loaded_but_not_offered(data):
    edit(data / "templates" / "desk_day.yaml", lambda d: d["review"].update(status="draft"))
    cat = load_catalogue(data)
    assert "desk_day" in cat.templates
    assert "desk_day" not in {t.id for t in cat.approved_templates()}


def test_missing_textstat_is_a_clear_problem_not_a_crash():
    code = textwrap.dedent("""
        import sys
        sys.modules["textstat"] = None  # makes `import textstat` fail
        from plans.catalogue import DATA_DIR
        from plans.vetting import check_templates
        for p in check_templates(DATA_DIR):
            print(p)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "reading level: cannot check reading level: textstat is not installed" in out.stdout
