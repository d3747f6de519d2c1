"""GET /api/v1/plans costs the same few SQL statements at any page size, and never reads the
handouts' PDF or HTML bytes (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from tests.contract.helpers import make_plan

PLANS = "/api/v1/plans"
MAX_STATEMENTS = 6


@contextmanager
def statements(app) -> Iterator[list[str]]:
    from service.extensions import db

    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fill_to(app, count: int, with_handout_every: int = 3) -> None:
    """Copy the stored plan into `count` plans (cheaper than `count` POSTs), some with a
    stored handout whose PDF and HTML are big enough to matter if a list loaded them."""
    from service.extensions import db
    from service.models import Handout, Plan, PlanRevision, RenderJob

    with app.app_context():
        plan = db.session.scalars(select(Plan)).first()
        rev = plan.latest
        job = db.session.scalars(select(RenderJob).where(RenderJob.revision_id == rev.id)).one()
        have = db.session.query(Plan).count()
        for i in range(count - have):
            new = Plan(clinic_id=plan.clinic_id, patient_name="Copy", patient_ref=f"C-{i}",
                       current_revision=1)
            new_rev = PlanRevision(
                plan=new, number=1, template_id=rev.template_id,
                template_version=rev.template_version, template_hash=rev.template_hash,
                request=rev.request, snapshot=rev.snapshot, snapshot_sha256=rev.snapshot_sha256,
                options=rev.options)
            db.session.add_all([new, new_rev])
            db.session.flush()
            db.session.add(RenderJob(revision_id=new_rev.id, options_key=job.options_key,
                                     options=job.options, status=RenderJob.DONE
                                     if i % with_handout_every == 0 else RenderJob.QUEUED))
            if i % with_handout_every == 0:
                db.session.add(Handout(revision_id=new_rev.id, options_key=job.options_key,
                                       pdf=b"%PDF-1.4 " + b"x" * 50_000, html="<p>x</p>" * 5000,
                                       sha256=f"{i:064d}", pages=2))
        db.session.commit()


def list_page(client, app, headers, limit: int) -> tuple[list[dict], list[str]]:
    with statements(app) as seen:
        resp = client.get(PLANS, query_string={"limit": limit}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"], seen


def test_plan_list_statement_count_is_constant_and_skips_handout_bytes(app, client, clinics):
    make_plan(client, clinics.a)
    fill_to(app, 101)
    # The first request of a minute also records the key's last use: a write, not the list's.
    client.get(PLANS, query_string={"limit": 1}, headers=clinics.a)

    one, seen_one = list_page(client, app, clinics.a, 1)
    hundred, seen_hundred = list_page(client, app, clinics.a, 100)

    assert len(one) == 1 and len(hundred) == 100
    assert len(seen_one) == len(seen_hundred) <= MAX_STATEMENTS, (seen_one, seen_hundred)
    read = " ".join(seen_hundred).lower()
    assert "handouts.pdf" not in read and "handouts.html" not in read
    # The batched state is the per-plan state: done with pages and hash where a handout exists.
    done = [p["handout"] for p in hundred if p["handout"]["status"] == "done"]
    queued = [p["handout"] for p in hundred if p["handout"]["status"] == "queued"]
    assert len(done) == 34 and all(h["pages"] == 2 and len(h["sha256"]) == 64 for h in done)
    assert queued and all(h["pages"] is None and h["sha256"] is None for h in queued)


def test_a_single_plan_still_reports_its_handout_like_the_list(app, client, clinics):
    made = make_plan(client, clinics.a)
    fill_to(app, 4, with_handout_every=1)
    listed = client.get(PLANS, headers=clinics.a).get_json()["items"]
    for item in listed:
        one = client.get(f"{PLANS}/{item['id']}", headers=clinics.a).get_json()
        assert one["handout"] == item["handout"]
    assert made["id"] in {p["id"] for p in listed}
