"""Templates, the OpenAPI document and health probes."""

from __future__ import annotations


def test_templates_lists_approved_templates_with_version_and_hash(client, clinics):
    resp = client.get("/api/v1/templates", headers=clinics.a)
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert items
    for t in items:
        assert t["review"]["status"] == "approved"
        assert isinstance(t["version"], int) and len(t["content_hash"]) == 64
        assert t["exercises"] and all(e["dose_text"] for e in t["exercises"])
        assert {f["tier"] for f in t["red_flags"]} == {"emergency", "same_day", "slow_down"}


def test_unknown_template_is_404_problem(client, clinics):
    resp = client.get("/api/v1/templates/nope", headers=clinics.a)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_openapi_document_describes_plans_and_bearer_auth(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/plans" in spec["paths"] and "/api/v1/plans/{public_id}/handout" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_human_api_docs_are_served_from_the_vendored_redoc_and_our_spec(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "<title>Limber API</title>" in page
    assert 'src="/static/vendor/redoc/redoc.standalone.js"' in page
    assert "/api/openapi.json" in page
    # The script the page loads is really there (no CDN to fall back on).
    script = client.get("/static/vendor/redoc/redoc.standalone.js")
    assert script.status_code == 200 and len(script.get_data()) > 100_000


def test_healthz_and_readyz(app, client):
    """Ready needs the database and a worker that beat within the stale limit; a service with
    no worker would accept plans whose handouts never come."""
    from datetime import timedelta

    from service import heartbeats
    from service.models import utcnow

    assert client.get("/healthz").get_json() == {"status": "ok"}
    alone = client.get("/readyz")
    assert alone.status_code == 503
    assert alone.get_json()["checks"] == {
        "database": "ok", "worker": "no worker seen in the last 30 s",
        "broker": alone.get_json()["checks"]["broker"]}

    with app.app_context():
        heartbeats.beat("celery@old", utcnow() - timedelta(seconds=31))
    assert client.get("/readyz").status_code == 503

    with app.app_context():
        heartbeats.beat("celery@test")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["database"] == "ok"
    assert ready.get_json()["checks"]["worker"] == "ok"

    with app.app_context():
        heartbeats.forget("celery@test")
    assert client.get("/readyz").status_code == 503
