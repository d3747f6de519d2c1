"""Markdown tables for docs/templates.md, generated from the catalogue so the docs cannot drift.

`python -m plans.report docs/templates.md` rewrites the blocks between `<!-- NAME:start -->` and
`<!-- NAME:end -->`; tests/unit/test_plans_readability.py fails when a block is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from plans.dosage import dose_text


def catalogue_table(catalogue: Any) -> str:
    """One row per exercise: pose, default dose in words, allowed range, swaps and exclusions."""
    rows = [
        "| Exercise (id) | Pose | Default dose | Allowed range | Swaps / exclusions |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in catalogue.exercises.values():
        bounds = ", ".join(
            f"{name.replace('_', ' ')} {lo}-{hi}" for name, (lo, hi) in e.dose_range.bounds.items()
        )
        notes = [f"{k} → `{v}`" for k, v in e.swaps.items()]
        notes += [f"left out when {k}" for k in e.excluded_when]
        if e.hamstring_load:
            notes.insert(0, "hamstring load")
        if e.nerve_tensioning:
            notes.insert(0, "**nerve-tensioning**")
        if e.straight_knee_long_hold:
            notes.insert(0, "**straight-knee long hold**")
        rows.append(f"| {e.name} (`{e.id}`) | `{e.pose}` | {dose_text(e.dose)} | {bounds} | "
                    f"{'; '.join(notes) or '-'} |")
    return "\n".join(rows)


def blocks(catalogue: Any) -> dict[str, str]:
    """Block name -> generated markdown. Raises ReadabilityUnavailable without textstat."""
    from plans.readability import grades_table

    return {"catalogue": catalogue_table(catalogue), "grades": grades_table(catalogue)}


def block(text: str, name: str) -> str | None:
    m = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    return m.group(1) if m else None


def rewrite(path: Path, catalogue: Any) -> None:
    text = path.read_text("utf-8")
    for name, table in blocks(catalogue).items():
        start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
        text = re.sub(re.escape(start) + ".*?" + re.escape(end),
                      (start + table + end).replace("\\", "\\\\"), text, flags=re.S)
    path.write_text(text, "utf-8")


if __name__ == "__main__":
    from plans.catalogue import default_catalogue

    rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/templates.md"), default_catalogue())
