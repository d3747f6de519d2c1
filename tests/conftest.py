"""Shared fixtures: an app per database backend, a client, a clinic with an API key.

Tests that need Redis, PostgreSQL or Chromium skip (saying why) when the service is absent,
and fail instead when REQUIRE_SERVICES=1, as CI sets it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import Phase, settings

# The mutation gate (tests/mutation/gate.py) must give the same verdict every run, so under it
# every property test draws the same examples and keeps no example database.
# A failing example is not shrunk there: the gate needs only "killed", and shrinking each killed
# mutant's example would cost more than running the tests.
settings.register_profile("mutation", derandomize=True, database=None, deadline=None,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate),
                          report_multiple_bugs=False)
if os.environ.get("LIMBER_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["LIMBER_HYPOTHESIS_PROFILE"])

# Under the gate mutmut runs, for every mutant, the listed tests that reach its function, in no
# set order, and stops at the first failure. Example tests first and Hypothesis tests last
# make a mutant the quick tests already kill cost well under a second, so the gate fits in CI.
_GATE_ORDER = ("test_plans_snapshot.py", "test_plans_dosage.py", "test_plans_assembly.py",
               "test_plans_screening_rules.py", "test_pdf_text.py",
               "test_plans_rule_properties.py", "test_plans_properties.py")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LIMBER_HYPOTHESIS_PROFILE") != "mutation":
        return

    def rank(item):
        name = item.path.name
        generated = bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))
        return generated, _GATE_ORDER.index(name) if name in _GATE_ORDER else len(_GATE_ORDER)

    items.sort(key=rank)  # stable: each file keeps its own order

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get(
    "LIMBER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIMBER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Test runs of several checkouts can share the machine's Redis: each run's apps and the worker
# processes it starts (they inherit the environment) use their own broker keys, so one run's
# worker never takes another run's tasks.
os.environ.setdefault("LIMBER_BROKER_KEY_PREFIX", f"limbertest-{uuid.uuid4().hex[:8]}:")


def need(available: bool, what: str) -> None:
    """Skip without the service, or fail when CI said the services must be there."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{what} not reachable; set REQUIRE_SERVICES=1 to make this a failure")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_available() -> bool:
    return port_open("127.0.0.1", 6379)


def postgres_available() -> bool:
    return port_open("127.0.0.1", 5432)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL, dropped at the end of the session."""
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    import sqlalchemy as sa

    name = f"limber_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every app test runs on SQLite (the embedded default) and PostgreSQL (production)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'limber.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_database")
    from service import create_app, schema

    schema.upgrade(create_app(_config(url, tmp_path_factory.mktemp("migrate"))))
    return url


def _config(url: str, instance: Path, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BROKER_URL": "filesystem://",
        "WEBHOOK_ALLOW_PRIVATE": True,
        # Sign-in counters on a shared Redis: this run's own, like its broker keys.
        "RATELIMIT_KEY_PREFIX": os.environ["LIMBER_BROKER_KEY_PREFIX"] + "signin",
        **extra,
    }


@pytest.fixture()
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    from service import create_app
    from service.extensions import db

    app = create_app(_config(database_url, tmp_path / "instance"))
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class ClinicKeys:
    """Two clinics with a key each, for tenancy tests."""

    def __init__(self, app: Flask) -> None:
        from service import scopes
        from service.auth import issue_api_key
        from service.extensions import db
        from service.models import Clinic

        with app.app_context():
            a = Clinic(slug="clinic-a", name="Clinic A", contact="555-0101", emergency_number="911",
                       out_of_hours="Call 555-0191 (nurse line) or go to urgent care")
            b = Clinic(slug="clinic-b", name="Clinic B", contact="555-0102", emergency_number="999",
                       out_of_hours="Call NHS 111")
            db.session.add_all([a, b])
            db.session.flush()
            # Every scope, keys included, so contract tests can reach every route; the
            # scope rules themselves are tested in tests/security/test_scopes.py.
            _, self.key_a = issue_api_key(a, "test", scope_names=scopes.ALL)
            _, self.key_b = issue_api_key(b, "test", scope_names=scopes.ALL)
            db.session.commit()

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    @property
    def a(self) -> dict[str, str]:
        return self.auth(self.key_a)

    @property
    def b(self) -> dict[str, str]:
        return self.auth(self.key_b)


@pytest.fixture()
def clinics(app: Flask) -> ClinicKeys:
    return ClinicKeys(app)
