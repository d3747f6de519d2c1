"""Demo data for a fresh install: one clinic and an API key that can be printed again."""

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
        key = demo_api_key(app)
        if db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key))) is None:
            issue_api_key(clinic, name="demo", key=key)
        db.session.commit()
        db.session.refresh(clinic)
        db.session.expunge(clinic)
        return clinic, key
