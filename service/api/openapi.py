"""Completes every API operation's OpenAPI entry: security, headers and problem+json answers.

An apispec plugin rather than per-view decorators, so a route added later (webhook endpoints,
...) is documented the same way without anyone remembering to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from apispec import APISpec, BasePlugin
from flask_smorest import Api

from service import scopes
from service.errors import PROBLEM_MIME, TYPE_BASE, ProblemSchema
from service.idempotency import IDEMPOTENCY_PARAMETER

SECURITY = [{"bearerAuth": []}]

PATH_PARAMETERS = {
    "public_id": "The plan's id (`pln_...`), as returned when it was created. Another "
                 "clinic's plan ids answer 404.",
    "key_id": "The API key's `id`, as `GET /api/v1/api-keys` lists it.",
    "template_id": "A template id from `GET /api/v1/templates`.",
    "number": "The revision number: 1 for the plan as created, one more for each revision.",
}


def _example(status: int, title: str, detail: str, kind: str, instance: str,
             errors: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


# name -> (status, description, example body)
PROBLEMS: dict[str, tuple[int, str, dict[str, Any]]] = {
    "BadRequest": (400, "The body is not valid JSON.", _example(
        400, "Bad Request", "Invalid JSON body.", "bad-request", "/api/v1/plans")),
    "Unauthorized": (401, "No API key, or one that is unknown or revoked.", _example(
        401, "Unauthorized", "That API key is not valid, has been revoked, or its clinic is "
        "disabled.", "unauthorized", "/api/v1/plans")),
    "Forbidden": (403, "The API key does not have the scope this route needs (plans, webhooks, "
                       "embed or keys).", _example(
        403, "Forbidden", "This API key does not have the 'keys' scope this route needs.",
        "forbidden", "/api/v1/api-keys")),
    "NotFound": (404, "No such resource in your clinic (another clinic's ids answer the same).",
                 _example(404, "Not Found", "No plan with that id in your clinic.", "not-found",
                          "/api/v1/plans/pln_x1Yc3bq0d9ZkQ2aP")),
    "Conflict": (409, "A request with the same Idempotency-Key is still running; retry after "
                      "Retry-After seconds.", _example(
        409, "A request with this Idempotency-Key is still in progress",
        "The first request with this Idempotency-Key has not finished. Retry after a moment "
        "to get its answer.", "idempotency-key", "/api/v1/plans",
        [{"field": "Idempotency-Key", "message": "The first request with this "
                                                 "Idempotency-Key has not finished."}])),
    "PayloadTooLarge": (413, "The request body is larger than 1 MB.", _example(
        413, "Request Entity Too Large", "The request body is larger than 1 MB.",
        "request-entity-too-large", "/api/v1/plans")),
    "UnsupportedMediaType": (415, "The body must be JSON, sent as Content-Type: "
                                  "application/json.", _example(
        415, "Unsupported Media Type", "Send the body as JSON with 'Content-Type: "
        "application/json'.", "unsupported-media-type", "/api/v1/plans")),
    "InvalidFields": (422, "Invalid fields; `errors` names each one by its dotted path.",
                      _example(422, "Your request has invalid fields", "", "validation",
                               "/api/v1/plans",
                               [{"field": "patient.display_name",
                                 "message": "Missing data for required field."}])),
    "ServiceUnavailable": (503, "Temporarily unable to answer; retry later.", _example(
        503, "Service Unavailable", "The handout could not be made after 5 tries, for a reason "
        "other than the plan's text. Saving the plan again (a new revision) makes a new "
        "attempt; if that fails too, contact Limber support.", "service-unavailable",
        "/api/v1/plans/pln_x1Yc3bq0d9ZkQ2aP/handout")),
    "ServerError": (500, "Something failed on our side; nothing was half-stored. Retry later "
                         "(with the same Idempotency-Key for a POST).", _example(
        500, "Internal Server Error", "The server encountered an internal error and was "
        "unable to complete your request.", "internal-server-error", "/api/v1/plans")),
}


def _problem_response(name: str) -> dict[str, Any]:
    status, description, example = PROBLEMS[name]
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"},
                                       "description": 'Always `Bearer realm="limber"`.'}
    if status == 409:
        headers["Retry-After"] = {"schema": {"type": "string"}, "description": "Seconds."}
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MIME: {"schema": {"$ref": "#/components/schemas/Problem"},
                                   "example": example}},
    }
    if headers:
        response["headers"] = headers
    return response


def _is_ref(response: Any, name: str = "") -> bool:
    """apispec holds component references as bare names until it cleans the operations."""
    if isinstance(response, str):
        return not name or response == name
    if isinstance(response, dict) and "$ref" in response:
        return not name or response["$ref"].endswith("/" + name)
    return False


# Operation ids a generated client turns into function names; any route not listed gets one
# derived from its method and path by operation_id().
OPERATION_IDS = {
    ("get", "/api/v1/plans/{public_id}/handout"): "get_plan_handout_pdf",
    ("get", "/api/v1/plans/{public_id}/handout.html"): "get_plan_handout_html",
    ("get", "/api/v1/plans/{public_id}/revisions/{number}/handout"): "get_revision_handout_pdf",
    ("get", "/api/v1/plans/{public_id}/revisions/{number}/handout.html"):
        "get_revision_handout_html",
    ("post", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"):
        "rotate_webhook_endpoint_secret",
    ("post", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"):
        "redeliver_webhook_delivery",
    ("get", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): "list_webhook_deliveries",
}
_VERBS = {"get": "get", "post": "create", "patch": "update", "put": "replace",
          "delete": "delete"}


def operation_id(method: str, path: str) -> str:
    """`list_plans`, `create_plan`, `get_plan`, `update_plan`, `delete_plan`, ..."""
    if (method, path) in OPERATION_IDS:
        return OPERATION_IDS[(method, path)]
    parts = [p for p in path.split("/")[3:] if not p.startswith("{")]
    noun = "_".join(p.replace("-", "_").replace(".", "_") for p in parts)
    if method == "get" and not path.endswith("}"):
        return f"list_{noun}"
    singular = noun[:-1] if noun.endswith("s") else noun
    return f"{_VERBS.get(method, method)}_{singular}"


def finish_contract(api: Api) -> None:
    """After every blueprint is registered: tag names as in the URLs (blueprint names are
    Python identifiers), and no flask-smorest default schemas we never answer with, which a
    generated client would turn into dead models."""
    for tag in api.spec._tags:  # apispec keeps them only here
        tag["name"] = tag["name"].replace("_", "-")
    for unused in ("Error", "PaginationMetadata"):
        api.spec.components.schemas.pop(unused, None)
    # Problem answers no operation refers to (each view documents its own 503 in words).
    paths = json.dumps(api.spec._paths, default=str)
    for name in list(api.spec.components.responses):
        if name in PROBLEMS and f'"{name}"' not in paths and f"/{name}\"" not in paths:
            del api.spec.components.responses[name]


class ContractPlugin(BasePlugin):
    """Adds to each /api/v1 operation what the public contract promises for all of them."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def path_helper(self, path: str | None = None, operations: dict | None = None,
                    parameters: list | None = None, **kwargs: Any) -> None:
        """Describe path parameters (Flask's plugin, which runs first, only names them)."""
        if not path or not path.startswith("/api/v1/"):
            return
        for parameter in parameters or []:
            if isinstance(parameter, dict) and parameter.get("in") == "path":
                parameter.setdefault("description", PATH_PARAMETERS.get(
                    parameter.get("name", ""), "The id, as the API returned it."))

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        if not path or not path.startswith("/api/v1/") or not operations:
            return
        has_path_params = bool(re.search(r"{[^}]+}", path))
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            # Status codes arrive as ints from some decorators and strings from others.
            responses = op["responses"] = {str(k): v for k, v in op.get("responses", {}).items()}
            # flask-smorest's generic error schema is not what we answer; problem+json is.
            if _is_ref(responses.get("default"), "DEFAULT_ERROR"):
                del responses["default"]
            op.setdefault("security", SECURITY)
            # One style for generated clients: tags as in the URL, snake_case operation ids.
            op["tags"] = [path.split("/")[3]]
            op.setdefault("operationId", operation_id(method, path))
            # Which key scope the route needs, from the same table require_api_key reads.
            op["x-required-scope"] = scopes.scope_for(path.split("{", 1)[0].rstrip("/")) or "none"
            wanted = ["Unauthorized", "Forbidden"]
            if has_path_params:
                wanted.append("NotFound")
            if op.get("requestBody"):
                wanted += ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType",
                           "InvalidFields"]
            if any(p.get("in") == "query" for p in op.get("parameters", [])):
                wanted.append("InvalidFields")
            if op.pop("x-idempotent", False):
                op.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
                wanted += ["Conflict", "InvalidFields"]
                success = next((c for c in responses if c.startswith("2")), None)
                if success:
                    responses[success].setdefault("headers", {})["Idempotent-Replayed"] = {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "Present when this is the stored answer to an earlier "
                                       "request with the same Idempotency-Key."}
            for name in wanted:
                code = str(PROBLEMS[name][0])
                current = responses.get(code)
                if current is None or _is_ref(current):
                    responses[code] = name
                elif "content" not in current:
                    # A view documented why it answers this code; keep its words, add the body.
                    responses[code] = {**_problem_response(name),
                                       "description": current.get("description")
                                       or PROBLEMS[name][1]}
            by_status = {str(status): name for name, (status, _, _) in PROBLEMS.items()}
            for code, current in list(responses.items()):
                # An error a view documented in words only still answers problem+json.
                if code in by_status and isinstance(current, dict) and "content" not in current \
                        and "$ref" not in current:
                    responses[code] = {**_problem_response(by_status[code]),
                                       "description": current.get("description")
                                       or PROBLEMS[by_status[code]][1]}
            responses.setdefault("default", "ServerError")


API_DESCRIPTION = """Build personalised hamstring-mobility and low-back home plans from vetted
templates, and fetch the patient handout (PDF or accessible HTML) once a worker has rendered it.

* **Auth**: `Authorization: Bearer <api key>`; a key belongs to one clinic and sees only its
  rows (another clinic's ids answer 404). Manage keys with `/api/v1/api-keys`.
* **Retries**: send `Idempotency-Key` on `POST /api/v1/plans` and `PATCH /api/v1/plans/{id}`;
  a retry replays the first answer.
* **Lists** are newest first, `limit` (1-100, default 20) and an opaque `cursor` taken from
  `next_cursor` (also in the `Link: <...>; rel="next"` header).
* **Errors** are RFC 9457 `application/problem+json`; `errors[].field` names each bad field.

The integration guide is `docs/integrating.md` in the Limber repository.
"""


def register_contract(api: Api) -> None:
    """Call before registering blueprints: the plugin sees operations as they are added."""
    spec = api.spec
    spec.options.setdefault("info", {})["description"] = API_DESCRIPTION
    spec.components.schema("Problem", schema=ProblemSchema)
    for name in PROBLEMS:
        spec.components.response(name, _problem_response(name))
    plugin = ContractPlugin()
    plugin.init_spec(spec)
    spec.plugins.append(plugin)
