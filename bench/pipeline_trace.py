"""Where a handout's time goes between POST and PDF held, step by step, on the stacks of
bench/pipeline.py, optionally against another source tree side by side.

Run from the repository root: python bench/pipeline_trace.py [--plans 20] [--base DIR]

Every process of each stack writes timestamps of its steps (bench/trace_hooks/sitecustomize.py,
loaded through PYTHONPATH); this script drives one plan at a time per stack, alternating the
stacks, and prints the median of each step over the plans. With `--base DIR` (an exported tree,
e.g. `git archive main | tar -x -C DIR`) the same two stacks are also started from DIR, so a
change is compared under the same load. The hooks add a few percent to every step: read the
steps against each other, and bench/pipeline.py for the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).absolute().parent
TRACE = None  # the hooks module, once PYTHONPATH is set


def load_bench():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("pipeline_bench", HERE / "pipeline.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def read_events(folder: Path) -> list[tuple[float, int, str, str]]:
    events = []
    for path in folder.glob("ev-*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4:
                events.append((float(parts[0]), int(parts[1]), parts[3],
                               parts[4] if len(parts) > 4 else ""))
    return sorted(events)


STEPS = ("client + POST to its commit", "send -> message read by the worker",
         "message read -> task starts in a child", "claim (task start -> render starts)",
         "render PDF + HTML in the worker", "store (insert, event, commit)",
         "signal -> waiting request awake", "GET after waking (read, audit, answer)",
         "answer -> client holds the PDF", "total")


def steps(window: list[tuple[float, int, str, str]], t0: float, held: float) -> dict | None:
    def first(name: str) -> float | None:
        return next((e[0] for e in window if e[2] == name), None)

    def last(name: str) -> float | None:
        found = [e[0] for e in window if e[2] == name]
        return found[-1] if found else None

    marks = [first("after_commit:in"), first("send:in"),
             first("brpop_read:in") or first("fs_get"), first("task:in"), first("pdf:in"),
             first("html:out"), first("notify:in"), first("wait:out"), last("req:out")]
    if any(m is None for m in marks):
        return None
    post, send, read, task, pdf, html, notify, wake, answered = marks
    values = (post - t0, read - send, task - read, pdf - task, html - pdf, notify - html,
              wake - notify, answered - wake, held - answered, held - t0)
    return {name: v * 1000 for name, v in zip(STEPS, values, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--base", type=Path, help="another source tree to compare with")
    args = parser.parse_args()
    events_dir = Path(tempfile.mkdtemp(prefix="limber-trace-events-"))
    os.environ["PIPE_TRACE_DIR"] = str(events_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE / "trace_hooks"), *filter(None, [os.environ.get("PYTHONPATH")])])
    sys.path.insert(0, str(HERE / "trace_hooks"))
    import sitecustomize as trace  # noqa: PLC0415 - this script's own hooks, found just above

    bench = load_bench()
    trees = {"": bench.ROOT} if args.base is None else {"base-": args.base.absolute(),
                                                       "": bench.ROOT}
    tmp = Path(tempfile.mkdtemp(prefix="limber-bench-trace-"))
    stacks = []
    try:
        for label, root in trees.items():
            bench.start_embedded(tmp, stacks, root=root, label=label)
            bench.start_pg(tmp, stacks, root=root, label=label)
        for stack in stacks:
            stack.wait_ready()
        time.sleep(2)
        windows: dict[str, list[tuple[float, float]]] = {s.name: [] for s in stacks}
        for i in range(bench.WARM_PLANS + args.plans):
            for stack in stacks:
                start_at = time.time()
                trace.ev("client:start", stack.name)
                bench.one_plan(stack)
                held = time.time()
                if i >= bench.WARM_PLANS:
                    windows[stack.name].append((start_at, held))
                time.sleep(0.05)  # lets the stack's last writes land in this plan's window
    finally:
        for stack in stacks:
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    events = read_events(events_dir)
    shutil.rmtree(events_dir, ignore_errors=True)
    table = {}
    for name, spans in windows.items():
        rows = [r for t0, held in spans
                if (r := steps([e for e in events if t0 <= e[0] <= held], t0, held))]
        table[name] = {step: statistics.median(r[step] for r in rows) for step in STEPS}
    names = list(table)
    print(f"{args.plans} plans per stack, medians in ms")
    print(f"{'step':<42}" + "".join(f"{n:>15}" for n in names))
    for step in STEPS:
        print(f"{step:<42}" + "".join(f"{table[n][step]:15.1f}" for n in names))


if __name__ == "__main__":
    main()
