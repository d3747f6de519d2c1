"""Imports inside plans/ only point down the layers, so there is no cycle to untangle again.

data (model, errors, datacheck, printable; then dosage, schemas) -> catalogue (and guide,
the handout's safety-netting data) -> rules -> assembly (and snapshot) -> readability ->
vetting and report. Imports inside functions count too: a lazy import is how the old
catalogue -> vetting -> readability -> assembly -> catalogue cycle hid.
"""

from __future__ import annotations

import ast
from pathlib import Path

import plans

RANK = {
    "model": 0, "errors": 0, "datacheck": 0, "printable": 0,
    "dosage": 1, "schemas": 1,
    "catalogue": 2, "guide": 2,
    "rules": 3,
    "assembly": 4, "snapshot": 4,
    "readability": 5,
    "vetting": 6, "report": 6,
}
PLANS_DIR = Path(plans.__file__).parent


def plans_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "plans":
                out.update(a.name for a in node.names)
            elif node.module.startswith("plans."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names
                       if a.name.startswith("plans."))
    return out


def test_every_plans_module_has_a_layer():
    modules = {p.stem for p in PLANS_DIR.glob("*.py")} - {"__init__"}
    assert modules == set(RANK), "place a new plans/ module in RANK (and in this docstring)"


def test_imports_only_point_down_the_layers():
    wrong = []
    for path in sorted(PLANS_DIR.glob("*.py")):
        if path.stem == "__init__":
            continue
        for target in plans_imports(path):
            if RANK[target] >= RANK[path.stem]:
                wrong.append(f"plans.{path.stem} imports plans.{target}")
    assert wrong == []


def test_the_checker_sees_a_lazy_upward_import(tmp_path):
    """The test above cannot pass by not seeing imports inside functions."""
    f = tmp_path / "catalogue.py"
    f.write_text("def f():\n    from plans.vetting import Problem\n    import plans.assembly\n")
    assert plans_imports(f) == {"vetting", "assembly"}
