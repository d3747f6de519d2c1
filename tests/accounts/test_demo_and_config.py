"""The demo's sign-ins, the plain-http cookie switch, and sign-in limits shared through Redis."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from service.demo import demo_sign_ins, seed_demo
from tests.accounts.conftest import add_clinician, sign_in
from tests.conftest import need, redis_available


def test_demo_seeds_a_clinician_and_an_admin_who_can_sign_in_with_the_printed_passwords(app):
    seed_demo(app)
    seed_demo(app)  # idempotent
    (_, clinician, clinician_pw), (_, admin, admin_pw) = demo_sign_ins(app)
    assert clinician == "demo@riverside.example"
    client = app.test_client()
    assert sign_in(client, clinician, clinician_pw).status_code == 303
    assert client.get("/admin/clinicians").status_code == 403
    admin_client = app.test_client()
    assert sign_in(admin_client, admin, admin_pw).status_code == 303
    assert admin_client.get("/admin/clinicians").status_code == 200


def test_limber_demo_prints_how_to_sign_in_and_the_api_key_last(tmp_path, monkeypatch):
    from service.cli import main

    monkeypatch.setenv("LIMBER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LIMBER_SECRET_KEY", "cli-demo-secret")
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "/sign-in" in result.output
    assert "demo@riverside.example  password: demo-" in result.output
    assert lines[-1].startswith("lmb_demo_")


def test_insecure_cookie_switch_drops_secure_and_the_host_prefix(app, people):
    app.config["UI_INSECURE_COOKIES"] = True
    client = app.test_client()
    resp = sign_in(client, "pt@a.example")
    cookie = next(c for c in resp.headers.getlist("Set-Cookie")
                  if c.startswith("limber_session="))
    assert "Secure" not in cookie and "HttpOnly" in cookie
    assert client.get("/plans").status_code == 200


def test_behind_a_proxy_the_account_limit_holds_for_every_forwarded_client(app, people):
    """The limit on one account does not care which address guesses (rotating
    X-Forwarded-For gains nothing); another account is not held by it."""
    from service import create_app

    proxied = create_app({**app.config, "PROXY_HOPS": 1})

    def attempt(client_ip: str, email: str = "pt@a.example") -> int:
        c = proxied.test_client()
        c.environ_base["HTTP_X_FORWARDED_FOR"] = client_ip
        return sign_in(c, email, "wrong wrong wrong").status_code

    assert [attempt(f"203.0.113.{n}") for n in range(6)][-1] == 429
    assert attempt("203.0.113.60") == 429, "a fresh forwarded address got past the account limit"
    assert attempt("203.0.113.61", "admin@a.example") == 401, "another account was held"


STRONG_SECRET = "Qm3v9XzL0pR7tW2yB5nC8dF1gH4jK6aS-_eUiOoPqZxY"


def test_production_refuses_insecure_cookies(tmp_path):
    from service import create_app

    with pytest.raises(RuntimeError, match="never production"):
        create_app({"LIMBER_ENV": "production", "SECRET_KEY": STRONG_SECRET,
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13",
                    "UI_INSECURE_COOKIES": True, "INSTANCE_PATH": str(tmp_path)})


@pytest.mark.services
def test_sign_in_limit_is_shared_by_every_web_process_through_redis(app, people):
    """Two app instances (two gunicorn workers) count failures in the same Redis."""
    need(redis_available(), "Redis on 127.0.0.1:6379")
    from service import create_app

    url = "redis://127.0.0.1:6379/13"
    # A fresh account each run: the counters in Redis outlive the test by a minute.
    email = f"{uuid.uuid4().hex[:12]}@a.example"
    add_clinician(app, people.clinic_a, email)
    first = create_app({**app.config, "RATELIMIT_STORAGE_URI": url})
    twin = create_app({**app.config, "RATELIMIT_STORAGE_URI": url})
    for n in range(5):
        worker = first if n % 2 else twin
        assert sign_in(worker.test_client(), email, "nope nope nope").status_code == 401
    assert sign_in(first.test_client(), email).status_code == 429
    assert sign_in(twin.test_client(), email).status_code == 429
