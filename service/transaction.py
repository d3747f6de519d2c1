"""One commit per request: the view's writes and its idempotency answer land together, and
work that must follow the commit (dispatch, broker sends) runs after it and cannot fail it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import g, has_app_context

from service.extensions import db

log = logging.getLogger(__name__)

_AFTER = "limber_after_commit"


def deferring() -> bool:
    """True inside `deferred()`: the caller of the view commits, not the service layer."""
    return has_app_context() and g.get(_AFTER) is not None


@contextmanager
def deferred() -> Iterator[list[Callable[[], object]]]:
    """Within this block `commit()` only flushes and queues its after-commit work in the list
    yielded; whoever opened the block commits once (with anything it adds) and then calls
    `run_after_commit` on the list."""
    callbacks: list[Callable[[], object]] = []
    setattr(g, _AFTER, callbacks)
    try:
        yield callbacks
    finally:
        g.pop(_AFTER, None)


def commit(after: Callable[[], object] | None = None) -> None:
    """Commit the service layer's writes, then run `after`; or, inside `deferred()`, flush
    (so constraint errors still surface here) and leave both to the block's owner."""
    if deferring():
        db.session.flush()
        if after is not None:
            getattr(g, _AFTER).append(after)
        return
    db.session.commit()
    if after is not None:
        run_after_commit([after])


def run_after_commit(callbacks: list[Callable[[], object]]) -> None:
    """Best effort: what was committed stays the answer. Each step here is also done by the
    sweeper (a pending render job, an unsent delivery), so a failure only delays it."""
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - logged by type only: text may hold patient data
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001, S110 - the connection is gone; nothing to undo
                pass
            log.warning("after-commit step %s failed (%s); the sweeper will finish it",
                        getattr(callback, "__name__", "step"), type(exc).__name__)
