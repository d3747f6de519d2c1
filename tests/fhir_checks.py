"""FHIR checks shared by the unit and API tests: R4B model validation and FHIRPath invariants."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

import fhirpathpy
from fhir.resources.R4B.bundle import Bundle
from fhirpathpy.models import models

# The invariants that matter to an EHR importing the bundle, in FHIRPath over the Bundle.
INVARIANTS = {
    "every CarePlan activity resolves to a ServiceRequest in the bundle":
        "Bundle.entry.resource.ofType(CarePlan).activity.reference.reference.all("
        "%bundle.entry.where(resource is ServiceRequest).fullUrl contains $this)",
    "every ServiceRequest in the bundle is an activity of the CarePlan":
        "Bundle.entry.where(resource is ServiceRequest).fullUrl.all("
        "%bundle.entry.resource.ofType(CarePlan).activity.reference.reference contains $this)",
    "every ServiceRequest is basedOn the CarePlan":
        "Bundle.entry.resource.ofType(ServiceRequest).all(basedOn.reference contains "
        "%bundle.entry.where(resource is CarePlan).fullUrl)",
    "exactly one CarePlan and one Provenance":
        "Bundle.entry.resource.ofType(CarePlan).count() = 1 and "
        "Bundle.entry.resource.ofType(Provenance).count() = 1",
    "every ServiceRequest is SNOMED CT 229065009 Exercise therapy":
        "Bundle.entry.resource.ofType(ServiceRequest).all(code.coding.where("
        "system = 'http://snomed.info/sct' and code = '229065009').exists())",
    "the Provenance targets every other resource":
        "Bundle.entry.where(resource is Provenance).resource.target.reference.count() = "
        "Bundle.entry.count() - 1",
    "every fullUrl is unique": "Bundle.entry.fullUrl.isDistinct()",
    "every subject is the same logical patient":
        "Bundle.entry.resource.subject.identifier.value.distinct().count() = 1",
}
HASH_MATCHES = ("Bundle.entry.resource.ofType(DocumentReference).content.attachment"
                ".all(hash = %sha1 and size = %size)")


@functools.cache
def _compiled(expression: str) -> Callable[..., list[Any]]:
    # Parsing is most of the cost; each expression is parsed once per test session.
    return fhirpathpy.compile(expression, models["r4"])


def failed_invariants(bundle: dict[str, Any], pdf: bytes | None = None) -> list[str]:
    """Names of the invariants the bundle breaks; with `pdf`, also that the handout's hash and
    size are those of exactly these bytes."""
    env: dict[str, Any] = {"bundle": bundle}
    checks = dict(INVARIANTS)
    if pdf is not None:
        env["sha1"] = base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode()
        env["size"] = len(pdf)
        checks["the DocumentReference hash and size match the PDF"] = HASH_MATCHES
        checks["there is one DocumentReference"] = (
            "Bundle.entry.resource.ofType(DocumentReference).count() = 1")
    return [name for name, expression in checks.items()
            if _compiled(expression)(bundle, env) != [True]]


def validated(text: str) -> dict[str, Any]:
    """Parses the bundle with fhir.resources' R4B models (raising if invalid) and returns it."""
    Bundle.parse_raw(text)
    return json.loads(text)
