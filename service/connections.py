"""Pooled database connections: looked at before use only when they sat idle.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` on every checkout, and every transaction is a
checkout: a render job is three (claim, render, store), a waiting handout request three more.
Each ping is a round trip to PostgreSQL, 0.3 ms on an idle machine and 1-4 ms on a busy one,
all on the way to the handout (docs/performance.md, "Pipeline"). A connection returned to the
pool a moment ago was working a moment ago, so only one idle for PING_AFTER_IDLE_SECONDS or
more is pinged: that covers what pre-ping is for (a database restarted, a connection dropped
by the server or the network while idle). One that breaks within the idle window fails its
statement instead, which SQLAlchemy treats like a failed ping from then on (the whole pool is
replaced), and the caller does what it does for any database error: the web answers 503 with
Retry-After, a task waits it out.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import InvalidatePoolError

PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED = "limber_returned_at"

# Engines whose pooled connections a forked child must not use (see forget_after_fork).
_FORK_GUARDED: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited() -> None:
    for engine in list(_FORK_GUARDED):
        # close=False: the sockets are the parent's, which goes on using them; closing them
        # here would end the parent's sessions.
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited)


def forget_after_fork(engine: Engine) -> None:
    """A process forked from this one starts with an empty pool for `engine`.

    A Celery worker's main process uses the database (heartbeats, the claim release on broker
    connect), and billiard forks a new child from it whenever one dies or is recycled. The child
    would inherit the parent's pooled connections, and two processes on one socket interleave
    their messages: a statement answered with the other's result, or a hang. SQLAlchemy's
    advice for os.fork is exactly this: dispose the pool in the child without closing."""
    _FORK_GUARDED.add(engine)


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a connection on checkout when it was back in the pool for `idle_seconds` or more;
    a new connection (just made) and one used a moment ago are not pinged."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:  # noqa: ANN401 - DBAPI objects
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:  # noqa: ANN401
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # As pre-ping does: this connection and every older one are replaced, and the
            # pool tries a new connection for this checkout.
            raise InvalidatePoolError("database connection lost while idle in the pool")


@contextmanager
def unsynced_commits(conn: Connection) -> Iterator[Connection]:
    """On SQLite, commits made in this block are not synced to disk one by one: the next
    synced commit or checkpoint carries them, in order (write-ahead log, `synchronous=NORMAL`),
    so a power cut can lose them but never tear them. Only for writes that something else
    redoes when lost: the render claim (a lost claim leaves the job queued, and the sweeper
    sends it again). A sync is 1-10 ms of every handout's wait on the embedded default. Other
    databases: nothing changes."""
    if conn.dialect.name != "sqlite":
        yield conn
        return
    conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
    try:
        yield conn
    finally:
        try:
            conn.exec_driver_sql("PRAGMA synchronous=FULL")  # as sqlite_on_connect set it
        except Exception:
            # Never hand a connection that does not sync its commits back to the pool.
            conn.invalidate()
            raise
