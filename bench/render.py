"""Prints handout render time against a bare-canvas floor, and memory growth over many renders.

Run from the repository root:
    python bench/render.py [--renders 50] [--memory-renders 1000] [--starts 3]

Each handout is timed against two others in the same run, alternated: plain platypus (the same
content laid out with stock ReportLab parts and no caching, bench/plain_platypus.py) and the
floor. The floor draws the very same text lines (read back from the rendered handout: same strings,
same fonts, same sizes, same positions, same pages) with canvas.drawString, embedding the same
TrueType subsets, but with no layout engine, tables, boxes or illustrations. The ratio is the
price of layout plus pictures. Uses the real template catalogue when plans.catalogue is
importable, else the test fixture in tests/unit/pdf_fixtures.py.

Then, in fresh child processes (issue 14): the rl_accel C extension on vs hidden (median CPU
per handout, children alternated, lower of two runs kept), and a worker's first job (assemble,
PDF and HTML for a new patient) cold vs after workers.warmup.warm(), each against the same
process's tenth job. The last line is `RESULT {json}` for scripts.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit"), str(ROOT / "bench")]

from plain_platypus import render_plain  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from pdf import styles as st  # noqa: E402
from pdf.render import render_handout_with_pages  # noqa: E402
from plans.model import HandoutOptions, HandoutSnapshot, PageSize, PlanRequest  # noqa: E402

Line = tuple[str, str, float, float, float]  # text, font, size, x, y


def snapshots() -> tuple[str, list[tuple[str, HandoutSnapshot]]]:
    """(where the plans came from, [(template id, snapshot)])."""
    from pdf_fixtures import make_snapshot, png_logo

    base = make_snapshot(logo=png_logo())
    try:
        from plans.assembly import assemble_plan
        from plans.catalogue import default_catalogue
    except ImportError:
        return "test fixture (plans.catalogue not importable)", [("fixture", base)]
    catalogue = default_catalogue()
    out = []
    for template in catalogue.approved_templates():
        plan = assemble_plan(catalogue, PlanRequest(template_id=template.id,
                                                     patient_name="Maria G."))
        out.append((template.id, HandoutSnapshot(
            plan_id="PLN-BENCH", revision=1, created_on="2026-11-28",
            clinician=base.clinician, clinic=base.clinic, plan=plan)))
    return "real catalogue (plans.catalogue)", out


def text_lines(pdf: bytes) -> tuple[tuple[float, float], list[list[Line]]]:
    """Every text run of the rendered handout, per page, with its font, size and position."""
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    pages: list[list[Line]] = []
    for page in reader.pages:
        runs: list[Line] = []

        def visit(text, cm, tm, font, size, runs=runs):
            text = text.strip("\n")
            if not text.strip():
                return
            name = st.BOLD if font and "Bold" in str(font.get("/BaseFont", "")) else st.REGULAR
            scale = abs(tm[0]) or 1.0
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            runs.append((text, name, size * scale, x, y))

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return (float(box.width), float(box.height)), pages


def floor_render(page_size: tuple[float, float], pages: list[list[Line]]) -> bytes:
    """The same lines drawn straight onto a canvas: the cheapest PDF with this text."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=page_size, invariant=1, initialFontName=st.REGULAR)
    for runs in pages:
        for text, font, size, x, y in runs:
            canvas.setFont(font, size)
            canvas.drawString(x, y, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def median_ms(runs: list[Callable[[], object]], n: int) -> list[float]:
    """Median CPU milliseconds of each, timed alternately.

    CPU time of this process (time.process_time), not wall time: on a shared machine other
    processes' load stretches wall time unevenly and made the ratio swing by +-0.5.
    Alternating spreads what load remains (cache pressure) evenly over both.
    """
    for _ in range(3):  # warm: fonts registered, drawings cached, imports done
        for run in runs:
            run()
    times: list[list[float]] = [[] for _ in runs]
    clock = time.process_time
    for _ in range(n):
        for run, out in zip(runs, times, strict=True):
            start = clock()
            run()
            out.append(clock() - start)
    return [statistics.median(t) * 1000 for t in times]


def rss_kib() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--memory-renders", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=3,
                        help="fresh processes per mode for the first-job measurement")
    args = parser.parse_args()
    source, plans = snapshots()
    print(f"plans: {source}; {args.renders} warm renders each, median CPU ms")
    print(f"{'template':<16} {'options':<16} {'pages':>5} {'handout ms':>11} {'floor ms':>9} "
          f"{'ratio':>6} {'plain ms':>9} {'ratio':>6}")
    worst = worst_plain = 0.0
    for template_id, snapshot in plans:
        for options in (HandoutOptions(), HandoutOptions(large_print=True),
                        HandoutOptions(page_size=PageSize.A4)):
            pdf, pages = render_handout_with_pages(snapshot, options)
            size, lines = text_lines(pdf)
            full, floor, plain = median_ms([
                lambda s=snapshot, o=options: render_handout_with_pages(s, o),
                lambda z=size, ls=lines: floor_render(z, ls),
                lambda s=snapshot, o=options: render_plain(s, o)], args.renders)
            ratio = full / floor
            worst = max(worst, ratio)
            worst_plain = max(worst_plain, full / plain)
            print(f"{template_id:<16} {options.key:<16} {pages:>5} {full:>11.1f} {floor:>9.1f} "
                  f"{ratio:>5.2f}x {plain:>9.1f} {full / plain:>5.2f}x")
    print(f"worst ratio to the floor: {worst:.2f}x (target <= 2x): "
          f"{'met' if worst <= 2 else 'NOT met'}")
    print(f"worst ratio to plain platypus (bench/plain_platypus.py): {worst_plain:.2f}x "
          f"(target <= 0.6x): {'met' if worst_plain <= 0.6 else 'NOT met'}")

    snapshot = plans[0][1]
    options = HandoutOptions()
    for _ in range(20):
        render_handout_with_pages(snapshot, options)
    before = rss_kib()
    for _ in range(args.memory_renders):
        render_handout_with_pages(snapshot, options)
    after = rss_kib()
    growth = (after - before) / before * 100
    print(f"RSS before {before} KiB, after {args.memory_renders} renders {after} KiB: "
          f"growth {growth:+.1f}% (target < 5%): {'met' if growth < 5 else 'NOT met'}")
    result = {"worst_floor_ratio": round(worst, 3), "worst_plain_ratio": round(worst_plain, 3),
              "rss_growth_pct": round(growth, 2),
              **accel_and_starts(args.renders, args.starts)}
    print("RESULT " + json.dumps(result, sort_keys=True))


# One child process: `accel` (median CPU ms of `n` renders), or a worker's first job against
# its tenth, `cold` or after warm-up. Arguments: mode, n, hide-accel (0/1).
CHILD = r"""
import json, statistics, sys, time
mode, n, hide = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if hide:
    sys.modules["_rl_accel"] = None  # what reportlab sees where rl_accel is not installed
from reportlab.lib import rl_accel
from pdf.html import render_handout_html
from pdf.render import render_handout_with_pages
from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import ClinicInfo, HandoutOptions, HandoutSnapshot, PlanRequest
from workers.warmup import warm

clinic = ClinicInfo(name="Riverside Physio", contact="555-0142", emergency_number="911",
                    out_of_hours="Call 555-0199")

def job(i):
    catalogue = default_catalogue()
    template = catalogue.approved_templates()[0]
    plan = assemble_plan(catalogue, PlanRequest(template_id=template.id,
                                                 patient_name=f"Patient {i}"))
    snap = HandoutSnapshot(plan_id=f"PLN-{i}", revision=1, created_on="2026-11-28",
                           clinician="Dr. A", clinic=clinic, plan=plan)
    start = time.process_time()
    render_handout_with_pages(snap, HandoutOptions())
    render_handout_html(snap, HandoutOptions())
    return (time.process_time() - start) * 1000

out = {"accel": bool(rl_accel._c_funcs)}
if mode == "accel":
    for i in range(3):
        job(i)
    out["ms"] = statistics.median(job(i) for i in range(n))
else:
    out["warm_s"] = warm() if mode == "warm" else 0.0
    times = [job(i) for i in range(10)]
    out["first"], out["tenth"] = times[0], times[-1]
print(json.dumps(out))
"""


def child(mode: str, n: int, hide_accel: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(n), "1" if hide_accel else "0"],
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    return json.loads(out.strip().splitlines()[-1])


def accel_and_starts(renders: int, starts: int) -> dict:
    """Accelerator on/off and cold/warm first jobs, each in fresh processes."""
    on, off = [], []
    for _ in range(2):
        a, b = child("accel", renders, False), child("accel", renders, True)
        on.append(a)
        off.append(b)
    installed = on[0]["accel"]
    on_ms, off_ms = min(r["ms"] for r in on), min(r["ms"] for r in off)
    print(f"\nrl_accel {'installed' if installed else 'NOT installed'}: job (PDF + HTML) "
          f"{on_ms:.1f} ms with, {off_ms:.1f} ms hidden: {on_ms / off_ms:.2f}x")
    firsts: dict[str, list[float]] = {"cold": [], "warm": []}
    print("fresh worker processes, first job vs the same process's tenth (CPU ms):")
    for _ in range(starts):
        for mode in ("cold", "warm"):
            r = child(mode, 0, False)
            firsts[mode].append(r["first"] / r["tenth"])
            print(f"  {mode:<5} first {r['first']:7.1f}  tenth {r['tenth']:6.1f}  "
                  f"ratio {r['first'] / r['tenth']:5.2f}x  (warm-up {r['warm_s']:.2f} s wall)")
    cold, warm = statistics.median(firsts["cold"]), statistics.median(firsts["warm"])
    print(f"median first/tenth: cold {cold:.2f}x, warmed {warm:.2f}x (target <= 2x): "
          f"{'met' if warm <= 2 else 'NOT met'}")
    return {"rl_accel": installed, "accel_ms": round(on_ms, 2), "no_accel_ms": round(off_ms, 2),
            "accel_ratio": round(on_ms / off_ms, 3), "cold_first_ratio": round(cold, 3),
            "warm_first_ratio": round(warm, 3)}


if __name__ == "__main__":
    main()
