"""Reading the server-rendered forms back in tests: the error shown next to a field, and how
many plans are stored (a refused form must store none)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from service.extensions import db
from service.models import Plan


def field_error(text: str, field: str) -> str:
    """The error text shown next to the field whose id is `f-{field}`."""
    found = re.search(rf'id="f-{field}-error">(.*?)</p>', text, re.S)
    assert found, f"no error shown at {field}"
    return found.group(1)


def stored_plans(app) -> int:  # noqa: ANN001 - the Flask app fixture
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Plan))
