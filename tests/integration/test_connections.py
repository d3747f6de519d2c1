"""Pooled connections (service/connections.py) are pinged before use only after sitting idle:
a connection the server dropped while idle is replaced before anyone uses it, and one dropped
within the idle window fails one statement, after which the pool has new connections. Commits
left unsynced on SQLite are so only inside their block, and still commit. A forked process
starts with an empty pool and leaves the parent's connections working."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from service.config import sqlite_on_connect
from service.connections import forget_after_fork, ping_when_idle, unsynced_commits


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


@pytest.mark.services
def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres_database):
    engine = _engine(postgres_database, idle_seconds=0.05)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_database, first)
        time.sleep(0.2)
        assert _backend_pid(engine) != first  # no error: the ping found it gone
    finally:
        engine.dispose()


@pytest.mark.services
def test_a_forked_child_opens_its_own_connection_and_the_parent_keeps_its(postgres_database):
    # What billiard does when it replaces a dead worker child: fork from a parent whose pool
    # holds a connection its heartbeat thread goes on using.
    engine = _engine(postgres_database, idle_seconds=60)
    forget_after_fork(engine)
    try:
        parent = _backend_pid(engine)
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child, which reports through the pipe
            code = 1
            try:
                os.write(write, str(_backend_pid(engine)).encode())
                engine.dispose()  # closes only the child's own connection
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as pipe:
            seen_by_child = int(pipe.read() or 0)
        assert os.waitpid(child, 0)[1] == 0
        assert seen_by_child not in (0, parent)
        assert _backend_pid(engine) == parent  # still open and still the same session
    finally:
        engine.dispose()


@pytest.mark.services
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


def test_unsynced_commits_are_committed_and_the_connection_syncs_again_after(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", pool_size=1,
                              max_overflow=0)
    sa.event.listen(engine, "connect", sqlite_on_connect)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT)")
            conn.exec_driver_sql("INSERT INTO jobs VALUES (1, 'queued')")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, \
                unsynced_commits(conn):
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            conn.exec_driver_sql("UPDATE jobs SET status = 'rendering' WHERE id = 1")
        other = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        with other.connect() as reader:
            assert reader.exec_driver_sql("SELECT status FROM jobs").scalar() == "rendering"
        other.dispose()
        # The same pooled connection, handed out again: every commit synced (FULL) as before.
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()
