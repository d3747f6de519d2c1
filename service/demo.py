"""Demo data for a fresh install: one clinic, its clinicians, and credentials that can be printed
again."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask
from sqlalchemy import select

from service.auth import KEY_PREFIX, hash_key, issue_api_key
from service.extensions import db
from service.models import ApiKey, Clinic

DEMO_SLUG = "demo"


def demo_api_key(app: Flask) -> str:
    """Derived from the instance secret, so `limber demo` can print the same key every time
    without storing it in plain text."""
    digest = hmac.new(app.config["SECRET_KEY"].encode(), b"limber demo api key",
                      hashlib.sha256).hexdigest()
    return f"{KEY_PREFIX}demo_{digest[:40]}"


DEMO_CLINICIAN_EMAIL = "demo@riverside.example"
DEMO_ADMIN_EMAIL = "admin@riverside.example"


def demo_password(app: Flask, email: str) -> str:
    """Derived from the instance secret like the demo key, so `limber demo` can print it again;
    a real install signs its clinicians in through set-password links instead."""
    digest = hmac.new(app.config["SECRET_KEY"].encode(), f"limber demo password {email}".encode(),
                      hashlib.sha256).hexdigest()
    return f"demo-{digest[:6]}-{digest[6:12]}-{digest[12:18]}"


def _seed_clinicians(app: Flask, clinic: Clinic) -> None:
    from service.accounts.models import Clinician
    from service.accounts.passwords import hash_password, verify_password

    for email, name, role in ((DEMO_CLINICIAN_EMAIL, "Dr Demo Clinician", Clinician.CLINICIAN),
                              (DEMO_ADMIN_EMAIL, "Demo Clinic Admin", Clinician.ADMIN)):
        password = demo_password(app, email)
        row = db.session.scalar(select(Clinician).where(Clinician.email == email))
        if row is None:
            db.session.add(Clinician(clinic_id=clinic.id, email=email, name=name, role=role,
                                     password_hash=hash_password(password)))
        elif not verify_password(row.password_hash, password):
            # The instance secret changed: keep the printed password true.
            row.password_hash = hash_password(password)


def demo_sign_ins(app: Flask) -> list[tuple[str, str, str]]:
    """(role, email, password) of the demo accounts, for printing."""
    return [("Clinician", DEMO_CLINICIAN_EMAIL, demo_password(app, DEMO_CLINICIAN_EMAIL)),
            ("Clinic admin", DEMO_ADMIN_EMAIL, demo_password(app, DEMO_ADMIN_EMAIL))]


DEMO_OUT_OF_HOURS = "Call 555-0199 (nurse line) or go to urgent care"


def seed_demo(app: Flask) -> tuple[Clinic, str]:
    """Create the demo clinic and key if missing; running it again changes nothing."""
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == DEMO_SLUG))
        if clinic is None:
            clinic = Clinic(slug=DEMO_SLUG, name="Riverside Physio (demo)",
                            contact="Phone 555-0100 · riverside-physio.example",
                            emergency_number="911", allowed_embed_origins=[])
            db.session.add(clinic)
            db.session.flush()
        if not clinic.out_of_hours:
            # Demo instances seeded before clinics had an out-of-hours route get one, so the
            # demo can still make handouts.
            clinic.out_of_hours = DEMO_OUT_OF_HOURS
        key = demo_api_key(app)
        if db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key))) is None:
            issue_api_key(clinic, name="demo", key=key)
        _seed_clinicians(app, clinic)
        db.session.commit()
        db.session.refresh(clinic)
        db.session.expunge(clinic)
        return clinic, key
