"""Turns plans and handout snapshots into JSON-ready dicts and back, exactly."""

from __future__ import annotations

from typing import Any

from plans.model import (
    CaudaEquinaRuleOut,
    ClinicInfo,
    Dose,
    DoseRange,
    FaqEntry,
    HandoutGuide,
    HandoutSnapshot,
    Irritability,
    LeftOut,
    PhaseNote,
    Plan,
    RedFlag,
    RedFlagClearance,
    ResolvedExercise,
    RiskFactorReview,
    SafetyTier,
    SameDayReview,
    Screening,
    Source,
    Term,
    Tier,
    TierGuidance,
)

SNAPSHOT_SCHEMA = 1


def screening_to_dict(s: Screening) -> dict[str, Any]:
    """The screening as stored; the records added with the screening model are written only
    when present, so a first-model screening round-trips to exactly its old dict."""
    out: dict[str, Any] = {
        "red_flags": sorted(s.red_flags),
        "nerve_symptoms": s.nerve_symptoms,
        "irritability": s.irritability.value,
        "desk_bound": s.desk_bound,
    }
    if s.cauda_equina_rule_out is not None:
        r = s.cauda_equina_rule_out
        out["cauda_equina_rule_out"] = {"assessed_by": r.assessed_by,
                                        "assessed_on": r.assessed_on, "finding": r.finding}
    if s.risk_factor_review is not None:
        v = s.risk_factor_review
        out["risk_factor_review"] = {"concern": v.concern, "decision": v.decision,
                                     "note": v.note}
    if s.same_day_review is not None:
        out["same_day_review"] = {"action": s.same_day_review.action,
                                  "reason": s.same_day_review.reason}
    if s.tendon_referral:
        out["tendon_referral"] = True
    return out


def screening_from_dict(d: dict[str, Any]) -> Screening:
    ce, rf, sd = (d.get(k) for k in ("cauda_equina_rule_out", "risk_factor_review",
                                     "same_day_review"))
    return Screening(
        red_flags=frozenset(d.get("red_flags", ())),
        nerve_symptoms=bool(d.get("nerve_symptoms", False)),
        irritability=Irritability(d.get("irritability", "low")),
        desk_bound=bool(d.get("desk_bound", False)),
        cauda_equina_rule_out=CaudaEquinaRuleOut(
            str(ce.get("assessed_by") or ""), str(ce.get("assessed_on") or ""),
            str(ce.get("finding") or "")) if ce else None,
        risk_factor_review=RiskFactorReview(
            str(rf.get("concern") or ""), str(rf.get("decision") or ""),
            str(rf.get("note") or "")) if rf else None,
        same_day_review=SameDayReview(str(sd.get("action") or ""),
                                      str(sd.get("reason") or "")) if sd else None,
        tendon_referral=bool(d.get("tendon_referral", False)),
    )


def _exercise_to_dict(e: ResolvedExercise) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "purpose": e.purpose,
        "steps": list(e.steps),
        "cues": list(e.cues),
        "feel": e.feel,
        "back_off": e.back_off,
        "dose": e.dose.to_dict(),
        "dose_range": e.dose_range.to_dict(),
        "dose_text": e.dose_text,
        "phase": e.phase,
        "pose": e.pose,
        "illustration_alt": e.illustration_alt,
        "adapted_because": e.adapted_because,
        "replaced": e.replaced,
    }


def _exercise_from_dict(d: dict[str, Any]) -> ResolvedExercise:
    return ResolvedExercise(
        id=d["id"],
        name=d["name"],
        purpose=d["purpose"],
        steps=tuple(d["steps"]),
        cues=tuple(d["cues"]),
        feel=d["feel"],
        back_off=d["back_off"],
        dose=Dose.from_dict(d["dose"]),
        dose_range=DoseRange.from_dict(d["dose_range"]),
        dose_text=d["dose_text"],
        phase=d["phase"],
        pose=d["pose"],
        illustration_alt=d["illustration_alt"],
        adapted_because=d.get("adapted_because", ""),
        replaced=d.get("replaced", ""),
    )


def _guide_to_dict(g: HandoutGuide) -> dict[str, Any]:
    return {
        "safety_net": [{"tier": t.tier.value, "heading": t.heading, "action": t.action,
                        "signs": list(t.signs)} for t in g.safety_net],
        "pain_rule": g.pain_rule,
        "floor_note": g.floor_note,
        "terms": [{"word": t.word, "meaning": t.meaning} for t in g.terms],
        "log_help": g.log_help,
        "review": g.review,
    }


def _guide_from_dict(d: dict[str, Any]) -> HandoutGuide:
    return HandoutGuide(
        safety_net=tuple(SafetyTier(Tier(t["tier"]), t["heading"], t["action"], tuple(t["signs"]))
                         for t in d["safety_net"]),
        pain_rule=d["pain_rule"],
        floor_note=d["floor_note"],
        terms=tuple(Term(t["word"], t["meaning"]) for t in d["terms"]),
        log_help=d["log_help"],
        review=d["review"],
    )


def plan_to_dict(p: Plan) -> dict[str, Any]:
    out = _plan_to_dict(p)
    # Keys added with handout v2 are written only when set, so a snapshot made before them
    # serialises (and hashes into its content id) exactly as it did.
    if p.phase_notes:
        out["phase_notes"] = [{"name": n.name, "note": n.note} for n in p.phase_notes]
    if p.guide is not None:
        out["guide"] = _guide_to_dict(p.guide)
    return out


def _plan_to_dict(p: Plan) -> dict[str, Any]:
    return {
        "template_id": p.template_id,
        "template_version": p.template_version,
        "template_hash": p.template_hash,
        "title": p.title,
        "summary": p.summary,
        "patient_name": p.patient_name,
        "screening": screening_to_dict(p.screening),
        "exercises": [_exercise_to_dict(e) for e in p.exercises],
        "red_flags": [
            {"id": f.id, "tier": f.tier.value, "text": f.text, "label": f.label}
            for f in p.red_flags
        ],
        "red_flags_present": list(p.red_flags_present),
        "clearance": {"note": p.clearance.note} if p.clearance else None,
        "habit_anchor": p.habit_anchor,
        "tracking_prompts": list(p.tracking_prompts),
        "faq": [{"question": q.question, "answer": q.answer} for q in p.faq],
        "sources": [
            {"id": s.id, "title": s.title, "publisher": s.publisher, "year": s.year}
            for s in p.sources
        ],
        "notes": p.notes,
        "red_flag_tiers": [
            {"tier": g.tier.value, "heading": g.heading, "action": g.action}
            for g in p.red_flag_tiers
        ],
        "left_out": [{"id": x.id, "name": x.name, "why": x.why} for x in p.left_out],
    }


def plan_from_dict(d: dict[str, Any]) -> Plan:
    return Plan(
        template_id=d["template_id"],
        template_version=d["template_version"],
        template_hash=d["template_hash"],
        title=d["title"],
        summary=d["summary"],
        patient_name=d["patient_name"],
        screening=screening_from_dict(d["screening"]),
        exercises=tuple(_exercise_from_dict(e) for e in d["exercises"]),
        red_flags=tuple(
            RedFlag(id=f["id"], tier=Tier(f["tier"]), text=f["text"], label=f["label"])
            for f in d["red_flags"]
        ),
        red_flags_present=tuple(d["red_flags_present"]),
        clearance=RedFlagClearance(d["clearance"]["note"]) if d.get("clearance") else None,
        habit_anchor=d["habit_anchor"],
        tracking_prompts=tuple(d["tracking_prompts"]),
        faq=tuple(FaqEntry(q["question"], q["answer"]) for q in d["faq"]),
        sources=tuple(Source(**s) for s in d["sources"]),
        notes=d.get("notes", ""),
        red_flag_tiers=tuple(
            TierGuidance(Tier(g["tier"]), g["heading"], g["action"])
            for g in d.get("red_flag_tiers", ())
        ),
        left_out=tuple(LeftOut(x["id"], x["name"], x["why"]) for x in d.get("left_out", ())),
        phase_notes=tuple(PhaseNote(n["name"], n["note"]) for n in d.get("phase_notes", ())),
        guide=_guide_from_dict(d["guide"]) if d.get("guide") else None,
    )


def snapshot_to_dict(s: HandoutSnapshot) -> dict[str, Any]:
    return {
        "schema": SNAPSHOT_SCHEMA,
        "plan_id": s.plan_id,
        "revision": s.revision,
        "created_on": s.created_on,
        "clinician": s.clinician,
        "clinic": {
            "name": s.clinic.name,
            "contact": s.clinic.contact,
            "emergency_number": s.clinic.emergency_number,
            "logo_png_b64": s.clinic.logo_png_b64,
            # Only when set: older snapshots keep their exact canonical form.
            **({"out_of_hours": s.clinic.out_of_hours} if s.clinic.out_of_hours else {}),
        },
        "plan": plan_to_dict(s.plan),
    }


def snapshot_from_dict(d: dict[str, Any]) -> HandoutSnapshot:
    """Raises KeyError or ValueError when the dict is not a snapshot this code can read."""
    if d.get("schema") != SNAPSHOT_SCHEMA:
        raise ValueError(f"unsupported snapshot schema {d.get('schema')!r}")
    c = d["clinic"]
    return HandoutSnapshot(
        plan_id=d["plan_id"],
        revision=d["revision"],
        created_on=d["created_on"],
        clinician=d["clinician"],
        clinic=ClinicInfo(
            name=c["name"],
            contact=c["contact"],
            emergency_number=c["emergency_number"],
            logo_png_b64=c.get("logo_png_b64", ""),
            out_of_hours=c.get("out_of_hours", ""),
        ),
        plan=plan_from_dict(d["plan"]),
    )
