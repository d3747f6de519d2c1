"""The clinician UI in real Chromium against a real server and a real Celery worker.

Set LIMBER_SCREENSHOTS=<dir> to also save screenshots of the builder and the plan page
(docs/make_screenshots.py does this for docs/screenshots/).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from plans.catalogue import default_catalogue
from tests.conftest import need
from tests.ui.a11y import check_axe, check_page, sideways_overflow
from tests.ui.live import (
    ADMIN_A,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLINICIAN_A,
    CLINICIAN_B,
    LiveLimber,
    sign_in,
)

pytestmark = pytest.mark.browser

# A name no code path could produce by accident: if it shows up in a log, a page leaked it.
CANARY = "Quillon Fenwhistle"
SHOTS = os.environ.get("LIMBER_SCREENSHOTS")
TIMEOUT = 30_000  # ms; renders take about a second, the worker's first start a few more
# Tab stops from the patient's name to "Save" in the core template (measured: 48). The issue
# asks for about 30; the 26 screening boxes stay in view on purpose (docs/ui.md), so this bound is
# what the builder reaches with every optional part collapsed. It was 91 before.
TAB_BOUND = 48
SAVE = "Save plan and make handout"
# A function, not a bare expression: the page's CSP forbids the eval a bare string would need.
PREVIEWED = "(n) => document.querySelector('[data-builder]').dataset.previewed === n"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLimber]:
    need(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    server = LiveLimber(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(live: LiveLimber):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, live):  # noqa: ANN001, ANN201
    """A signed-in clinician of the first clinic, with JavaScript."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    sign_in(page, live.url, CLINICIAN_A)
    yield page
    context.close()


def _shot(page, name: str, width: int = 1280) -> None:  # noqa: ANN001
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": width, "height": 900})
        # A sticky save bar lands mid-picture in a full-page capture; pin it to the end.
        page.evaluate("document.querySelectorAll('.actions')"
                      ".forEach(e => { e.style.position = 'static'; })")
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


def _pdf_text(page, url: str) -> str:  # noqa: ANN001
    resp = page.request.get(url)
    assert resp.status == 200, resp.status
    body = resp.body()
    assert body.startswith(b"%PDF")
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages).split())


@pytest.mark.parametrize("template", default_catalogue().approved_templates(),
                         ids=lambda t: t.id)
def test_build_a_plan_from_each_approved_template_and_open_its_pdf(page, live, template):
    page.goto(f"{live.url}/plans/new")
    check_page(page, "template choice")
    page.get_by_role("link", name=re.compile(f"^Use this template.*{re.escape(template.title)}")
                     ).click()
    check_page(page, f"builder, clean ({template.id})")
    page.get_by_label("Patient's name or initials").fill(CANARY)
    page.get_by_label("Reference (optional)").fill("MRN-4471")
    page.get_by_label("Nerve symptoms in the leg").check()
    page.get_by_label("Notes for the patient (optional)").fill("Walk after lunch.")
    _shot(page, "builder")
    _shot(page, "builder-tablet", width=820)
    page.get_by_role("button", name="Save plan and make handout").click()
    page.wait_for_url(re.compile(r"/plans/pln_[\w-]+$"))
    assert CANARY not in page.url
    page.get_by_role("heading", name=CANARY).wait_for()
    check_axe(page, "plan page, rendering or ready")
    # The status updates without a reload: the page's script polls the status endpoint. A
    # reload would drop this marker.
    page.evaluate("window.limberMarker = 'same page'")
    page.get_by_role("link", name="Open PDF").wait_for(state="visible")
    page.get_by_text("Ready").wait_for()
    assert page.evaluate("window.limberMarker") == "same page"
    page.locator("[data-revision-status] a", has_text="PDF").wait_for()
    check_page(page, "plan page, ready")
    _shot(page, "plan-page")
    pdf_href = page.get_by_role("link", name="Open PDF").get_attribute("href")
    text = _pdf_text(page, live.url + pdf_href)
    assert CANARY in text and "Walk after lunch." in text
    html = page.request.get(live.url + page.get_by_role("link", name="Accessible HTML handout")
                            .get_attribute("href"))
    assert html.status == 200 and html.headers["content-type"].startswith("text/html")


def test_out_of_range_dose_shows_its_error_next_to_the_field_and_keeps_what_was_typed(page, live):
    template = default_catalogue().approved_templates()[0]
    page.goto(f"{live.url}/plans/new/{template.id}")
    # Each exercise's doses sit behind one disclosure (one Tab stop until opened).
    page.locator("details[data-doses] > summary").first.click()
    dose = page.locator("input[type=number][max]").first
    name, high = dose.get_attribute("name"), int(dose.get_attribute("max"))
    page.get_by_label("Patient's name or initials").fill(CANARY)
    page.get_by_label("Reference (optional)").fill("MRN-5")
    page.get_by_role("radio", name=re.compile("^High")).check()
    page.get_by_label("Large print").check()
    dose.fill(str(high + 5))
    page.get_by_role("button", name="Save plan and make handout").click()

    field_id = "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    error = page.locator(f"#{field_id}-error")
    error.wait_for()
    assert f"to {high}" in error.inner_text()
    # Next to its field: inside the same dose box, and described by it for screen readers.
    box = page.locator(f".dose:has(#{field_id})")
    assert box.locator(f"#{field_id}-error").count() == 1
    assert f"{field_id}-error" in page.locator(f"#{field_id}").get_attribute("aria-describedby")
    assert page.locator(".error-summary").is_visible()
    # Keyboard: the summary has focus after the reload; its link moves focus to the field.
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == field_id
    assert page.locator(f"#{field_id}").input_value() == str(high + 5)
    assert page.get_by_label("Patient's name or initials").input_value() == CANARY
    assert page.get_by_label("Reference (optional)").input_value() == "MRN-5"
    assert page.get_by_role("radio", name=re.compile("^High")).is_checked()
    assert page.get_by_label("Large print").is_checked()
    assert page.title().startswith("Error: ")
    check_page(page, "builder with errors")
    _shot(page, "builder-error")


def test_a_cauda_equina_sign_blocks_the_plan_until_a_structured_rule_out(page, live):
    template = default_catalogue().approved_templates()[0]
    page.goto(f"{live.url}/plans/new/{template.id}")
    page.get_by_label("Patient's name or initials").fill("R. F.")
    assert not page.get_by_label("Assessed by").is_visible(), "asked for before any sign"
    page.locator("#rf-saddle_numbness").check()
    # The record appears as the box is ticked, and the one status region says what to do.
    page.get_by_label("Assessed by").wait_for()
    page.locator("[data-live-status]", has_text="Refer as an emergency").wait_for()
    # The background check's answer follows the advice in the same region, not instead of it.
    page.wait_for_function(PREVIEWED, arg="1")
    status = page.locator("[data-live-status]").inner_text()
    assert "Refer as an emergency" in status and "Screening records are missing" in status
    check_page(page, "builder with red flags")
    page.get_by_role("button", name="Save plan and make handout").click()
    error = page.locator("#f-screening-cauda_equina_rule_out-error")
    error.wait_for()
    assert "No plan was made" in error.inner_text() and "911" in error.inner_text()
    assert "/plans/new/" in page.url
    assert page.title().startswith("Error: ")
    # The refusal points at what resolves it: the summary's link lands in the rule-out record,
    # whose fields are described by the refusal and marked invalid.
    assessed_by = page.get_by_label("Assessed by")
    assert "f-screening-cauda_equina_rule_out-error" in assessed_by.get_attribute(
        "aria-describedby")
    assert assessed_by.get_attribute("aria-invalid") == "true"
    page.locator(".error-summary a[href='#f-screening-cauda_equina_rule_out']").click()
    assert page.evaluate("document.activeElement.id") == (
        "f-screening-cauda_equina_rule_out-assessed_by")
    check_page(page, "builder refused")
    _shot(page, "builder-red-flag")
    page.goto(f"{live.url}/plans")
    assert page.get_by_role("link", name="R. F.").count() == 0


def test_ticking_nerve_symptoms_shows_the_swap_and_its_range_live_before_saving(page, live):
    page.goto(f"{live.url}/plans/new/core_routine")
    hold = page.locator("[name='dose_changes.strap_hamstring_stretch.hold_seconds']")
    assert hold.get_attribute("max") == "45"
    page.get_by_label("Nerve symptoms in the leg").check()
    # No click: the page asks the server to check the plan as the box is ticked.
    page.locator("[data-swapped]", has_text="Bent-knee strap stretch").wait_for()
    hold = page.locator("[name='dose_changes.strap_hamstring_stretch.hold_seconds']")
    assert hold.get_attribute("max") == "30" and hold.input_value() == "15"
    preview = page.locator("[data-live='preview']")
    assert "instead of Strap hamstring stretch" in preview.inner_text()
    assert "/plans/new/" in page.url
    check_page(page, "builder after a live check")
    _shot(page, "builder-live-preview")


def test_the_builder_works_with_javascript_disabled(browser, live):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    sign_in(page, live.url, CLINICIAN_A)
    page.goto(f"{live.url}/plans/new")
    page.get_by_role("link", name=re.compile("^Use this template")).first.click()
    page.get_by_label("Patient's name or initials").fill(CANARY)
    # "Check plan" shows the swap and the range after it, without a script and without saving.
    page.get_by_label("Nerve symptoms in the leg").check()
    page.get_by_role("button", name="Check plan").click()
    page.locator("[data-swapped]", has_text="Bent-knee strap stretch").wait_for()
    hold = page.locator("[name='dose_changes.strap_hamstring_stretch.hold_seconds']")
    assert hold.get_attribute("max") == "30"
    # A risk factor asks for the clinician's concern and decision; every problem at once.
    page.locator("#rf-cancer_history").check()
    page.get_by_role("button", name="Save plan and make handout").click()
    assert "risk factors" in page.locator("#f-screening-risk_factor_review-error").inner_text()
    page.get_by_label("Concern: low").check()
    page.get_by_label("Proceed with safety-netting").check()
    page.get_by_role("button", name="Save plan and make handout").click()
    page.wait_for_url(re.compile(r"/plans/pln_[\w-]+$"))
    page.get_by_role("heading", name="Screening findings and what was recorded").wait_for()
    # No script to poll: the page refreshes itself (noscript meta refresh) until ready.
    page.get_by_role("link", name="Open PDF").wait_for(state="visible")
    context.close()


def _covered_by_save_bar(page) -> bool:  # noqa: ANN001
    return page.evaluate("""() => {
        const bar = document.querySelector('.actions'), el = document.activeElement;
        if (!bar || bar.contains(el) || getComputedStyle(bar).position !== 'sticky') return false;
        const a = el.getBoundingClientRect(), b = bar.getBoundingClientRect();
        return a.bottom > b.top && a.top < b.bottom;
    }""")


def test_a_keyboard_alone_saves_a_core_template_plan_within_the_tab_bound(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    sign_in(page, live.url, ADMIN_A)
    page.goto(f"{live.url}/plans/new/core_routine")
    # Every dose field sits in a group named after its exercise, so a screen reader says which
    # exercise "Repeats" belongs to.
    bridge = page.get_by_role("group", name="Dose of Bridge", include_hidden=True)
    assert bridge.get_by_role("spinbutton", include_hidden=True).count() >= 2
    assert page.get_by_role("heading", level=1).count() == 1
    for step in ("Patient", "Screening before the plan", "Screening: how the back is today",
                 "Exercises and doses", "Notes and handout"):
        assert page.get_by_role("heading", level=2, name=step, exact=True).count() == 1, step
    # Leaving an exercise out takes its doses out of the Tab order; the redraw that follows
    # keeps focus on the box.
    form = page.locator("[data-builder]")
    page.locator("#ex-glute_bridge").focus()
    page.keyboard.press("Space")
    page.wait_for_function(PREVIEWED, arg="1")
    assert page.evaluate("document.activeElement.id") == "ex-glute_bridge"
    assert form.locator("#doses-glute_bridge").is_hidden()
    page.keyboard.press("Space")
    page.wait_for_function(PREVIEWED, arg="2")
    assert form.locator("#doses-glute_bridge").is_visible()

    page.get_by_label("Patient's name or initials").focus()
    page.keyboard.type("K. B.")
    stops, covered = 0, []
    while page.evaluate("document.activeElement.textContent.trim()") != SAVE:
        page.keyboard.press("Tab")
        stops += 1
        if _covered_by_save_bar(page):
            covered.append(page.evaluate("document.activeElement.id || document.activeElement"
                                         ".textContent.trim()"))
        assert stops <= 100, "Save was never reached"
    assert stops <= TAB_BOUND, f"{stops} Tab stops from the first field to Save"
    assert covered == [], f"the save bar covered the focused element at {covered}"
    bar = page.locator(".actions")
    assert bar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(244, 246, 248)"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/plans/pln_[\w-]+$"))
    page.get_by_role("link", name="Open PDF").wait_for(state="visible")
    plan_url = page.url

    # Where there is no room (320 px wide, or 200% zoom of a short window) the bar is not sticky.
    page.goto(f"{live.url}/plans/new/core_routine")
    page.set_viewport_size({"width": 320, "height": 256})
    assert bar.evaluate("e => getComputedStyle(e).position") == "static"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(plan_url + "/handout.html")
    check_page(page, "HTML handout")
    page.goto(plan_url + "/erase")
    check_page(page, "plan erase, asking first")
    context.close()


def test_every_other_page_passes_axe_and_fits_320_px(browser, live):
    """Sign-in, an invalid set-password link, every admin page and the error page; the builder,
    plan and list states are checked where the tests above reach them."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto(f"{live.url}/set-password/not-a-real-token")
    check_page(page, "set-password link not valid")
    page.goto(f"{live.url}/sign-in")
    check_page(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    assert page.title().startswith("Error: ")
    check_page(page, "sign-in with errors")
    sign_in(page, live.url, ADMIN_A)
    for path in ("/admin/clinicians", "/admin/api-keys", "/admin/clinic", "/admin/audit",
                 "/admin/webhooks"):
        page.goto(live.url + path)
        check_page(page, path)
    page.goto(f"{live.url}/plans/new/no_such_template")
    check_page(page, "error page")
    context.close()


def test_another_clinics_clinician_gets_404_for_the_plan_and_its_pdf(page, browser, live):
    page.goto(f"{live.url}/plans")
    check_page(page, "plan list")
    plan_url = page.get_by_role("link", name=CANARY).first.get_attribute("href")
    other = browser.new_context()
    other_page = other.new_page()
    sign_in(other_page, live.url, CLINICIAN_B)
    for suffix in ("", "/handout.pdf", "/status"):
        assert other_page.goto(f"{live.url}{plan_url}{suffix}").status == 404
    other_page.goto(f"{live.url}/plans")
    assert other_page.get_by_text(CANARY).count() == 0
    other.close()


def test_api_docs_render_under_the_content_security_policy(browser, live):
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(f"{live.url}/api/docs")
    page.get_by_role("heading", name=re.compile("Limber API")).first.wait_for(timeout=TIMEOUT)
    assert page.get_by_text("Create a plan from a template").count() > 0
    # Redoc's "powered by" badge points at its CDN; the policy blocking that is the point
    # (no third-party traffic). Nothing the page needs may be blocked.
    assert [v for v in violations if "https://cdn.redoc.ly/" not in v] == []
    # Redoc draws what is inside <redoc>; its markup is not this project's to change (and axe
    # over it takes seconds; docs/ui.md lists what a full run finds). The page around it, which
    # the template makes (lang, main landmark, title), is checked.
    check_axe(page, "API docs", exclude=("redoc",))
    assert sideways_overflow(page) <= 0
    context.close()


def _reload_until(page, text: str, times: int = 1, seconds: float = 30) -> None:  # noqa: ANN001
    """The delivery log is a plain page: reload it until the worker's attempts show."""
    deadline = time.monotonic() + seconds
    while page.locator("main").inner_text().count(text) < times:
        assert time.monotonic() < deadline, page.locator("main").inner_text()
        page.wait_for_timeout(250)
        page.reload()


def test_an_admin_adds_a_webhook_endpoint_then_reads_and_redelivers_from_its_log(browser, live):
    from tests.webhooks.conftest import Receiver

    receiver = Receiver(answers=[(503, {})]).start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        sign_in(page, live.url, ADMIN_A)
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Address (URL)").fill("https://10.0.0.7/hooks")
        page.get_by_role("button", name="Add endpoint").click()
        assert "cannot send webhooks" in page.locator("#f-url-error").inner_text()
        check_page(page, "admin webhooks with errors")
        live.app.config["WEBHOOK_ALLOW_PRIVATE"] = True
        try:
            page.get_by_label("Address (URL)").fill(receiver.url)
            page.get_by_label("Description (optional)").fill("Front desk portal")
            page.get_by_role("button", name="Add endpoint").click()
            assert page.locator("#new-webhook-secret").input_value().startswith("whsec_")
            check_page(page, "admin webhooks with a new secret")
        finally:
            live.app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        page.get_by_role("link", name="Open the endpoint and its delivery log").click()
        log_url = page.url

        page.goto(f"{live.url}/plans/new")
        page.get_by_role("link", name=re.compile("^Use this template")).first.click()
        page.get_by_label("Patient's name or initials").fill("W. H.")
        page.get_by_role("button", name="Save plan and make handout").click()
        page.wait_for_url(re.compile(r"/plans/pln_[\w-]+$"))
        page.goto(log_url)
        # plan.created gets a 503 and waits for its retry; handout.ready gets a 204.
        _reload_until(page, "HTTP 503")
        _reload_until(page, "HTTP 204")
        page.locator("tr", has_text="plan.created").get_by_role(
            "button", name=re.compile("^Redeliver")).click()
        page.get_by_text("is being sent again, with the same webhook-id").wait_for()
        _reload_until(page, "succeeded", times=2)
        assert "redelivery" in page.locator("tr", has_text="plan.created").inner_text()
        assert "W. H." not in page.content()
        check_page(page, "admin webhook endpoint with its delivery log")
        page.get_by_role("link", name="Delete…").click()
        check_page(page, "admin webhook delete")
        page.go_back()
        _shot(page, "admin-webhook-delivery-log")
    finally:
        context.close()
        receiver.stop()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 3 and len(set(ids)) == 2, "the redelivery keeps its webhook-id"


def test_the_canary_patient_name_is_in_no_server_or_worker_log(live):
    """Runs last in this module: every test above typed the canary name into the UI."""
    logs = live.logs()
    assert "GET /plans" in logs and "render job" in logs, "the logs were not captured"
    assert CANARY not in logs
    assert CANARY.split()[0] not in logs and "MRN-4471" not in logs


def test_the_plan_page_says_what_to_change_when_the_render_is_refused_for_its_text(page, live):
    """The page's script polls the status; a render refused for its text shows what to change
    without a reload."""
    from sqlalchemy import select

    from service import planning
    from service.extensions import db
    from service.models import Clinic, Plan, public_id
    from workers.tasks import render_handout

    with live.app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "riverside"))
        plan = Plan(public_id=public_id("pln"), clinic_id=clinic.id, patient_name="A. B.")
        db.session.add(plan)
        job = planning._add_revision(plan, clinic, 1, {
            "template_id": "core_routine", "patient": {"display_name": "A. B."}}, "test")
        # Notes stored before such text was refused at input. The job is never sent to the
        # broker, so the live worker does not take it: this test runs it below.
        snapshot = job.revision.snapshot
        job.revision.snapshot = {**snapshot, "plan": {**snapshot["plan"], "notes": "\u4e2d"}}
        db.session.commit()
        plan_id, job_id = plan.public_id, job.id
    page.goto(f"{live.url}/plans/{plan_id}")
    page.get_by_text("Making the handout").wait_for()
    page.evaluate("window.limberMarker = 'same page'")
    with live.app.app_context():
        render_handout(job_id)
    status = page.locator("[data-status-text]")
    status.get_by_text(re.compile("cannot be printed")).wait_for()
    assert "U+4E2D" in status.inner_text() and "notes for the patient" in status.inner_text()
    assert page.evaluate("window.limberMarker") == "same page"
