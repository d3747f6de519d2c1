"""The OpenAPI document as a generator reads it: valid, no dead components, one naming style,
and handout answers that declare their content."""

from __future__ import annotations

import json
import re


def test_the_document_is_valid_consistent_and_declares_handout_content(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    text = json.dumps(spec)
    for kind in ("schemas", "responses"):
        unused = [name for name in spec["components"][kind]
                  if f'"#/components/{kind}/{name}"' not in text]
        assert not unused, f"unused {kind}: {unused}"

    ids = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            ids.append(op["operationId"])
            assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), op["operationId"]
            assert op["tags"] == [path.split("/")[3]], (method, path)
    assert len(ids) == len(set(ids)), "operation ids are unique"
    assert {t["name"] for t in spec["tags"]} >= {"plans", "api-keys", "webhook-endpoints"}
    assert all(re.fullmatch(r"[a-z-]+", t["name"]) for t in spec["tags"])

    plans = "/api/v1/plans/{public_id}"
    for suffix, mime, schema in (("/handout", "application/pdf",
                                  {"type": "string", "format": "binary"}),
                                 ("/handout.html", "text/html", {"type": "string"})):
        for prefix in (plans, plans + "/revisions/{number}"):
            responses = spec["paths"][prefix + suffix]["get"]["responses"]
            assert responses["200"]["content"] == {mime: {"schema": schema}}
            assert "ETag" in responses["200"]["headers"] and "304" in responses
            assert "application/json" in responses["202"]["content"]
    assert "204" in spec["paths"][plans]["delete"]["responses"]
