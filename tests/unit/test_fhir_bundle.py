"""Every template and screening variant maps to a valid FHIR bundle (service/fhir, no app)."""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plans.assembly import assemble_plan
from plans.catalogue import default_catalogue
from plans.model import (
    ClinicInfo,
    HandoutSnapshot,
    Irritability,
    PlanRequest,
    RedFlagClearance,
    Screening,
)
from plans.snapshot import snapshot_to_dict
from service.fhir.bundle import HandoutFile, RevisionExport, revision_bundle
from tests.fhir_checks import failed_invariants, validated

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLEARED = ("saddle_numbness", "Examined today; saddle sensation normal.")


def screenings() -> list[tuple[Screening, RedFlagClearance | None]]:
    out = []
    for nerve, irritability, desk, flagged in itertools.product(
            (False, True), list(Irritability), (False, True), (False, True)):
        flags = frozenset({CLEARED[0]}) if flagged else frozenset()
        out.append((Screening(red_flags=flags, nerve_symptoms=nerve, irritability=irritability,
                              desk_bound=desk),
                    RedFlagClearance(CLEARED[1]) if flagged else None))
    return out


def export(template_id: str, screening: Screening, clearance: RedFlagClearance | None, *,
           revision: int = 1, latest: int = 1, pdf: bytes | None = None,
           url: str | None = "https://limber.test/api/v1/plans/pln_x/handout",
           inline: bool = False) -> RevisionExport:
    plan = assemble_plan(default_catalogue(), PlanRequest(
        template_id=template_id, patient_name="Ana P.", screening=screening,
        clearance=clearance, notes="Keep it gentle."))
    snapshot = snapshot_to_dict(HandoutSnapshot(
        plan_id="pln_x", revision=revision, created_on="2026-03-02", clinician="",
        clinic=ClinicInfo("Clinic A", "555-0101", "911"), plan=plan))
    handout = None if pdf is None else HandoutFile(pdf=pdf, created_at=WHEN,
                                                   filename="limber-pln_x-r1.pdf", url=url)
    return RevisionExport(
        plan_id="pln_x", revision=revision, latest_revision=latest, created_at=WHEN,
        created_by="api-key:1", template_id=plan.template_id,
        template_version=plan.template_version, template_hash=plan.template_hash,
        snapshot=snapshot, patient_system="https://portal.test/mrn", patient_reference="MRN-1",
        patient_display="Ana P.", handout=handout, inline_pdf=inline)


TEMPLATES = sorted(t.id for t in default_catalogue().approved_templates())


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_every_screening_variant_of_every_template_exports_a_valid_bundle(template_id):
    for screening, clearance in screenings():
        # Bytes standing in for the PDF: the API test checks the hash of a real stored one.
        pdf = f"{template_id}{screening}".encode()
        x = export(template_id, screening, clearance, pdf=pdf)
        bundle = validated(revision_bundle(x).json())
        assert failed_invariants(bundle, pdf) == [], (template_id, screening)
        exercises = x.snapshot["plan"]["exercises"]
        codes = [r["resource"]["code"]["coding"][1]["code"] for r in bundle["entry"]
                 if r["resource"]["resourceType"] == "ServiceRequest"]
        assert codes == [e["id"] for e in exercises]


def test_the_invariant_checks_catch_a_broken_bundle():
    """The FHIRPath checks can fail: a missing order, a stray one and a wrong hash are seen."""
    pdf = b"%PDF-1.7 stand-in"
    bundle = json.loads(revision_bundle(export("core_routine", Screening(), None, pdf=pdf)).json())
    assert failed_invariants(bundle, pdf) == []
    missing = copy.deepcopy(bundle)
    missing["entry"] = [e for e in missing["entry"]
                        if e["resource"]["resourceType"] != "ServiceRequest"]
    assert "every CarePlan activity resolves to a ServiceRequest in the bundle" in \
        failed_invariants(missing)
    unplanned = copy.deepcopy(bundle)
    unplanned["entry"][1]["resource"]["basedOn"] = [{"reference": "urn:uuid:elsewhere"}]
    assert failed_invariants(unplanned) == ["every ServiceRequest is basedOn the CarePlan"]
    assert failed_invariants(bundle, pdf + b" changed") == [
        "the DocumentReference hash and size match the PDF"]


def test_dose_becomes_timing_extension_and_words():
    x = export("core_routine", Screening(), None)
    bundle = json.loads(revision_bundle(x).json())
    orders = {e["resource"]["code"]["coding"][1]["code"]: e["resource"] for e in bundle["entry"]
              if e["resource"]["resourceType"] == "ServiceRequest"}
    for exercise in x.snapshot["plan"]["exercises"]:
        dose, order = exercise["dose"], orders[exercise["id"]]
        assert order["patientInstruction"].endswith(exercise["dose_text"])
        parts = {p["url"]: p for p in order["extension"][0]["extension"]}
        for field, name in (("sets", "sets"), ("reps", "reps"), ("times_per_day", "timesPerDay"),
                            ("days_per_week", "daysPerWeek")):
            assert parts.get(name, {}).get("valuePositiveInt") == dose.get(field), field
        for field, name in (("hold_seconds", "hold"), ("duration_seconds", "duration")):
            assert parts.get(name, {}).get("valueDuration", {}).get("value") == dose.get(field)
        assert parts["eachSide"]["valueBoolean"] is dose["each_side"]
        repeat = order["occurrenceTiming"]["repeat"]
        days, per_day = dose["days_per_week"], dose["times_per_day"]
        if days == 7:
            assert (repeat["frequency"], repeat["periodUnit"]) == (per_day, "d")
        else:
            assert (repeat["frequency"], repeat["periodUnit"]) == (per_day * days, "wk")


def test_screening_outcome_and_clearance_are_carePlan_notes():
    screening = Screening(red_flags=frozenset({CLEARED[0]}), nerve_symptoms=True,
                          irritability=Irritability.HIGH)
    bundle = json.loads(revision_bundle(export("core_routine", screening,
                                               RedFlagClearance(CLEARED[1]))).json())
    notes = [n["text"] for n in bundle["entry"][0]["resource"]["note"]]
    assert CLEARED[1] in notes[0] and "red flags present" in notes[0]
    assert "Nerve symptoms: yes" in notes[1] and "Irritability: high" in notes[1]
    assert notes[-1] == "Clinician's note: Keep it gentle."


def test_an_older_revision_is_revoked_superseded_and_carries_its_pdf_inline():
    pdf = b"%PDF-1.7 revision one"
    x = export("core_routine", Screening(), None, revision=1, latest=2, pdf=pdf, url=None)
    resources = {e["resource"]["resourceType"]: e["resource"]
                 for e in json.loads(revision_bundle(x).json())["entry"]}
    assert resources["CarePlan"]["status"] == "revoked"
    assert resources["ServiceRequest"]["status"] == "revoked"
    assert resources["DocumentReference"]["status"] == "superseded"
    attachment = resources["DocumentReference"]["content"][0]["attachment"]
    assert "url" not in attachment
    assert __import__("base64").b64decode(attachment["data"]) == pdf


def test_the_same_revision_always_exports_the_same_bundle():
    """Stable ids, so an EHR re-importing a revision updates rather than duplicates."""
    one = revision_bundle(export("desk_day", Screening(), None)).json()
    assert revision_bundle(export("desk_day", Screening(), None)).json() == one


@settings(max_examples=25, deadline=None)
@given(text=st.text(max_size=40), display=st.text(min_size=1, max_size=40))
def test_any_stored_text_exports_as_valid_fhir(text, display):
    """Notes, clearance, names and the clinician hold whatever the API accepted; the export
    never fails on them (it would be a 500 for a plan that is already stored)."""
    x = export("core_routine", Screening(red_flags=frozenset({CLEARED[0]})),
               RedFlagClearance(CLEARED[1]))
    plan = dict(x.snapshot["plan"], notes=text, clearance={"note": text or "x"})
    snapshot = dict(x.snapshot, plan=plan, clinician=text)
    out = revision_bundle(replace(x, snapshot=snapshot, patient_display=display,
                                  created_by=text)).json()
    validated(out.encode("utf-8").decode("utf-8"))


def test_the_mapping_imports_no_web_queue_or_database_code():
    """service/fhir/ maps plain data to FHIR; the routes in service/api/fhir.py do the I/O."""
    from tests.unit.test_plans_purity import FORBIDDEN, ROOT

    offenders = []
    for path in (ROOT / "service" / "fhir").rglob("*.py"):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and (
                    words[1].split(".")[0] in FORBIDDEN or words[1].startswith("service.")
                    and not words[1].startswith("service.fhir")):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_a_screening_field_the_mapping_does_not_know_is_still_written():
    """A new screening answer (a structured record here) reaches the chart by its name."""
    from service.fhir.screening import screening_notes

    notes = screening_notes({"screening": {
        "irritability": "low", "tendon_referral": True,
        "cauda_equina_rule_out": {"assessed_by": "Dr A", "finding": "normal"}}})
    assert notes[1] == ("Screening answers: Cauda equina rule out: (assessed by Dr A, finding "
                        "normal); Irritability: low; Tendon referral: yes.")
