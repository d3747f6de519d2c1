"""No enumeration: sign-in failures and invites answer alike whoever the address belongs to,
and the webhook URL check does not say where a name points."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import select

from service import audit
from tests.accounts.conftest import add_clinician, csrf_from, sign_in, signed_in


def test_inviting_another_clinics_address_reads_exactly_like_inviting_your_own(
        app, client, people):
    signed_in(client, "admin@a.example")

    def invite(email: str) -> tuple[int, str]:
        resp = client.post("/admin/clinicians", data={
            "csrf_token": csrf_from(client, "/admin/clinicians"), "email": email,
            "name": "New Person", "role": "clinician"})
        text = resp.get_data(as_text=True)
        error = text[text.index('class="field-error"'):]
        return resp.status_code, error[:error.index("</p>")]

    own = invite("pt@a.example")  # already on clinic A's own list
    other = invite("pt@b.example")  # clinic B's clinician
    assert own == other and own[0] == 422
    assert "already signs in" not in own[1]
    from service.extensions import db

    with app.app_context():
        refused = db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.action == audit.CLINICIAN_INVITE_REFUSED)).all()
    assert len(refused) == 2 and all("email_hash" in e.detail for e in refused)
    assert "pt@b.example" not in repr([e.detail for e in refused])


def test_every_sign_in_failure_kind_takes_the_same_time_within_10_ms(app, people):
    """Unknown address, wrong password, deactivated account, and an invited account with no
    password yet (which used to answer in 35 ms against 200 ms): the median of 50 tries each,
    interleaved so machine load falls on all kinds alike."""
    from service.accounts import clinicians
    from service.accounts.models import Clinician
    from service.extensions import db

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # 200 argon2 runs: once, on production's database, keeps the suite quick.
        pytest.skip("timed on PostgreSQL only (production's database)")
    add_clinician(app, people.clinic_a, "gone@a.example")
    with app.app_context():
        gone = db.session.scalar(select(Clinician).where(Clinician.email == "gone@a.example"))
        gone.active = False
        db.session.add(Clinician(clinic_id=people.clinic_a, email="invited@a.example",
                                 name="Invited", role="clinician", password_hash=""))
        db.session.commit()
    kinds = {"unknown": "nobody@a.example", "wrong_password": "pt@a.example",
             "inactive": "gone@a.example", "invited": "invited@a.example"}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    with app.test_request_context():
        for _ in range(50):
            for kind, email in kinds.items():
                start = time.perf_counter()
                assert clinicians.authenticate(email, "wrong horse battery") is None
                times[kind].append(time.perf_counter() - start)
    medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
    spread = max(medians.values()) - min(medians.values())
    assert spread < 10, f"median ms per failure kind: {medians}"


def test_sign_in_failures_all_say_the_same_words(app, people):
    from service.accounts.models import Clinician
    from service.extensions import db

    with app.app_context():
        db.session.add(Clinician(clinic_id=people.clinic_a, email="invited@a.example",
                                 name="Invited", role="clinician", password_hash=""))
        db.session.commit()
    bodies = set()
    for n, email in enumerate(("nobody@a.example", "pt@a.example", "invited@a.example")):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        resp = sign_in(client, email, "wrong horse battery")
        assert resp.status_code == 401
        text = resp.get_data(as_text=True)
        bodies.add(text[text.index('class="field-error"'):][:300])
    assert len(bodies) == 1


def test_webhook_url_errors_do_not_say_which_address_a_name_resolves_to(app, client, clinics,
                                                                         monkeypatch):
    from service.webhooks import http

    answers = {"intranet.portal.example": ["10.20.30.40"],
               "metadata.portal.example": ["169.254.169.254"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such name")
        return answers[host]

    monkeypatch.setattr(http, "resolve", resolve)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    messages = []
    for host in (*answers, "nothing-here.portal.example"):
        resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                           json={"url": f"https://{host}/hooks"})
        assert resp.status_code == 422
        message = resp.get_json()["errors"][0]["message"]
        assert "not allowed" in message
        assert "10.20.30.40" not in message and "169.254" not in message
        messages.append(message.replace(host, "HOST"))
    # Inside, metadata and not resolving at all: one answer, so nothing to tell apart.
    assert len(set(messages)) == 1
