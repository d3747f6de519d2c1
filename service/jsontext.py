"""JSON for database columns, encoded once.

A plan's snapshot (about 14 KB) was encoded twice per creation: sorted and compact for its
content hash, then again by the JSON column on insert; together about a tenth of a creation's
CPU (docs/performance.md, plan creation). The canonical text serves both: the engine's JSON
serializer (`serialize`, set in service/config.py for SQLite and PostgreSQL alike) passes an
`EncodedJSON` through as it is and encodes anything else as SQLAlchemy's default would.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class EncodedJSON(str):
    """JSON text that is already encoded: a JSON column stores it as it is."""

    __slots__ = ()


def canonical(value: Any) -> EncodedJSON:  # noqa: ANN401 - any JSON value
    """Sorted keys, no spaces: the same value always gives the same text (and hash)."""
    return EncodedJSON(json.dumps(value, sort_keys=True, separators=(",", ":")))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def serialize(value: Any) -> str:  # noqa: ANN401 - any JSON value
    return value if isinstance(value, EncodedJSON) else json.dumps(value)
