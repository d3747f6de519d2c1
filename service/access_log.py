"""Access logs without secrets or patient data: no query strings, no tokens from paths."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Paths whose last segment is a bearer secret (a single-use link); the rest of the path is kept
# so an operator can still see which kind of request it was.
_TOKEN_PATHS = re.compile(r"^(/set-password/|/embed/)[^/?\s]+")


def redact_path(path: str) -> str:
    """The path as it may be logged: query string dropped, link tokens replaced by '…'."""
    path = path.split("?", 1)[0]
    return _TOKEN_PATHS.sub(r"\1…", path)


class RedactingFilter(logging.Filter):
    """For werkzeug's development-server log, whose request line is '"GET /path?q HTTP/1.1"'."""

    _REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) (HTTP/[0-9.]+)"')

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) if isinstance(a, str) else a
                                for a in record.args)
        return True

    def _clean(self, text: str) -> str:
        return self._REQUEST_LINE.sub(
            lambda m: f'"{m.group(1)} {redact_path(m.group(2))} {m.group(3)}"', text)


def redact_werkzeug_log() -> None:
    logging.getLogger("werkzeug").addFilter(RedactingFilter())


class RedactingGunicornLogger(GunicornLogger):
    """`gunicorn --logger-class service.access_log.RedactingGunicornLogger`."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U") or "")
        atoms["r"] = f"{atoms['m']} {atoms['U']} {atoms['H']}"
        atoms["q"] = "-"
        atoms["f"] = "-"  # the referrer can hold another page's query string
        return atoms
