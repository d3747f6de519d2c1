"""The URIs Limber names things by in FHIR, and the stable ids of one revision's resources."""

from __future__ import annotations

import uuid

SNOMED = "http://snomed.info/sct"
# HL7 US Physical Activity IG (STU 1) codes an exercise prescription with this concept.
EXERCISE_THERAPY = ("229065009", "Exercise therapy (regime/therapy)")
UCUM = "http://unitsofmeasure.org"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

# Limber's own namespace, the same host as its problem types (service/errors.py).
BASE = "https://limber.example/fhir"
EXERCISE_CODES = f"{BASE}/CodeSystem/exercise"
PLAN_ID = f"{BASE}/sid/plan"
PLAN_REVISION_ID = f"{BASE}/sid/plan-revision"
EXERCISE_ORDER_ID = f"{BASE}/sid/exercise-order"
HANDOUT_ID = f"{BASE}/sid/handout"
TEMPLATE_ID = f"{BASE}/sid/template"
ACTOR_ID = f"{BASE}/sid/actor"
DOSE_EXTENSION = f"{BASE}/StructureDefinition/exercise-dose"

# A clinic that has not named its own patient identifier system gets one scoped to it, so two
# clinics' "MRN-1" can never be read as the same patient.
_DEFAULT_PATIENT_SYSTEM = f"{BASE}/sid/patient-reference/{{slug}}"
# Fixed, so the same revision always exports the same resource ids.
_NAMESPACE = uuid.UUID("7f3c2a4e-1d7b-5a53-9d0e-6c1b9a0f4e21")


def patient_system(configured: str, clinic_slug: str) -> str:
    return configured or _DEFAULT_PATIENT_SYSTEM.format(slug=clinic_slug)


def template_uri(template_id: str, version: int, sha256: str) -> str:
    """Names the exact template content, as CarePlan.instantiatesUri (we publish no
    PlanDefinition, so instantiatesCanonical would point at nothing)."""
    return f"urn:limber:template:{template_id}:v{version}:sha256:{sha256}"


def resource_uuid(plan_id: str, revision: int, role: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{plan_id}/r{revision}/{role}"))
