"""A clinic's portable archive: a zip with JSON for every plan and revision, plus its handouts.

Layout (docs/operations.md describes it for whoever reads the archive):

    manifest.json                          clinic, export time, format, one entry per plan
    plans/<plan id>/plan.json              patient name and reference, times, revision count
    plans/<plan id>/revisions/<n>.json     the request, the resolved snapshot and its sha256
    plans/<plan id>/revisions/<n>.pdf      the handout as rendered (when it was)
    plans/<plan id>/revisions/<n>.html     the accessible HTML handout beside it

Plain zip and JSON so a clinic leaving us needs nothing of ours to read it.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service import audit
from service.extensions import db
from service.models import Clinic, Handout, Plan, utcnow

FORMAT = "limber-clinic-export/1"


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes, all UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode()


def export_clinic(clinic: Clinic, path: Path) -> dict[str, Any]:
    """Write the archive to `path` (created 0600: it holds patient data; never overwritten).
    Returns the manifest. Raises FileExistsError when `path` exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    manifest: dict[str, Any] = {
        "format": FORMAT, "exported_at": _when(utcnow()),
        "clinic": {"slug": clinic.slug, "name": clinic.name, "contact": clinic.contact,
                   "emergency_number": clinic.emergency_number,
                   "retention_days": clinic.retention_days},
        "plans": [],
    }
    plan_ids = list(db.session.scalars(select(Plan.id).where(Plan.clinic_id == clinic.id)
                                       .order_by(Plan.created_at, Plan.id)))
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        # One plan at a time, so a large clinic does not hold every PDF in memory at once.
        for plan_id in plan_ids:
            plan = db.session.scalar(select(Plan).where(Plan.id == plan_id)
                                     .options(selectinload(Plan.revisions)))
            manifest["plans"].append(_write_plan(archive, plan))
            for row in [*plan.revisions, plan]:
                db.session.expunge(row)
        archive.writestr("manifest.json", _json(manifest))
    audit.record(audit.CLINIC_EXPORTED, clinic_id=clinic.id, actor="system",
                 target=f"clinic:{clinic.id}",
                 detail={"plans": len(manifest["plans"]), "via": "cli"})
    db.session.commit()
    return manifest


def _write_plan(archive: zipfile.ZipFile, plan: Plan) -> dict[str, Any]:
    folder = f"plans/{plan.public_id}"
    archive.writestr(f"{folder}/plan.json", _json({
        "id": plan.public_id,
        "patient": {"display_name": plan.patient_name, "reference": plan.patient_ref},
        "current_revision": plan.current_revision,
        "created_at": _when(plan.created_at), "updated_at": _when(plan.updated_at),
    }))
    revisions = []
    for revision in plan.revisions:
        base = f"{folder}/revisions/{revision.number}"
        archive.writestr(f"{base}.json", _json({
            "plan_id": plan.public_id, "number": revision.number,
            "template": {"id": revision.template_id, "version": revision.template_version,
                         "content_hash": revision.template_hash},
            "request": revision.request, "snapshot": revision.snapshot,
            "snapshot_sha256": revision.snapshot_sha256, "options": revision.options,
            "created_by": revision.created_by, "created_at": _when(revision.created_at),
        }))
        entry: dict[str, Any] = {"number": revision.number, "json": f"{base}.json"}
        handout = db.session.scalar(select(Handout).where(Handout.revision_id == revision.id)
                                    .order_by(Handout.id))
        if handout is not None:
            db.session.expunge(handout)
            archive.writestr(f"{base}.pdf", handout.pdf)
            archive.writestr(f"{base}.html", handout.html.encode())
            entry.update(pdf=f"{base}.pdf", pdf_sha256=handout.sha256, html=f"{base}.html",
                         pages=handout.pages)
        revisions.append(entry)
    return {"id": plan.public_id, "folder": folder, "revisions": revisions}
