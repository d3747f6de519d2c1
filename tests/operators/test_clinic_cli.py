"""An operator onboards a second clinic from the CLI alone and runs it end to end: its admin
sets a password from the printed link, a key from the CLI creates plans, disabling refuses
keys and sign-ins and keeps the data, and an export holds every revision and handout."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.operators.conftest import render_all
from tests.unit.pdf_helpers import flat, page_texts

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "a long enough password for the test"


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LIMBER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("LIMBER_PUBLIC_URL", "https://limber.example.org")
    for name in ("LIMBER_DATABASE_URL", "LIMBER_BROKER_URL", "LIMBER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _app():
    from service import create_app

    return create_app({"TESTING": True})


def _set_password(client, link: str) -> str:
    path = link.removeprefix("https://limber.example.org")
    page = client.get(path)
    assert page.status_code == 200
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    resp = client.post(path, data={"password": PASSWORD, "confirm": PASSWORD,
                                   "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"]


def test_a_new_clinic_is_created_and_used_end_to_end_from_the_cli(runner, tmp_path):
    out = _ok(runner, "clinic", "create", "northside", "--name", "Northside Physio",
              "--admin-email", "Boss@Northside.example", "--emergency-number", "112",
              "--out-of-hours", "Call 116117 when we are closed",
              "--contact", "Phone 555-0142")
    [link] = re.findall(r"https://limber\.example\.org/set-password/\S+", out)
    assert "northside" in out and "boss@northside.example" in out

    app = _app()
    client = app.test_client()
    home = _set_password(client, link)
    assert client.get(home).status_code == 200, "the admin is signed in"
    assert client.get(link.removeprefix("https://limber.example.org")).status_code == 404, \
        "the link works once"
    fresh = _ok(runner, "clinic", "admin-link", "northside", "--email", "boss@northside.example")
    assert client.get(fresh.strip().removeprefix("https://limber.example.org")).status_code == 200
    wrong = runner.invoke(main, ["clinic", "admin-link", "northside", "--email", "x@y.example"])
    assert wrong.exit_code != 0 and "no clinic admin" in wrong.output

    key = _ok(runner, "api-key", "create", "--clinic", "northside").strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    created = client.post("/api/v1/plans", headers=auth, json={
        "template_id": "core_routine", "patient": {"display_name": "Nia North"}})
    assert created.status_code == 201
    plan_id = created.get_json()["id"]
    assert client.patch(f"/api/v1/plans/{plan_id}", headers=auth,
                        json={"notes": "Week 2"}).status_code == 200
    render_all(app)
    pdf = client.get(f"/api/v1/plans/{plan_id}/handout", headers=auth)
    text = flat(" ".join(page_texts(pdf.data)))
    assert pdf.status_code == 200 and "112" in text and "116117" in text

    listing = _ok(runner, "clinic", "list")
    [line] = [row for row in listing.splitlines() if row.startswith("northside")]
    assert line.split()[:5] == ["northside", "enabled", "kept", "1", "1"]

    _ok(runner, "clinic", "disable", "northside")
    refused = client.get("/api/v1/plans", headers=auth)
    assert refused.status_code == 401 and "disabled" in refused.get_json()["detail"]
    signed_out = client.get(home)
    assert signed_out.status_code in (302, 303) and "/sign-in" in signed_out.headers["Location"]
    page = client.get("/sign-in")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    again = client.post("/sign-in", data={"email": "boss@northside.example",
                                          "password": PASSWORD, "csrf_token": token})
    assert again.status_code != 303, "a disabled clinic's admin cannot sign in"
    assert "disabled" in _ok(runner, "clinic", "list").split("northside", 1)[1].split("\n")[0]

    _ok(runner, "clinic", "enable", "northside")
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth).status_code == 200, \
        "data kept while disabled"

    archive_path = tmp_path / "northside.zip"
    out = _ok(runner, "clinic", "export", "northside", str(archive_path))
    assert "1 plan(s), 2 revision(s)" in out
    assert archive_path.stat().st_mode & 0o077 == 0, "patient data: readable by the owner only"
    with zipfile.ZipFile(archive_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["clinic"]["slug"] == "northside"
        [entry] = manifest["plans"]
        assert entry["id"] == plan_id and [r["number"] for r in entry["revisions"]] == [1, 2]
        plan = json.loads(archive.read(f"plans/{plan_id}/plan.json"))
        assert plan["patient"]["display_name"] == "Nia North"
        second = json.loads(archive.read(f"plans/{plan_id}/revisions/2.json"))
        assert second["request"]["notes"] == "Week 2"
        assert second["snapshot"]["plan_id"] == plan_id
        for revision in entry["revisions"]:
            if "pdf" not in revision:
                continue
            data = archive.read(revision["pdf"])
            import hashlib

            assert hashlib.sha256(data).hexdigest() == revision["pdf_sha256"]
            assert "Nia North" in flat(" ".join(page_texts(io.BytesIO(data).read())))
            assert "Nia North" in archive.read(revision["html"]).decode()
        assert any("pdf" in r for r in entry["revisions"]), "rendered handouts are exported"
    again = runner.invoke(main, ["clinic", "export", "northside", str(archive_path)])
    assert again.exit_code != 0 and "exists" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["clinic", "create", "Bad Slug!", "--name", "X", "--admin-email", "a@b.example",
      "--out-of-hours", "Urgent care", "--contact", "Phone 555-0100"], "slug"),
    (["clinic", "create", "okslug", "--name", "X", "--admin-email", "not-an-email",
      "--out-of-hours", "Urgent care", "--contact", "Phone 555-0100"], "--admin-email"),
    (["clinic", "create", "okslug", "--name", "X", "--admin-email", "a@b.example",
      "--out-of-hours", "  ", "--contact", "Phone 555-0100"], "--out-of-hours"),
    (["clinic", "create", "okslug", "--name", "X", "--admin-email", "a@b.example",
      "--out-of-hours", "Urgent care", "--contact", "no phone here"], "--contact"),
    (["clinic", "retention", "nowhere", "30"], "no clinic with slug"),
    (["clinic", "disable", "nowhere"], "no clinic with slug"),
])
def test_bad_operator_input_names_what_to_fix_and_stores_nothing(runner, args, message):
    result = runner.invoke(main, args)
    assert result.exit_code != 0 and message in result.output
    assert "okslug" not in _ok(runner, "clinic", "list")


def test_a_slug_or_admin_email_already_in_use_is_refused(runner):
    _ok(runner, "clinic", "create", "first", "--name", "First", "--admin-email", "a@x.example",
        "--out-of-hours", "Urgent care", "--contact", "Phone 555-0100")
    for args in (["first", "--name", "Again", "--admin-email", "b@x.example"],
                 ["second", "--name", "Second", "--admin-email", "A@X.example"]):
        result = runner.invoke(main, ["clinic", "create", *args, "--out-of-hours", "Urgent care",
                                      "--contact", "Phone 555-0100"])
        assert result.exit_code != 0 and "already" in result.output
    assert "second" not in _ok(runner, "clinic", "list")


def test_retention_is_set_shown_and_turned_off(runner):
    _ok(runner, "clinic", "create", "keeper", "--name", "Keeper", "--admin-email", "k@x.example",
        "--out-of-hours", "Urgent care", "--contact", "Phone 555-0100")
    assert "erased 90 days after" in _ok(runner, "clinic", "retention", "keeper", "90")
    assert "90 days" in _ok(runner, "clinic", "list")
    bad = runner.invoke(main, ["clinic", "retention", "keeper", "0"])
    assert bad.exit_code != 0 and "1 to" in bad.output
    assert "keeps its plans" in _ok(runner, "clinic", "retention", "keeper", "off")
