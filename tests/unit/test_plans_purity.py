"""plans/ is the pure domain: importing it pulls in no web, queue, database or PDF stack."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "celery", "kombu", "sqlalchemy", "reportlab", "redis", "werkzeug")


def test_importing_plans_and_building_a_plan_loads_no_framework():
    """Load every plans module and assemble a plan; none of Flask, Celery, SQLAlchemy, ReportLab
    (or textstat, a dev-only dependency) may appear in sys.modules."""
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys, plans
        for m in pkgutil.iter_modules(plans.__path__):
            importlib.import_module("plans." + m.name)
        from plans.assembly import assemble_plan
        from plans.catalogue import default_catalogue
        from plans.model import PlanRequest
        assemble_plan(default_catalogue(), PlanRequest("core_routine", "A.B."))
        bad = sorted(m for m in sys.modules
                     if m.split(".")[0] in {FORBIDDEN + ("textstat", "nltk")!r})
        print(",".join(bad))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""


def test_plans_source_has_no_forbidden_import_statement():
    """A lazy import inside a function would slip past sys.modules; the source must not have one."""
    offenders = []
    for path in (ROOT / "plans").rglob("*.py"):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and \
                    words[1].split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
