#!/usr/bin/env python3
"""Regenerates docs/fhir-example.json: a real export of the core routine for a patient with nerve
symptoms and a cleared red flag, its handout rendered by the real renderer (hash and size are
the PDF's). Run with the project's venv: `.venv/bin/python docs/make_fhir_example.py`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdf.render import render_handout  # noqa: E402
from plans.assembly import assemble_plan  # noqa: E402
from plans.catalogue import default_catalogue  # noqa: E402
from plans.model import (  # noqa: E402
    ClinicInfo,
    HandoutOptions,
    HandoutSnapshot,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    Screening,
)
from plans.snapshot import snapshot_to_dict  # noqa: E402
from service.fhir.bundle import HandoutFile, RevisionExport, revision_bundle  # noqa: E402

OUT = ROOT / "docs" / "fhir-example.json"
PLAN_ID = "pln_Xb3k9QmL0aZ2pR7t"
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def main() -> None:
    plan = assemble_plan(default_catalogue(), PlanRequest(
        template_id="core_routine", patient_name="Ana P.",
        screening=Screening(red_flags=frozenset({"fever_or_unwell"}), nerve_symptoms=True,
                            irritability=Irritability.MODERATE),
        clearance=RedFlagClearance("Assessed in clinic today and cleared to start."),
        notes="Week 1: keep every move small."))
    snapshot = HandoutSnapshot(plan_id=PLAN_ID, revision=2, created_on="2026-03-02",
                               clinician="Pat Therapist, PT",
                               clinic=ClinicInfo("Riverside Physio", "555-0101", "911"),
                               plan=plan)
    pdf = render_handout(snapshot, HandoutOptions())
    bundle = revision_bundle(RevisionExport(
        plan_id=PLAN_ID, revision=2, latest_revision=2, created_at=WHEN,
        created_by="api-key:7", template_id=plan.template_id,
        template_version=plan.template_version, template_hash=plan.template_hash,
        snapshot=snapshot_to_dict(snapshot),
        patient_system="https://portal.riverside.example/mrn", patient_reference="MRN-20931",
        patient_display="Ana P.",
        handout=HandoutFile(pdf=pdf, created_at=WHEN, filename=f"limber-{PLAN_ID}-r2.pdf",
                            url=f"https://limber.example/api/v1/plans/{PLAN_ID}/revisions/2/handout")))
    OUT.write_text(json.dumps(json.loads(bundle.json()), indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(pdf)} byte PDF)")


if __name__ == "__main__":
    main()
