"""docs/fhir-example.json, the documented example, is still a valid bundle."""

from __future__ import annotations

from pathlib import Path

from tests.fhir_checks import failed_invariants, validated

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "fhir-example.json"


def test_the_documented_example_bundle_validates_and_passes_the_invariants():
    bundle = validated(EXAMPLE.read_text())
    assert failed_invariants(bundle) == []
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "CarePlan" and kinds[-2:] == ["DocumentReference", "Provenance"]
