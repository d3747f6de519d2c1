"""One plan revision as a FHIR R4 Bundle, built with fhir.resources' R4B models.

Pure: takes what the database holds (RevisionExport), returns a validated Bundle. The R4B models
are used because fhir.resources has no R4 (4.0.1) package; every element used here is the same in
R4 and R4B (docs/fhir.md). Constructing a model validates it, so an invalid structure raises
here instead of reaching an EHR.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.servicerequest import ServiceRequest

from service.fhir import systems
from service.fhir.dose import dose_extension, timing
from service.fhir.screening import screening_notes
from service.fhir.text import cleaned, fhir_string


@dataclass(frozen=True)
class HandoutFile:
    pdf: bytes
    created_at: datetime
    filename: str
    url: str | None  # None when no URL serves exactly this revision's PDF


@dataclass(frozen=True)
class RevisionExport:
    plan_id: str
    revision: int
    latest_revision: int
    created_at: datetime
    created_by: str
    template_id: str
    template_version: int
    template_hash: str
    snapshot: dict[str, Any]
    patient_system: str
    patient_reference: str
    patient_display: str
    handout: HandoutFile | None
    inline_pdf: bool = False

    @property
    def is_latest(self) -> bool:
        return self.revision == self.latest_revision

    def urn(self, role: str) -> str:
        return f"urn:uuid:{systems.resource_uuid(self.plan_id, self.revision, role)}"


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _patient(x: RevisionExport) -> dict[str, Any]:
    """A logical reference by the portal's identifier: the EHR already has the patient."""
    return {"type": "Patient", "display": x.patient_display,
            "identifier": {"system": x.patient_system, "value": x.patient_reference}}


def _author(x: RevisionExport) -> dict[str, Any]:
    clinician = x.snapshot.get("clinician") or ""
    if clinician:
        return {"type": "Practitioner", "display": clinician}
    return {"type": "Organization", "display": x.snapshot["clinic"]["name"]}


def _revision_id(x: RevisionExport, number: int) -> dict[str, Any]:
    return {"system": systems.PLAN_REVISION_ID, "value": f"{x.plan_id}/r{number}"}


def care_plan(x: RevisionExport, orders: list[str]) -> CarePlan:
    plan = x.snapshot["plan"]
    notes = screening_notes(plan)
    if plan.get("notes"):
        notes.append(f"Clinician's note: {plan['notes']}")
    return CarePlan(
        id=systems.resource_uuid(x.plan_id, x.revision, "careplan"),
        identifier=[{"system": systems.PLAN_ID, "value": x.plan_id}, _revision_id(x, x.revision)],
        instantiatesUri=[systems.template_uri(x.template_id, x.template_version,
                                              x.template_hash)],
        # A superseded revision must not be followed any more: 'revoked' in request-status.
        status="active" if x.is_latest else "revoked",
        intent="plan",
        replaces=[{"type": "CarePlan", "identifier": _revision_id(x, x.revision - 1)}]
        if x.revision > 1 else None,
        category=[{"text": "Home exercise plan"}],
        title=plan["title"],
        description=plan["summary"] or None,
        subject=_patient(x),
        period={"start": _instant(x.created_at)},
        created=_instant(x.created_at),
        author=_author(x),
        supportingInfo=[{"reference": x.urn("handout"), "type": "DocumentReference"}]
        if x.handout else None,
        activity=[{"reference": {"reference": ref, "type": "ServiceRequest"}} for ref in orders],
        note=[{"text": n} for n in notes],
    )


def service_request(x: RevisionExport, exercise: dict[str, Any]) -> ServiceRequest:
    snomed, snomed_display = systems.EXERCISE_THERAPY
    adapted = exercise.get("adapted_because") or ""
    return ServiceRequest(
        id=systems.resource_uuid(x.plan_id, x.revision, f"exercise/{exercise['id']}"),
        extension=[dose_extension(exercise["dose"])],
        identifier=[{"system": systems.EXERCISE_ORDER_ID,
                     "value": f"{x.plan_id}/r{x.revision}/{exercise['id']}"}],
        instantiatesUri=[systems.template_uri(x.template_id, x.template_version,
                                              x.template_hash)],
        basedOn=[{"reference": x.urn("careplan"), "type": "CarePlan"}],
        status="active" if x.is_latest else "revoked",
        intent="order",
        category=[{"text": "Home exercise"}],
        code={"coding": [{"system": systems.SNOMED, "code": snomed, "display": snomed_display},
                         {"system": systems.EXERCISE_CODES, "code": exercise["id"],
                          "display": exercise["name"]}],
              "text": exercise["name"]},
        subject=_patient(x),
        occurrenceTiming=timing(exercise["dose"]),
        authoredOn=_instant(x.created_at),
        requester=_author(x),
        supportingInfo=[{"reference": x.urn("handout"), "type": "DocumentReference"}]
        if x.handout else None,
        note=[{"text": adapted}] if adapted else None,
        patientInstruction=f"{exercise['name']}: {exercise['dose_text']}",
    )


def sha1_base64(data: bytes) -> str:
    """Attachment.hash as FHIR defines it: the SHA-1 of the data, base64-encoded."""
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()


def document_reference(x: RevisionExport, handout: HandoutFile) -> DocumentReference:
    attachment: dict[str, Any] = {
        "contentType": "application/pdf", "language": "en", "size": len(handout.pdf),
        "hash": sha1_base64(handout.pdf), "title": handout.filename,
        "creation": _instant(handout.created_at)}
    if x.inline_pdf or handout.url is None:
        attachment["data"] = base64.b64encode(handout.pdf).decode()
    if handout.url is not None:
        attachment["url"] = handout.url
    return DocumentReference(
        id=systems.resource_uuid(x.plan_id, x.revision, "handout"),
        masterIdentifier={"system": systems.HANDOUT_ID, "value": f"{x.plan_id}/r{x.revision}"},
        status="current" if x.is_latest else "superseded",
        docStatus="final",
        type={"text": "Home exercise handout"},
        subject=_patient(x),
        date=_instant(handout.created_at),
        author=[_author(x)],
        description=f"Home exercise handout, revision {x.revision}",
        content=[{"attachment": attachment}],
        context={"related": [{"reference": x.urn("careplan"), "type": "CarePlan"}]},
    )


def provenance(x: RevisionExport, targets: list[tuple[str, str]]) -> Provenance:
    operation = "CREATE" if x.revision == 1 else "UPDATE"
    return Provenance(
        id=systems.resource_uuid(x.plan_id, x.revision, "provenance"),
        target=[{"reference": ref, "type": kind} for ref, kind in targets],
        occurredDateTime=_instant(x.created_at),
        recorded=_instant(x.created_at),
        activity={"coding": [{"system": systems.DATA_OPERATION, "code": operation}]},
        agent=[{
            "type": {"coding": [{"system": systems.PARTICIPANT_TYPE, "code": "author"}]},
            "who": {"identifier": {"system": systems.ACTOR_ID, "value": x.created_by or "unknown"},
                    "display": f"Limber {x.created_by}".strip()},
            "onBehalfOf": {"type": "Organization", "display": x.snapshot["clinic"]["name"]},
        }],
        entity=[{"role": "source", "what": {
            "identifier": {"system": systems.TEMPLATE_ID,
                           "value": f"{x.template_id}|{x.template_version}"},
            "display": f"Template {x.template_id} version {x.template_version}, "
                       f"content sha256 {x.template_hash}"}}],
    )


def revision_bundle(x: RevisionExport) -> Bundle:
    """The Bundle (type collection) for one revision; raises pydantic's ValidationError if a
    resource would not be valid FHIR."""
    # Free text is made FHIR-safe; the patient reference is not (a changed identifier would
    # name another patient), so the caller refuses one that is not (service/api/fhir.py).
    x = replace(x, snapshot=cleaned(x.snapshot), patient_display=fhir_string(x.patient_display),
                created_by=fhir_string(x.created_by))
    exercises = x.snapshot["plan"]["exercises"]
    orders = [x.urn(f"exercise/{e['id']}") for e in exercises]
    entries: list[tuple[str, Any]] = [("careplan", care_plan(x, orders))]
    entries += [(f"exercise/{e['id']}", service_request(x, e)) for e in exercises]
    if x.handout is not None:
        entries.append(("handout", document_reference(x, x.handout)))
    targets = [(x.urn(role), r.resource_type) for role, r in entries]
    entries.append(("provenance", provenance(x, targets)))
    return Bundle(
        id=systems.resource_uuid(x.plan_id, x.revision, "bundle"),
        identifier={"system": systems.PLAN_REVISION_ID, "value": f"{x.plan_id}/r{x.revision}"},
        type="collection",
        timestamp=_instant(x.created_at),
        entry=[BundleEntry(fullUrl=x.urn(role), resource=resource) for role, resource in entries],
    )
