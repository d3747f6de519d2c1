#!/usr/bin/env python3
"""The mutation gate: mutmut mutates the modules gate.toml lists, runs the tests gate.toml lists
against each mutant, prints the share killed per module and overall, and exits 1 when a score is
below its minimum.

mutmut 3 works on a copy of the project in ./mutants and reads its settings from the
[tool.mutmut] table of pyproject.toml, so the gate builds a throwaway copy (plans/, pdf/, tests/
and pyproject.toml with a generated [tool.mutmut] table) and runs mutmut there: the checkout
stays clean and the settings live in gate.toml only.

A mutant listed in equivalents.toml (same folder) is one no test can kill because it does not
change behaviour; it leaves the count when it survives. An entry whose mutant no longer exists or
no longer makes the listed change is reported as stale and not applied.

    python tests/mutation/gate.py                      # what .ci/run runs
    python tests/mutation/gate.py --module plans/dosage.py
    python tests/mutation/gate.py --tests tests/unit/test_plans_properties.py \
        --module plans/assembly.py --functions _apply_safety _apply_dose_changes \
        --report-only                                  # what the property tests alone kill
    python tests/mutation/gate.py --workdir /tmp/mut   # keep the copy (mutmut browse there)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
COPIED = ("plans", "pdf", "tests")

# mutmut's exit codes per mutant (mutmut/stats.py). A timeout is a kill: the mutant made the
# tests hang. Anything else that is not a kill (survived, no test ran it, suspicious, not
# checked) counts against the score.
KILLED = {1, 3, 36, -24, 37}
SURVIVED = {0}


@dataclass
class Score:
    path: str
    min_score: float
    total: int = 0
    killed: int = 0
    equivalent: list[str] = field(default_factory=list)
    survivors: list[str] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.total - len(self.equivalent)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def load_config(path: Path) -> dict:
    return tomllib.loads(path.read_text("utf-8"))


def load_equivalents(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {e["mutant"]: e for e in tomllib.loads(path.read_text("utf-8")).get("equivalent", [])}


def toml_list(items: list[str]) -> str:
    return json.dumps(items)  # a JSON list of plain strings is a TOML array


def build_workdir(work: Path, modules: list[str], tests: list[str]) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for name in COPIED:
        dest = work / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(ROOT / name, dest, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    pyproject += (
        "\n\n# Written by tests/mutation/gate.py for this run only.\n[tool.mutmut]\n"
        f"source_paths = {toml_list(sorted({m.split('/')[0] for m in modules}))}\n"
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        f"pytest_add_cli_args = {toml_list(['-p', 'no:cacheprovider', '-p', 'no:randomly'])}\n"
        "use_git_change_detection = false\n"
    )
    (work / "pyproject.toml").write_text(pyproject, "utf-8")


def mutmut_bin() -> str:
    candidate = Path(sys.executable).with_name("mutmut")
    return str(candidate) if candidate.exists() else "mutmut"


def run_mutmut(work: Path, max_children: int, names: list[str], verbose: bool) -> int:
    env = dict(os.environ)
    # Same examples every run: a gate must not pass or fail by luck (tests/conftest.py).
    env["LIMBER_HYPOTHESIS_PROFILE"] = "mutation"
    cmd = [mutmut_bin(), "run", "--max-children", str(max_children), *names]
    if verbose:
        return subprocess.call(cmd, cwd=work, env=env)  # noqa: S603
    # mutmut redraws a progress spinner many times a second: keep it out of the CI log and
    # show its last lines only when it fails.
    log = work / "mutmut.log"
    with log.open("w") as out:
        code = subprocess.call(cmd, cwd=work, env=env, stdout=out,  # noqa: S603
                               stderr=subprocess.STDOUT)
    if code != 0:
        print(log.read_text("utf-8", "replace")[-6000:], file=sys.stderr)
    return code


def mutant_diff(work: Path, name: str) -> str:
    out = subprocess.run([mutmut_bin(), "show", name], cwd=work, capture_output=True,  # noqa: S603
                         text=True, check=False)
    return out.stdout


def changed_lines(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")]


def function_of(mutant: str) -> str:
    # "plans.dosage.x__repeats__mutmut_5" -> "_repeats"
    return mutant.rpartition(".")[2].removeprefix("x_").rsplit("__mutmut_", 1)[0]


def score_module(work: Path, module: dict, equivalents: dict[str, dict],
                 functions: set[str] | None, stale: list[str]) -> Score:
    meta = json.loads((work / "mutants" / (module["path"] + ".meta")).read_text("utf-8"))
    score = Score(module["path"], float(module["min_score"]))
    for name, code in sorted(meta["exit_code_by_key"].items()):
        if functions and function_of(name) not in functions:
            continue
        score.total += 1
        if code in KILLED:
            score.killed += 1
            continue
        known = equivalents.get(name)
        if code in SURVIVED and known is not None:
            if any(known["mutation"].strip() == line for line in changed_lines(
                    mutant_diff(work, name))):
                score.equivalent.append(name)
                continue
            stale.append(f"{name}: no longer the mutation {known['mutation']!r}")
        if code in SURVIVED:
            score.survivors.append(name)
        else:
            score.other[str(code)] = score.other.get(str(code), 0) + 1
            score.survivors.append(name)
    return score


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=HERE / "gate.toml")
    ap.add_argument("--equivalents", type=Path, default=HERE / "equivalents.toml")
    ap.add_argument("--module", action="append", help="gate only this module (repeatable)")
    ap.add_argument("--tests", nargs="+", help="kill with these tests instead of gate.toml's")
    ap.add_argument("--functions", nargs="+", help="score only mutants of these functions")
    ap.add_argument("--workdir", type=Path, help="keep the mutmut copy here (default: temp)")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--report-only", action="store_true", help="print scores, never fail")
    ap.add_argument("--show", type=int, default=40, help="print at most this many survivors")
    ap.add_argument("--verbose", action="store_true", help="show mutmut's own progress")
    args = ap.parse_args(argv)

    config = load_config(args.config)
    modules = [m for m in config["module"] if not args.module or m["path"] in args.module]
    if not modules:
        print(f"no gated module matches {args.module}", file=sys.stderr)
        return 2
    tests = args.tests or config["tests"]
    equivalents = load_equivalents(args.equivalents)

    temp = None
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.TemporaryDirectory(prefix="limber-mutation-")
        work = Path(temp.name)
    try:
        build_workdir(work, [m["path"] for m in modules], tests)
        started = time.monotonic()
        names = []
        if args.functions:  # mutmut names a function's mutants "<module>.x_<function>__mutmut_N"
            names = [f"{m['path'][:-3].replace('/', '.')}.x_{f}__mutmut_*"
                     for m in modules for f in args.functions]
        code = run_mutmut(work, args.max_children, names, args.verbose)
        elapsed = time.monotonic() - started
        if code != 0:
            print(f"mutmut run exited {code}: the unmutated tests must pass first",
                  file=sys.stderr)
            return code
        functions = set(args.functions) if args.functions else None
        stale: list[str] = []
        scores = [score_module(work, m, equivalents, functions, stale) for m in modules]
        return report(work, scores, config, args, stale, elapsed)
    finally:
        if temp is not None:
            temp.cleanup()


def report(work: Path, scores: list[Score], config: dict, args: argparse.Namespace,
           stale: list[str], elapsed: float) -> int:
    failed = []
    print()
    print(f"Mutation gate ({elapsed:.0f} s, tests: {' '.join(args.tests or config['tests'])})")
    print(f"{'module':<22} {'mutants':>7} {'equiv':>5} {'killed':>6} {'score':>7} {'min':>6}")
    for s in scores:
        ok = s.percent >= s.min_score
        failed += [] if ok else [s.path]
        print(f"{s.path:<22} {s.total:>7} {len(s.equivalent):>5} {s.killed:>6} "
              f"{s.percent:>6.1f}% {s.min_score:>5.1f}% {'ok' if ok else 'BELOW'}")
    total = sum(s.counted for s in scores)
    killed = sum(s.killed for s in scores)
    overall = 100.0 * killed / total if total else 100.0
    minimum = float(config.get("overall", {}).get("min_score", 0.0))
    ok = overall >= minimum
    failed += [] if ok else ["overall"]
    print(f"{'overall':<22} {sum(s.total for s in scores):>7} "
          f"{sum(len(s.equivalent) for s in scores):>5} {killed:>6} {overall:>6.1f}% "
          f"{minimum:>5.1f}% {'ok' if ok else 'BELOW'}")
    survivors = [n for s in scores for n in s.survivors]
    if survivors:
        print(f"\n{len(survivors)} surviving mutants (first {min(args.show, len(survivors))}):")
        for name in survivors[:args.show]:
            print(f"--- {name}")
            print("\n".join(mutant_diff(work, name).splitlines()[2:]))
    for line in stale:
        print(f"stale equivalent (not applied): {line}")
    if failed and not args.report_only:
        print(f"\nMutation gate FAILED: {', '.join(failed)} below the minimum")
        return 1
    print("\nMutation gate passed" if not failed else "\n(report only: not failing)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
