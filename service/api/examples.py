"""Example bodies for the OpenAPI document; tests check each against its schema or the API."""

from __future__ import annotations

from typing import Any

_RED_FLAG_TEXT = ("red flags present (emergency): saddle_numbness; the patient needs care "
                  "before exercises, unless you record that you assessed and cleared them")
CREATE_REFUSALS = {
    "invalid-fields": {"summary": "A field is missing or invalid", "value": {
        "type": "https://limber.example/problems/validation",
        "title": "Your request has invalid fields", "status": 422, "instance": "/api/v1/plans",
        "errors": [{"field": "patient.display_name",
                    "message": "Missing data for required field."}]}},
    "red-flag-present": {"summary": "A red flag needs the clinician first", "value": {
        "type": "https://limber.example/problems/red-flag-present",
        "title": "Red flags need care before exercises", "status": 422,
        "detail": _RED_FLAG_TEXT, "instance": "/api/v1/plans", "tier": "emergency",
        "red_flags": ["saddle_numbness"],
        "errors": [{"field": "screening.red_flags", "message": _RED_FLAG_TEXT}]}},
    "dose-out-of-range": {"summary": "A dose change outside the exercise's safe range", "value": {
        "type": "https://limber.example/problems/validation",
        "title": "Your request has invalid fields", "status": 422, "instance": "/api/v1/plans",
        "detail": "reps of 'glute_bridge' must be between 5 and 10, got 40",
        "allowed": [5, 10],
        "errors": [{"field": "dose_changes.glute_bridge.reps",
                    "message": "reps of 'glute_bridge' must be between 5 and 10, got 40"}]}},
    "text-cannot-be-printed": {"summary": "Text the handout fonts cannot print", "value": {
        "type": "https://limber.example/problems/validation",
        "title": "Your request has invalid fields", "status": 422, "instance": "/api/v1/plans",
        "errors": [{"field": "patient.display_name",
                    "message": "The handout cannot print these characters: U+738B CJK UNIFIED "
                               "IDEOGRAPH-738B, U+5C0F CJK UNIFIED IDEOGRAPH-5C0F. Remove or "
                               "replace them; the handout prints Latin, Greek and Cyrillic "
                               "letters, digits and common punctuation."}]}},
}

PLAN_CREATE_EXAMPLE = {
    "template_id": "core_routine",
    "patient": {"display_name": "Ana P.", "reference": "MRN-20931"},
    "screening": {"red_flags": [], "nerve_symptoms": True, "irritability": "moderate",
                  "desk_bound": True},
    "dose_changes": {"strap_hamstring_stretch": {"hold_seconds": 20}},
    "notes": "Stop the floss if the tingling spreads below the knee.",
    "clinician": "Sam Okafor, PT",
    "handout": {"large_print": True, "page_size": "letter"},
}

PLAN_EXAMPLE: dict[str, Any] = {
    "id": "pln_2nkpwURMCRfTtipD",
    "revision": 1,
    "patient": {"display_name": "Ana P.", "reference": "MRN-20931"},
    "template": {"id": "core_routine", "version": 1, "content_hash":
                 "1c4e9399ead723896ca9130a3a950ec7722c2a30945831337b98d9951d68d7fc"},
    "title": "Five-step hamstring and low back routine",
    "exercises": [{
        "id": "sliding_hamstring_floss", "name": "Sliding hamstring floss",
        "phase": "Five-step routine", "adapted_because": "",
        "dose": {"sets": None, "reps": None, "hold_seconds": None, "duration_seconds": 60,
                 "times_per_day": 1, "days_per_week": 5, "each_side": True},
        "dose_range": {"duration_seconds": [60, 90], "times_per_day": [1, 2],
                       "days_per_week": [3, 7]},
        "dose_text": "Keep going for 1 minute on each side. Do this once a day, 5 days a week.",
    }],
    "red_flags_present": [],
    "red_flag_clearance": None,
    "handout": {"status": "queued",
                "url": "https://limber.example.org/api/v1/plans/pln_2nkpwURMCRfTtipD/"
                       "revisions/1/handout",
                "html_url": "https://limber.example.org/api/v1/plans/pln_2nkpwURMCRfTtipD/"
                            "revisions/1/handout.html",
                "pages": None, "sha256": None},
    "created_at": "2026-11-28T19:27:24.955987+00:00",
    "updated_at": "2026-11-28T19:27:24.955987+00:00",
}

PLAN_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [PLAN_EXAMPLE],
    "next_cursor": "WyIyMDI2LTExLTI4VDE5OjI3OjI0Ljk1NTk4NyswMDowMCIsInBsbl8ybmtwd1VSTUNS"
                   "ZlR0aXBEIl0",
}

API_KEY_EXAMPLE: dict[str, Any] = {
    "id": 7, "name": "Portal production", "prefix": "lmb_Q2x9fT0a",
    "created_at": "2026-11-02T09:14:03.120931+00:00",
    "last_used_at": "2026-11-28T19:02:41.500112+00:00", "revoked_at": None,
    "scopes": ["plans", "webhooks", "embed"],
}

API_KEY_PAGE_EXAMPLE: dict[str, Any] = {"items": [API_KEY_EXAMPLE], "next_cursor": None}

NEW_API_KEY_EXAMPLE: dict[str, Any] = {
    **API_KEY_EXAMPLE, "last_used_at": None,
    "key": "lmb_Q2x9fT0aR7w1cY5kLm3nB8vZpD4sH6jE2gK0uX9tAq",
}
