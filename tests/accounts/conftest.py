"""Clinicians in two clinics, and a signed-in test client."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ClinicKeys

PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "__Host-limber_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class People:
    clinic_a: int
    clinic_b: int
    keys: ClinicKeys


@functools.cache
def _hashed(password: str) -> str:
    """argon2id is slow on purpose; one hash per password per test session is plenty."""
    from service.accounts.passwords import hash_password

    return hash_password(password)


def add_clinician(app: Flask, clinic_id: int, email: str, role: str = "clinician",
                  password: str = PASSWORD, name: str = "Dr Test") -> int:
    from service.accounts.models import Clinician
    from service.extensions import db

    with app.app_context():
        row = Clinician(clinic_id=clinic_id, email=email, name=name, role=role,
                        password_hash=_hashed(password))
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.fixture()
def people(app: Flask, clinics: ClinicKeys) -> People:
    from sqlalchemy import select

    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        a = db.session.scalar(select(Clinic.id).where(Clinic.slug == "clinic-a"))
        b = db.session.scalar(select(Clinic.id).where(Clinic.slug == "clinic-b"))
    add_clinician(app, a, "pt@a.example", name="Pat Therapist")
    add_clinician(app, a, "admin@a.example", role="admin", name="Ada Admin")
    add_clinician(app, b, "pt@b.example", name="Bo Other")
    return People(a, b, clinics)


def csrf_from(client: FlaskClient, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    match = CSRF.search(resp.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):  # noqa: ANN201
    token = csrf_from(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password,
                                         "csrf_token": token})


def session_token(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def signed_in(client: FlaskClient, email: str) -> FlaskClient:
    resp = sign_in(client, email)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return client
