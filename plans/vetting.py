"""Checks the template data the way a reviewer would, and fingerprints each template's content.

Run `python -m plans.vetting [DATA_DIR]` to list problems, or with `--stamp` to write the
current content hash into each template file after a clinician has reviewed the change.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from plans import readability
from plans.catalogue import DATA_DIR, read_data_dir

# Problem and content_hash live in plans.datacheck (below the catalogue); re-exported here.
from plans.datacheck import Problem, content_hash

__all__ = ["MAX_GRADE", "Problem", "check_templates", "content_hash", "main",
           "stamp_content_hashes"]

MAX_GRADE = 8.0


def check_templates(data_dir: Path) -> list[Problem]:
    """Every problem in the data dir: schema, cross-references, doses, hashes, reading level.

    Returns an empty list when all is well. Never raises for bad data.
    """
    catalogue, problems = read_data_dir(Path(data_dir))
    if catalogue is None:
        return problems
    for template_id in sorted(catalogue.stale_templates):
        # Template ids match their file names (the loader checks that).
        problems.append(Problem(
            f"templates/{template_id}.yaml", "content_hash",
            f"does not match the content (now {catalogue.templates[template_id].content_hash}); "
            "have the change reviewed, bump version, then run `python -m plans.vetting --stamp`",
        ))
    problems.extend(_reading_problems(catalogue))
    return problems


def _reading_problems(catalogue: Any) -> list[Problem]:
    try:
        grades = readability.catalogue_grades(catalogue)
    except readability.ReadabilityUnavailable as exc:
        return [Problem("*", "reading level", str(exc))]
    return [
        Problem(g.file, g.field, f"reads at Flesch-Kincaid grade {g.grade:.1f}; "
                f"the most allowed is {MAX_GRADE:g}. Use shorter sentences and common words")
        for g in grades
        if g.grade > MAX_GRADE
    ]


def stamp_content_hashes(data_dir: Path) -> list[str]:
    """Writes each template's current content hash into its file; returns the ids changed."""
    catalogue, problems = read_data_dir(Path(data_dir))
    if catalogue is None:
        raise ValueError("fix these first:\n" + "\n".join(map(str, problems)))
    changed = []
    for template_id in sorted(catalogue.stale_templates):
        t = catalogue.templates[template_id]
        path = Path(data_dir) / "templates" / f"{t.id}.yaml"
        text = path.read_text("utf-8")
        line = f'content_hash: "{t.content_hash}"'
        new, n = re.subn(r"^content_hash:.*$", line, text, count=1, flags=re.M)
        if n == 0:
            new = text.rstrip("\n") + "\n" + line + "\n"
        path.write_text(new, "utf-8")
        changed.append(t.id)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plans.vetting", description=__doc__)
    parser.add_argument("data_dir", nargs="?", type=Path, default=DATA_DIR)
    parser.add_argument("--stamp", action="store_true", help="write current content hashes")
    args = parser.parse_args(argv)
    if args.stamp:
        for tid in stamp_content_hashes(args.data_dir):
            print(f"stamped {tid}")
    problems = check_templates(args.data_dir)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "templates OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
