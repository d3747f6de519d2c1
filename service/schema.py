"""Applies Alembic migrations to the app's database: the only way tables are created."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

from service.extensions import db

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(app: Flask, revision: str = "heads") -> None:
    """Bring the database to `revision`; safe to run on every start.

    "heads" rather than "head": features migrate on their own branches from 0001 and are
    merged by a merge revision later; until then all branches apply.
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        with db.engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)


def autogenerate(app: Flask, message: str) -> None:
    """For developers: write a new migration from the difference between models and database."""
    with app.app_context():
        with db.engine.begin() as connection:
            cfg = alembic_config(app.config["SQLALCHEMY_DATABASE_URI"])
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True)
