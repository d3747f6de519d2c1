#!/usr/bin/env python3
"""Regenerates docs/screenshots/*.png by running the browser tests with LIMBER_SCREENSHOTS set.

Needs Chromium (LIMBER_CHROMIUM, default /usr/bin/chromium); uses the same real server and
Celery worker as tests/ui/test_browser.py, so the pictures show what the tests check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {**os.environ, "LIMBER_SCREENSHOTS": str(ROOT / "docs" / "screenshots")}
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q",  # noqa: S603
                              "tests/ui/test_browser.py", "-k", "build_a_plan or out_of_range",
                              *sys.argv[1:]], cwd=ROOT, env=env))
