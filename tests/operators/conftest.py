"""Helpers for the operator tests: render handouts as a worker would, dump every stored text."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select


def render_all(app: Flask) -> int:
    """Run every unfinished render job in this process, as a worker would."""
    from service.extensions import db
    from service.models import RenderJob
    from workers.tasks import render_handout

    with app.app_context():
        ids = db.session.scalars(select(RenderJob.id).where(
            RenderJob.status.notin_([RenderJob.DONE, RenderJob.FAILED]))).all()
        for job_id in ids:
            render_handout(job_id)
        return len(ids)


def stored_text(app: Flask) -> str:
    """Every row of every table as text (binary columns decoded loosely): what a database
    dump would show."""
    from service.extensions import db

    parts: list[str] = []
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)
