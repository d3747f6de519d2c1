"""The least a plan creation can cost: a Flask + SQLAlchemy endpoint that inserts one row
holding the same snapshot JSON in one transaction. bench/api.py calls it in-process; under
gunicorn (bench/api.py --http) it is `bench.minimal_insert:wsgi()`, configured by
BENCH_MINIMAL_URL (the database) and BENCH_MINIMAL_PAYLOAD (a file holding the snapshot).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, request


def minimal_app(url: str, payload: str) -> Flask:
    """One row of the same size as a plan's snapshot, one transaction."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table("bench_minimal", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("public_id", sa.String(40)), sa.Column("body", sa.JSON))
    meta.create_all(engine)
    app = Flask("minimal")

    @app.post("/rows")
    def insert() -> tuple[dict, int]:
        data = request.get_json()
        with engine.begin() as conn:
            conn.execute(table.insert().values(public_id=uuid.uuid4().hex[:20],
                                               body={**json.loads(payload), **data}))
        return {"ok": True}, 201

    @app.get("/healthz")
    def ready() -> tuple[dict, int]:
        return {"ok": True}, 200

    return app


def wsgi() -> Flask:
    return minimal_app(os.environ["BENCH_MINIMAL_URL"],
                       Path(os.environ["BENCH_MINIMAL_PAYLOAD"]).read_text())
