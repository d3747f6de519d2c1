"""Writes PNGs of pages 1 to 3 of every template's handout, standard and large print.

Run from the repository root: python bench/handout_images.py [--out docs/handouts]

Uses the real template catalogue when plans.catalogue is importable, else the test fixture
(tests/unit/pdf_fixtures.py). Needs Poppler's pdftoppm; pages are rendered at 60 dpi.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit")]

from pdf.render import render_handout_with_pages  # noqa: E402
from plans.model import HandoutOptions, HandoutSnapshot, PlanRequest  # noqa: E402


def snapshots() -> tuple[str, list[tuple[str, HandoutSnapshot]]]:
    from pdf_fixtures import make_snapshot, png_logo

    base = make_snapshot(logo=png_logo(), notes="Walk after lunch on work days. Tell me at "
                         "your next visit how the strap stretch felt.")
    try:
        from plans.assembly import assemble_plan
        from plans.catalogue import default_catalogue
    except ImportError:
        return "test fixture", [("fixture", base)]
    catalogue = default_catalogue()
    out = []
    for template in catalogue.approved_templates():
        request = PlanRequest(template_id=template.id, patient_name="Maria G.",
                              notes=base.plan.notes)
        plan = assemble_plan(catalogue, request)
        out.append((template.id, HandoutSnapshot(
            plan_id="PLN-7Q4K2", revision=1, created_on=base.created_on,
            clinician=base.clinician, clinic=base.clinic, plan=plan)))
    return "real catalogue", out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "handouts")
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        sys.exit("pdftoppm (poppler-utils) is needed")
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()
    source, plans = snapshots()
    with tempfile.TemporaryDirectory() as tmp:
        for template_id, snapshot in plans:
            for large in (False, True):
                kind = "large" if large else "standard"
                pdf, pages = render_handout_with_pages(snapshot, HandoutOptions(large_print=large))
                path = Path(tmp) / f"{template_id}-{kind}.pdf"
                path.write_bytes(pdf)
                prefix = args.out / f"{template_id}-{kind}"
                subprocess.run([pdftoppm, "-r", "60", "-png", "-f", "1", "-l", "3", str(path),
                                str(prefix)], check=True)
                # pdftoppm pads page numbers by page count; give stable names instead.
                for png in sorted(args.out.glob(f"{template_id}-{kind}-*.png")):
                    number = int(png.stem.rsplit("-", 1)[1])
                    png.rename(args.out / f"{template_id}-{kind}-page{number}.png")
                print(f"{template_id} {kind}: {pages} pages")
    print(f"from the {source}; PNGs in {args.out}")


if __name__ == "__main__":
    main()
