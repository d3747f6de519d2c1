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

SHOTS = ROOT / "docs" / "screenshots"


def shrink(path: Path) -> None:
    """256-colour PNGs: the UI is flat colour, so this is a third of the size and looks the same."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


if __name__ == "__main__":
    env = {**os.environ, "LIMBER_SCREENSHOTS": str(SHOTS)}
    code = subprocess.call([sys.executable, "-m", "pytest", "-q",  # noqa: S603
                            "tests/ui/test_browser.py",
                            "-k", "build_a_plan or out_of_range or red_flag or webhook",
                            *sys.argv[1:]], cwd=ROOT, env=env)
    if code == 0:
        for png in sorted(SHOTS.glob("*.png")):
            shrink(png)
            print(f"{png.relative_to(ROOT)}: {png.stat().st_size // 1024} KB")
    sys.exit(code)
