"""Every API error is problem+json, and the OpenAPI document is valid 3.1 and complete."""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from tests.contract.helpers import make_plan, plan_body

PROBLEM = "application/problem+json"


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_unknown_route_under_api_is_a_404_problem(client, clinics):
    assert_problem(client.get("/api/v1/no-such-thing", headers=clinics.a), 404)


def test_wrong_method_is_a_405_problem_with_allow(client, clinics):
    resp = client.put("/api/v1/plans", json={}, headers=clinics.a)
    assert_problem(resp, 405)
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}


def test_a_form_body_is_a_415_problem_not_a_confusing_422(app, client, clinics):
    resp = client.post("/api/v1/plans", data={"template_id": "core_routine"},
                       headers=clinics.a)
    assert "JSON" in assert_problem(resp, 415)["detail"]
    plan = make_plan(client, clinics.a)
    patch = client.patch(f"/api/v1/plans/{plan['id']}", data="notes=x",
                         content_type="text/plain", headers=clinics.a)
    assert_problem(patch, 415)


def test_malformed_json_is_a_400_problem(client, clinics):
    resp = client.post("/api/v1/plans", data="{not json", content_type="application/json",
                       headers=clinics.a)
    assert_problem(resp, 400)


def test_a_body_over_1_mb_is_a_413_problem(client, clinics):
    resp = client.post("/api/v1/plans", data="x" * (1024 * 1024 + 1),
                       content_type="application/json", headers=clinics.a)
    assert "1 MB" in assert_problem(resp, 413)["detail"]


def test_missing_or_revoked_key_is_a_401_problem_with_www_authenticate(client):
    for headers in ({}, {"Authorization": "Bearer lmb_nope"}, {"Authorization": "Basic x"}):
        resp = client.get("/api/v1/plans", headers=headers)
        assert_problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_invalid_fields_are_named_by_dotted_path(client, clinics):
    resp = client.post("/api/v1/plans", headers=clinics.a, json=plan_body(
        patient={"display_name": ""}, handout={"page_size": "tabloid"}))
    fields = {e["field"] for e in assert_problem(resp, 422)["errors"]}
    assert fields == {"patient.display_name", "handout.page_size"}
    top = client.post("/api/v1/plans", json=["not", "an", "object"], headers=clinics.a)
    assert [e["field"] for e in assert_problem(top, 422)["errors"]] == ["body"]


def test_patch_makes_a_new_revision_from_the_fields_sent(client, clinics):
    plan = make_plan(client, clinics.a, notes="first", clinician="Sam")
    resp = client.patch(f"/api/v1/plans/{plan['id']}", json={"notes": "second"},
                        headers=clinics.a)
    assert resp.status_code == 200
    assert resp.get_json()["revision"] == 2
    empty = client.patch(f"/api/v1/plans/{plan['id']}", json={}, headers=clinics.a)
    assert_problem(empty, 422)
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=clinics.a).get_json()[
        "revision"] == 2


@pytest.fixture()
def spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                yield path, method, op


def resolve(spec: dict, response: dict) -> dict:
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_openapi_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    OPENAPI_31_VALIDATOR.validate(spec)


def test_every_operation_has_summary_tags_security_and_problem_answers(spec):
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary") and op.get("tags"), where
        assert op.get("security") == [{"bearerAuth": []}], where
        codes = set(op["responses"])
        expected = {"401", "default"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in op:
            expected |= {"400", "413", "415", "422"}
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            expected.add("422")
        assert expected <= codes, (where, expected - codes)
        for code in expected:
            response = resolve(spec, op["responses"][code])
            media = response["content"][PROBLEM]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (where, code)
            if code != "default":
                examples = [media["example"]] if "example" in media else [
                    e["value"] for e in media["examples"].values()]
                assert examples and all(e["status"] == int(code) for e in examples), (where, code)


def test_every_parameter_is_described(spec):
    for path, item in spec["paths"].items():
        params = list(item.get("parameters", []))
        params += [p for _, _, op in operations({"paths": {path: item}})
                   for p in op.get("parameters", [])]
        for p in params:
            assert p.get("description"), (path, p["name"])


def test_plan_create_documents_its_example_and_idempotency(spec):
    op = spec["paths"]["/api/v1/plans"]["post"]
    example = op["requestBody"]["content"]["application/json"]["example"]
    assert example["template_id"] == "core_routine" and example["patient"]["display_name"]
    header = next(p for p in op["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["maxLength"] == 255
    conflict = resolve(spec, op["responses"]["409"])
    assert conflict["content"][PROBLEM]["example"]["errors"][0]["field"] == "Idempotency-Key"
    assert "Location" in op["responses"]["201"]["headers"]


def test_lists_document_limit_cursor_and_the_link_header(spec):
    for path in ("/api/v1/plans", "/api/v1/api-keys"):
        op = spec["paths"][path]["get"]
        params = {p["name"]: p for p in op["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 100
        assert "cursor" in params
        assert "Link" in op["responses"]["200"]["headers"]
    plans = {p["name"] for p in spec["paths"]["/api/v1/plans"]["get"]["parameters"]}
    assert {"patient_reference", "template_id"} <= plans


@pytest.mark.parametrize(("example", "body"), [
    ("red-flag-present", plan_body(screening={"red_flags": ["saddle_numbness"]})),
    ("dose-out-of-range", plan_body(dose_changes={"glute_bridge": {"reps": 40}})),
])
def test_documented_refusal_examples_are_what_the_api_really_answers(client, clinics, spec,
                                                                      example, body):
    """The examples integrators copy from the docs cannot drift from the real answers."""
    documented = spec["paths"]["/api/v1/plans"]["post"]["responses"]["422"]["content"][
        PROBLEM]["examples"][example]["value"]
    real = assert_problem(client.post("/api/v1/plans", json=body, headers=clinics.a), 422)
    assert real == documented


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "field"), [
    ("GET", "/api/v1/plans/pln_%00x", {}, 404, None),
    ("GET", "/api/v1/plans/pln_%00x/handout", {}, 404, None),
    ("GET", "/api/v1/plans", {"query_string": {"patient_reference": "a\x00b"}}, 422,
     "patient_reference"),
    ("GET", "/api/v1/plans", {"query_string": {"template_id": "a\x00b"}}, 422, "template_id"),
    ("POST", "/api/v1/plans", {"json": plan_body(patient={"display_name": "A\x00B"})}, 422,
     "patient.display_name"),
    ("POST", "/api/v1/api-keys", {"json": {"name": "x\x00"}}, 422, "name"),
])
def test_text_with_a_nul_character_is_refused_not_a_server_error(
        client, clinics, method, path, kwargs, status, field):
    """PostgreSQL cannot store or compare U+0000; it was a 500 there before this rule."""
    resp = client.open(path, method=method, headers=clinics.a, **kwargs)
    body = assert_problem(resp, status)
    if field:
        assert [e["field"] for e in body["errors"]] == [field]


def test_json_nested_too_deeply_is_a_400_problem_not_a_server_error(app, client, clinics):
    """Found by hand: 100 000 nested arrays (well under 1 MB) overflowed the JSON parser."""
    deep = "[" * 100_000 + "]" * 100_000
    for headers in (clinics.a, {**clinics.a, "Idempotency-Key": "deep"}):
        resp = client.post("/api/v1/plans", data=deep, content_type="application/json",
                           headers=headers)
        assert "nested" in assert_problem(resp, 400)["detail"]


def test_every_documented_example_fits_its_schema(spec):
    """Request and response examples are what integrators copy; each must be valid."""
    import jsonschema_rs

    checked = 0
    for path, method, op in operations(spec):
        media_types = list(op.get("requestBody", {}).get("content", {}).values())
        for response in op["responses"].values():
            media_types += list(resolve(spec, response).get("content", {}).values())
        for media in media_types:
            if "schema" not in media:
                continue
            examples = [media["example"]] if "example" in media else [
                e["value"] for e in media.get("examples", {}).values()]
            validator = jsonschema_rs.Draft202012Validator(
                {**media["schema"], "components": spec["components"]})
            for example in examples:
                errors = [e.message for e in validator.iter_errors(example)]
                assert not errors, (method.upper(), path, errors)
                checked += 1
    assert checked >= 12
