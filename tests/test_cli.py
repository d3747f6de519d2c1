"""The `limber` command as an operator uses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LIMBER_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("LIMBER_DATABASE_URL", "LIMBER_BROKER_URL", "LIMBER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _app():
    from service import create_app

    return create_app()


def test_demo_is_idempotent_and_prints_the_same_working_key_last(runner):
    from sqlalchemy import func, select

    from service.auth import clinic_for_key
    from service.extensions import db
    from service.models import ApiKey, Clinic

    first = runner.invoke(main, ["demo"])
    second = runner.invoke(main, ["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    key = first.output.strip().splitlines()[-1]
    assert key == second.output.strip().splitlines()[-1]
    app = _app()
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(Clinic)) == 1
        assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 1
        assert clinic_for_key(key).slug == "demo"


def test_api_key_create_prints_a_new_key_once_on_the_last_line(runner):
    from service.auth import clinic_for_key

    runner.invoke(main, ["demo"])
    result = runner.invoke(main, ["api-key", "create", "--clinic", "demo", "--name", "portal"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("lmb_") and "cannot be shown again" in result.output
    with _app().test_request_context():
        assert clinic_for_key(key).slug == "demo"


def test_api_key_create_for_an_unknown_clinic_fails_clearly(runner):
    runner.invoke(main, ["db", "upgrade"])
    result = runner.invoke(main, ["api-key", "create", "--clinic", "nope"])
    assert result.exit_code != 0
    assert "no clinic with slug 'nope'" in result.output


def test_templates_check_passes_on_the_shipped_templates(runner):
    result = runner.invoke(main, ["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "all templates are valid" in result.output


def test_templates_check_lists_file_field_problem_and_exits_non_zero(runner, tmp_path):
    from plans.catalogue import DATA_DIR

    broken = tmp_path / "data"
    shutil.copytree(DATA_DIR, broken)
    template = next((broken / "templates").glob("*.yaml"))
    template.write_text(template.read_text().replace("status: approved", "status: sorta"))
    result = runner.invoke(main, ["templates", "check", str(broken)])
    assert result.exit_code == 1
    assert f"templates/{template.name}: review.status:" in result.output
