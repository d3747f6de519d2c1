"""Pooled connections are pinged before use only after sitting idle (service/connections.py):
a connection the server dropped while idle is replaced before anyone uses it, and one dropped
within the idle window fails one statement, after which the pool has new connections."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from service.connections import ping_when_idle

pytestmark = pytest.mark.services


def _engine(url: str, idle_seconds: float) -> sa.Engine:
    engine = sa.create_engine(url)
    ping_when_idle(engine, idle_seconds)
    return engine


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres_database):
    engine = _engine(postgres_database, idle_seconds=0.05)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_database, first)
        time.sleep(0.2)
        assert _backend_pid(engine) != first  # no error: the ping found it gone
    finally:
        engine.dispose()


def test_a_connection_dropped_within_the_idle_window_fails_once_then_the_pool_recovers(
        postgres_database):
    engine = _engine(postgres_database, idle_seconds=60)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_database, first)
        time.sleep(0.2)
        with pytest.raises(DBAPIError) as failed:
            _backend_pid(engine)  # used a moment ago: not pinged, so the statement fails
        assert failed.value.connection_invalidated
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
