"""Small builders shared by the contract tests."""

from __future__ import annotations

from typing import Any

TEMPLATE = "core_routine"


def plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"template_id": TEMPLATE,
                            "patient": {"display_name": "Ana P.", "reference": "MRN-1"}}
    body.update(overrides)
    return body


def make_plan(client: Any, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/plans", json=plan_body(**overrides), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
