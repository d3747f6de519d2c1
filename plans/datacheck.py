"""The record of one problem in a data file, and the fingerprint of a template's content.

Kept below the catalogue so the loader and the vetting tool share them without importing each
other (plans/ layers: data -> catalogue -> rules -> assembly, vetting and readability on top).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one data file."""

    file: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.problem}"


def content_hash(template: Mapping[str, Any], referenced: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a parsed template plus the catalogue entries it uses.

    The review block and the stored hash are left out, so approving a template does not change
    its hash, while any change to what a patient would read or do does.
    """
    body = {k: v for k, v in template.items() if k not in ("review", "content_hash")}
    canonical = json.dumps(
        {"template": body, "referenced": referenced},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
