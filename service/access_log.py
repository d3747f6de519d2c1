"""Access logs without secrets or patient data: no query strings, no credentials from paths."""

from __future__ import annotations

import logging
import re

# Both web servers log requests through the logging module: "werkzeug" for `limber run`,
# "gunicorn.access" for gunicorn. A filter on each covers every handler they have.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")

# Path segments that are credentials: a single-use link token (set-password, embed) or an embed
# session key. The route prefix stays so an operator can tell what kind of request it was.
_SECRET_SEGMENT = re.compile(r"(?<!/static)(/embed/(?:s/)?|/set-password/)[A-Za-z0-9_.~-]+")
# A query string inside a logged request line: it may hold a portal's patient reference.
_QUERY = re.compile(r"(?<=[^\s\"])\?[^\s\"]*")


def redact(text: str) -> str:
    return _SECRET_SEGMENT.sub(r"\1[redacted]", _QUERY.sub("", text))


class RedactingFilter(logging.Filter):
    """Rewrites the formatted message, so no handler ever sees what it removes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Idempotent, so every app the process builds may call it."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
