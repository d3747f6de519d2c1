"""Prints this branch's handout render CPU time beside another revision's (default: main).

Run from the repository root: python bench/render_vs_main.py [--ref main] [--renders 20] [--cold]

--cold empties this tree's process-wide line-break cache (pdf.flowables._BREAKS) before every
timed render: a worker's first handout of a template. Without it, the template's text has been
broken before, as for every later patient on that template.

The other revision's pdf/ and plans/ are taken with `git archive` into a temporary folder. Each
side renders in its own child process (two packages named pdf cannot share one interpreter),
every approved template in Letter/A4 x standard/large, and reports the median CPU time
(time.process_time) per handout. The children run alternately, twice each, and the lower median
of the two runs is kept, so both sides see the same machine load. Each side assembles its plans
with its own plans/ code: the ratio is the price of what the handout now prints.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
CASES = [(size, large) for size in ("letter", "a4") for large in (False, True)]


def child(code_dir: str, renders: int, cold: bool = False) -> None:
    """Runs inside a child: renders every case `renders` times and prints JSON results."""
    sys.path.insert(0, code_dir)
    from pdf.render import render_handout_with_pages
    from plans.assembly import assemble_plan
    from plans.catalogue import default_catalogue
    from plans.model import ClinicInfo, HandoutOptions, HandoutSnapshot, PageSize, PlanRequest

    names = {f.name for f in fields(ClinicInfo)}
    clinic = ClinicInfo(**{k: v for k, v in {
        "name": "Riverside Physio", "contact": "Phone 555-0100 · riverside-physio.example",
        "emergency_number": "911",
        "out_of_hours": "Call 555-0199 (nurse line) or go to urgent care",
    }.items() if k in names})
    catalogue = default_catalogue()
    out = {}
    for template in catalogue.approved_templates():
        plan = assemble_plan(catalogue, PlanRequest(template_id=template.id,
                                                     patient_name="Maria G."))
        snap = HandoutSnapshot(plan_id="PLN-BENCH", revision=1, created_on="2026-11-28",
                               clinician="Dr. Lee", clinic=clinic, plan=plan)
        for size, large in CASES:
            opts = HandoutOptions(large_print=large, page_size=PageSize(size))
            _, pages = render_handout_with_pages(snap, opts)  # warm caches
            times = []
            for _ in range(renders):
                if cold:
                    _empty_break_cache()
                t0 = time.process_time()
                render_handout_with_pages(snap, opts)
                times.append(time.process_time() - t0)
            out[f"{template.id} {size}{' large' if large else ''}"] = (
                statistics.median(times) * 1000, pages)
    print(json.dumps(out))


def _empty_break_cache() -> None:
    try:
        from pdf import flowables
    except ImportError:
        return
    getattr(flowables, "_BREAKS", {}).clear()


def run(code_dir: Path, renders: int, cold: bool) -> dict[str, list[float]]:
    proc = subprocess.run([sys.executable, __file__, "--child", str(code_dir),
                           "--renders", str(renders), *(["--cold"] if cold else [])],
                          check=True, capture_output=True, text=True, cwd=code_dir)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", default="main")
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--child")
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.renders, args.cold)
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.ref, "pdf", "plans"], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        runs = [(side, run(Path(tmp) if side == "old" else ROOT, args.renders, args.cold))
                for _ in range(2) for side in ("old", "new")]
    best: dict[str, dict[str, tuple[float, int]]] = {"old": {}, "new": {}}
    for side, result in runs:
        for case, (ms, pages) in result.items():
            prev = best[side].get(case)
            best[side][case] = (min(ms, prev[0]) if prev else ms, pages)
    print(f"median CPU ms per handout, {args.ref} (old) vs this tree (new), "
          f"{args.renders} renders, best of 2 alternating runs"
          f"{', line-break cache emptied before each render' if args.cold else ''}")
    print(f"{'case':34} {'old ms':>8} {'pages':>5} {'new ms':>8} {'pages':>5} {'ratio':>6}")
    ratios = []
    for case in best["new"]:
        if case not in best["old"]:
            continue
        (o, op), (n, np_) = best["old"][case], best["new"][case]
        ratios.append(n / o)
        print(f"{case:34} {o:8.1f} {op:5d} {n:8.1f} {np_:5d} {n / o:6.2f}")
    total_old = sum(best["old"][c][0] for c in best["new"] if c in best["old"])
    total_new = sum(best["new"][c][0] for c in best["new"] if c in best["old"])
    print(f"total new/old: {total_new / total_old:.2f}  (worst case {max(ratios):.2f})")


if __name__ == "__main__":
    main()
