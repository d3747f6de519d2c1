"""Clinics with allowed embed origins, and helpers to open an embed link like a portal would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ClinicKeys

PORTAL_A = "https://portal.clinic-a.example"
PORTAL_B = "https://portal.clinic-b.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def portals(app: Flask, clinics: ClinicKeys) -> ClinicKeys:
    """Clinic A allows its portal and a developer's localhost; clinic B allows its own portal."""
    from sqlalchemy import select

    from service.extensions import db
    from service.models import Clinic

    with app.app_context():
        for slug, origins in (("clinic-a", [PORTAL_A, "http://localhost:8080"]),
                              ("clinic-b", [PORTAL_B])):
            clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug))
            clinic.allowed_embed_origins = origins
        db.session.commit()
    return clinics


def create_link(client: FlaskClient, headers: dict[str, str], **body: Any):  # noqa: ANN201
    payload = {"patient_reference": "MRN-1", "parent_origin": PORTAL_A, **body}
    return client.post("/api/v1/embed-sessions", json=payload, headers=headers)


def link_path(resp) -> str:  # noqa: ANN001
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return "/embed/" + resp.get_json()["url"].rsplit("/embed/", 1)[1]


def open_session(client: FlaskClient, headers: dict[str, str], **body: Any) -> str:
    """Create a link and open it; returns the session's base path (/embed/s/<key>/)."""
    resp = client.get(link_path(create_link(client, headers, **body)))
    assert resp.status_code == 303, resp.status_code
    return urlsplit(resp.headers["Location"]).path
