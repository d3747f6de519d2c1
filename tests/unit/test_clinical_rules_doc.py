"""docs/clinical-rules.md cannot cite a test that does not exist or skip a screening category."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from plans.catalogue import default_catalogue

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "clinical-rules.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def test_every_cited_test_exists():
    cited = CITED.findall(DOC.read_text("utf-8"))
    assert len(cited) >= 10
    missing = []
    for path, name in cited:
        file = ROOT / path
        names = set()
        if file.exists():
            names = {n.name for n in ast.walk(ast.parse(file.read_text("utf-8")))
                     if isinstance(n, ast.FunctionDef)}
        if name not in names:
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_screening_category_has_a_row_with_a_cited_test():
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$",
                                                         DOC.read_text("utf-8"), re.M)}
    for category in default_catalogue().screening.categories:
        assert category in rows, category
        assert CITED.search(rows[category]), category
