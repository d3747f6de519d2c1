"""Timestamps of the pipeline's steps in every process, for bench/pipeline_trace.py.

Python imports `sitecustomize` at start-up from any folder on PYTHONPATH, so with this folder on
it and PIPE_TRACE_DIR set, every process of a stack (web, Celery main process and children,
beat) wraps a few functions after their modules are imported and appends one line per step to
PIPE_TRACE_DIR/ev-<pid>.log: `epoch pid thread step key`. The keys are routes, queues and plan
ids, never patient data. Without PIPE_TRACE_DIR it does nothing. Measuring only: never on a
real service.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

OUT = os.environ.get("PIPE_TRACE_DIR")
_files: dict[int, Any] = {}


def ev(name: str, key: str = "") -> None:
    pid = os.getpid()
    if pid not in _files:  # a forked child writes its own file
        _files[pid] = open(f"{OUT}/ev-{pid}.log", "a", buffering=1)  # noqa: SIM115
    _files[pid].write(f"{time.time():.6f} {pid} {threading.get_ident() % 10000} {name} "
                      f"{key}\n")


def wrap(target: Any, attr: str, name: str) -> None:  # noqa: ANN401
    orig = getattr(target, attr)

    @functools.wraps(orig)
    def traced(*a: Any, **k: Any) -> Any:  # noqa: ANN401
        ev(name + ":in")
        try:
            return orig(*a, **k)
        finally:
            ev(name + ":out")

    setattr(target, attr, traced)


def _tasks(m: Any) -> None:  # noqa: ANN401
    for attr, name in (("_render", "task"), ("claim", "claim"), ("taken_job", "taken_job"),
                       ("render_handout_with_pages", "pdf"), ("render_handout_html", "html"),
                       ("_record_handout_event", "event")):
        wrap(m, attr, name)


def _handout_wait(m: Any) -> None:  # noqa: ANN401
    for attr, name in (("wait_until_settled", "wait"), ("_subscribe", "subscribe"),
                       ("_job_status", "jobstatus"), ("notify_settled", "notify")):
        wrap(m, attr, name)


def _handouts(m: Any) -> None:  # noqa: ANN401
    wrap(m, "handout_state", "handout_state")
    wrap(m, "pdf_response", "pdf_response")


def _flask(m: Any) -> None:  # noqa: ANN401
    orig = m.Flask.wsgi_app

    def traced(self: Any, environ: dict, start_response: Any) -> Any:  # noqa: ANN401
        what = environ.get("REQUEST_METHOD", "") + environ.get("PATH_INFO", "")
        ev("req:in", what)
        try:
            return orig(self, environ, start_response)
        finally:
            ev("req:out", what)

    m.Flask.wsgi_app = traced


def _filesystem_broker(m: Any) -> None:  # noqa: ANN401
    orig = m.Channel._get

    def get(self: Any, queue: str) -> Any:  # noqa: ANN401
        message = orig(self, queue)
        ev("fs_get", queue)
        return message

    m.Channel._get = get


def _session(m: Any) -> None:  # noqa: ANN401
    wrap(m.Session, "commit", "commit")


def _engine(m: Any) -> None:  # noqa: ANN401
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:  # noqa: ANN401
        ev("sql:in", "_".join(statement.split()[:3])[:50])

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:  # noqa: ANN401
        ev("sql:out", statement.split()[0])

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)


HOOKS: dict[str, Callable[[Any], None]] = {
    "workers.tasks": _tasks, "service.handout_wait": _handout_wait,
    "service.handouts": _handouts, "flask.app": _flask,
    "service.queue": lambda m: wrap(m, "send", "send"),
    "service.transaction": lambda m: wrap(m, "run_after_commit", "after_commit"),
    "billiard.pool": lambda m: wrap(m.Pool, "apply_async", "pool_apply"),
    "kombu.transport.redis": lambda m: wrap(m.Channel, "_brpop_read", "brpop_read"),
    "service.filesystem_broker": _filesystem_broker, "sqlalchemy.orm.session": _session,
    "sqlalchemy.engine.create": _engine,
}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs the module's hook right after the module itself has run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:  # noqa: ANN401
        if name not in HOOKS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: Any) -> None:  # noqa: ANN401
            run(module)
            HOOKS[name](module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if OUT:
    sys.meta_path.insert(0, _AfterImport())
