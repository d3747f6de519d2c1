"""Worker warm-up (workers/warmup.py) and the rl_accel accelerator: both make handouts
faster and neither may change a single byte of them (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).absolute().parents[2]

RENDER = """
import hashlib, sys
if "no-accel" in sys.argv:
    sys.modules["_rl_accel"] = None  # what reportlab sees where rl_accel is not installed
from reportlab.lib import rl_accel
if "warm" in sys.argv:
    from celery.signals import celeryd_after_setup
    from workers import warmup
    warmup.install()
    celeryd_after_setup.send(sender="test-worker")
    from pdf.illustrations import drawing_for
    from pdf.styles import sheet_for
    # Every option set's style sheet and the drawings are made before any job arrives.
    assert sheet_for.cache_info().currsize == 4, sheet_for.cache_info()
    assert drawing_for.cache_info().currsize > 0
from pdf_fixtures import make_snapshot, png_logo
from pdf import render_handout
from plans.model import HandoutOptions, PageSize
snap = make_snapshot(logo=png_logo(), notes="Walk after lunch on work days.")
digest = hashlib.sha256()
for size in PageSize:
    for large in (False, True):
        digest.update(render_handout(snap, HandoutOptions(page_size=size, large_print=large)))
print(bool(rl_accel._c_funcs), digest.hexdigest())
"""


def render_in_fresh_process(*flags: str) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "unit")])}
    out = subprocess.run([sys.executable, "-c", RENDER, *flags], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout.split()
    return out[0], out[1]


def test_a_warmed_worker_and_the_pure_python_fallback_render_the_same_bytes():
    _, cold = render_in_fresh_process()
    _, warmed = render_in_fresh_process("warm")
    accel_off, plain = render_in_fresh_process("no-accel")
    assert accel_off == "False"
    assert cold == warmed == plain

