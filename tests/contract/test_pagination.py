"""GET /api/v1/plans: newest first, opaque cursors stable under inserts, filters, clear 422s."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from tests.contract.helpers import make_plan

PLANS = "/api/v1/plans"


def all_pages(client, headers, **query) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        args = {**query, **({"cursor": cursor} if cursor else {})}
        resp = client.get(PLANS, query_string=args, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        pages.append([p["id"] for p in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in resp.headers
            return pages
        link = re.fullmatch(r'<([^>]+)>; rel="next"', resp.headers["Link"])
        assert link and f"cursor={cursor}" in link.group(1)


def test_plans_list_newest_first_twenty_a_page_with_next_cursor_and_link(client, clinics):
    made = [make_plan(client, clinics.a)["id"] for _ in range(23)]
    pages = all_pages(client, clinics.a)
    assert [len(p) for p in pages] == [20, 3]
    assert sum(pages, []) == list(reversed(made))


def test_pages_do_not_shift_when_plans_are_added_between_requests(client, clinics):
    made = [make_plan(client, clinics.a)["id"] for _ in range(6)]
    first = client.get(PLANS, query_string={"limit": 3}, headers=clinics.a).get_json()
    newer = [make_plan(client, clinics.a)["id"] for _ in range(2)]
    second = client.get(PLANS, query_string={"limit": 3, "cursor": first["next_cursor"]},
                        headers=clinics.a).get_json()
    assert [p["id"] for p in first["items"]] == made[5:2:-1]
    assert [p["id"] for p in second["items"]] == made[2::-1]
    assert not set(newer) & {p["id"] for p in second["items"]}


def test_plans_created_in_the_same_instant_are_neither_skipped_nor_repeated(app, client, clinics):
    from service.extensions import db
    from service.models import Plan

    made = {make_plan(client, clinics.a)["id"] for _ in range(5)}
    with app.app_context():
        db.session.execute(update(Plan).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        db.session.commit()
    pages = all_pages(client, clinics.a, limit=2)
    seen = sum(pages, [])
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made


def test_filters_patient_reference_exactly_and_template_id(client, clinics):
    mine = make_plan(client, clinics.a, patient={"display_name": "A", "reference": "MRN-7"})
    make_plan(client, clinics.a, patient={"display_name": "B", "reference": "MRN-70"})
    make_plan(client, clinics.a, patient={"display_name": "C"})
    by_ref = client.get(PLANS, query_string={"patient_reference": "MRN-7"},
                        headers=clinics.a).get_json()["items"]
    assert [p["id"] for p in by_ref] == [mine["id"]]
    by_template = client.get(PLANS, query_string={"template_id": "core_routine"},
                             headers=clinics.a).get_json()["items"]
    assert len(by_template) == 3
    none = client.get(PLANS, query_string={"template_id": "no_such_template"},
                      headers=clinics.a).get_json()
    assert none == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("query", "field"), [
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "WyIyMDI2IiwxXQ"}, "cursor"),  # base64 JSON, but not a (time, id) we issued
    # A well-formed position whose id holds U+0000, which PostgreSQL cannot compare.
    ({"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwiYVx1MDAwMGIiXQ"}, "cursor"),
    ({"patient_ref": "MRN-7"}, "patient_ref"),  # a typo'd filter must not list every plan
])
def test_bad_paging_arguments_are_422_problems_naming_the_field(client, clinics, query, field):
    resp = client.get(PLANS, query_string=query, headers=clinics.a)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == [field]


def test_limit_100_is_allowed_and_list_items_are_full_plans(client, clinics):
    make_plan(client, clinics.a)
    resp = client.get(PLANS, query_string={"limit": 100}, headers=clinics.a)
    item = resp.get_json()["items"][0]
    assert item["handout"]["status"] in ("pending", "queued")
    assert item["created_at"].endswith("+00:00")


def test_api_keys_page_the_same_way_and_refuse_forged_cursors(client, clinics):
    """The shared helper behind every list: ids a cursor could carry stay in range."""
    import base64
    import json as _json

    for _ in range(3):
        client.post("/api/v1/api-keys", json={"name": "k"}, headers=clinics.a)
    first = client.get("/api/v1/api-keys", query_string={"limit": 2}, headers=clinics.a)
    second = client.get("/api/v1/api-keys",
                        query_string={"limit": 2, "cursor": first.get_json()["next_cursor"]},
                        headers=clinics.a).get_json()
    ids = [k["id"] for k in first.get_json()["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 4 and second["next_cursor"] is None
    for forged in (["2026-01-01T00:00:00+00:00", 2**70], ["2026-01-01T00:00:00+00:00", 2**40],
                   ["2026-01-01T00:00:00+00:00", "7"],
                   ["2026-01-01T00:00:00", 7]):
        cursor = base64.urlsafe_b64encode(_json.dumps(forged).encode()).decode()
        resp = client.get("/api/v1/api-keys", query_string={"cursor": cursor},
                          headers=clinics.a)
        assert resp.status_code == 422, forged
        assert resp.get_json()["errors"][0]["field"] == "cursor"
