"""The production WSGI app, plus one fault the suite needs to inject at an exact moment.

A request carrying `X-Limber-Fault: die-after-commit` kills its own web process with SIGKILL
after the app has finished (so its transaction has committed) and before a byte of the
response is sent: the "web process killed between commit and response" case. Loaded only by
tests/faults; nothing in service/ knows about it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

from service.wsgi import app as limber_app


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("HTTP_X_LIMBER_FAULT") != "die-after-commit":
        return limber_app(environ, start_response)
    body = b"".join(limber_app(environ, lambda *a, **k: None))
    del body
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit  # not reached
