"""The builder inside a portal's iframe, in real Chromium: a real Limber server and Celery
worker on one origin, a tiny portal page on two others (one allowed, one not)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from plans.catalogue import default_catalogue
from tests.conftest import need
from tests.integration.conftest import free_port
from tests.ui.a11y import check_axe, check_frame_reflow
from tests.ui.live import CHROMIUM, CHROMIUM_ARGS, LiveLimber

pytestmark = pytest.mark.browser

CANARY = "Quillon Fenwhistle"
SHOTS = os.environ.get("LIMBER_SCREENSHOTS")  # a folder: also save pictures for the docs
ISSUED: list[str] = []  # every link the tests created, to look for in the logs
TEMPLATE_TITLE = default_catalogue().template("core_routine").title
TIMEOUT = 30_000  # ms; the worker's first start takes a few seconds

# What a portal engineer would write (docs/embedding.md shows the same listener): the embed URL
# comes in the query, and only messages from Limber's origin are believed.
PORTAL_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Clinic portal</title></head>
<body><h1>Clinic portal</h1>
<iframe id="limber" title="Limber plan builder" width="1000" height="800"></iframe>
<script>
  var params = new URLSearchParams(location.search);
  var limberOrigin = params.get("limber_origin");
  window.received = [];
  window.addEventListener("message", function (event) {
    if (event.origin !== limberOrigin) { return; }
    if (!event.data || event.data.type !== "limber:plan-saved") { return; }
    window.received.push(event.data);
  });
  document.getElementById("limber").src = params.get("embed");
</script></body></html>
"""


class _Portal(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = PORTAL_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def portal() -> Iterator[int]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, portal: int) -> Iterator[LiveLimber]:
    """Riverside allows its portal at http://localhost:<port> (another site than Limber's
    127.0.0.1), and has an API key for it."""
    need(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    from sqlalchemy import select

    from service.auth import issue_api_key
    from service.extensions import db
    from service.models import Clinic

    server = LiveLimber(tmp_path_factory.mktemp("embed-live"))
    with server.app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "riverside"))
        clinic.allowed_embed_origins = [f"http://localhost:{portal}"]
        _, server.api_key = issue_api_key(clinic, "portal")
        db.session.commit()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(live: LiveLimber):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(page, name: str) -> None:  # noqa: ANN001
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def _link(live: LiveLimber, parent_origin: str) -> str:
    resp = requests.post(f"{live.url}/api/v1/embed-sessions", timeout=10,
                         headers={"Authorization": f"Bearer {live.api_key}"},
                         json={"patient_reference": "MRN-4471", "parent_origin": parent_origin,
                               "patient_display_name": CANARY, "template_id": "core_routine",
                               "clinician": "Sam Okafor, PT"})
    assert resp.status_code == 201, resp.text
    ISSUED.append(resp.json()["url"])
    return resp.json()["url"]


def _limber_frame(page):  # noqa: ANN001, ANN202
    return next(f for f in page.frames if f != page.main_frame)


def _portal_url(origin: str, live: LiveLimber, link: str) -> str:
    return f"{origin}/portal.html?limber_origin={quote(live.url)}&embed={quote(link)}"


def test_an_allowed_portal_embeds_the_builder_and_hears_when_the_plan_is_saved(
        browser, live, portal):
    allowed = f"http://localhost:{portal}"
    link = _link(live, allowed)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto(_portal_url(allowed, live, link))
    frame = page.frame_locator("#limber")
    frame.get_by_role("heading", level=1, name=TEMPLATE_TITLE).wait_for()
    limber = _limber_frame(page)
    check_axe(limber, "embed builder")
    check_frame_reflow(page, "#limber", limber, "embed builder")
    _shot(page, "embed-builder")
    assert frame.get_by_label("Patient's name or initials").input_value() == CANARY
    assert frame.locator("#f-patient-reference").input_value() == "MRN-4471"
    frame.get_by_label("Nerve symptoms in the leg").check()
    frame.get_by_label("Notes for the patient (optional)").fill("Walk after lunch.")
    frame.get_by_role("button", name="Save plan and make handout").click()

    page.wait_for_function("window.received.length > 0")
    messages = page.evaluate("window.received")
    assert len(messages) == 1
    message = messages[0]
    assert set(message) == {"type", "plan_id", "revision"}
    assert message["type"] == "limber:plan-saved" and message["revision"] == 1
    plan_id = message["plan_id"]
    assert plan_id.startswith("pln_")

    # The plan page shows in the frame and updates itself until the handout is ready.
    frame.get_by_role("heading", name=CANARY).wait_for()
    frame.get_by_role("link", name="Open PDF").wait_for(state="visible")
    assert frame.get_by_role("link", name="Accessible HTML handout").is_visible()
    limber = _limber_frame(page)
    check_axe(limber, "embed plan page, ready")
    check_frame_reflow(page, "#limber", limber, "embed plan page, ready")
    _shot(page, "embed-plan")

    api = requests.get(f"{live.url}/api/v1/plans/{plan_id}", timeout=10,
                       headers={"Authorization": f"Bearer {live.api_key}"})
    assert api.status_code == 200
    body = api.json()
    assert body["patient"] == {"display_name": CANARY, "reference": "MRN-4471"}
    assert body["handout"]["status"] == "done"

    # Used once, the link shows a clear page, not the builder.
    again = requests.get(link, timeout=10, allow_redirects=False)
    assert again.status_code == 410

    # The session goes on in the frame: another plan, from another template.
    frame.get_by_role("link", name="Make another plan for this patient").click()
    frame.get_by_role("link", name="choose another template").click()
    frame.get_by_role("heading", level=1, name="Choose a template").wait_for()
    limber = _limber_frame(page)
    check_axe(limber, "embed template choice")
    check_frame_reflow(page, "#limber", limber, "embed template choice")
    context.close()


def test_a_portal_on_another_origin_cannot_frame_the_builder(browser, live, portal):
    """Same session, framed by http://127.0.0.1:<port>, which the clinic never allowed:
    Chromium refuses to render Limber's page (frame-ancestors), and reports the violation."""
    link = _link(live, f"http://localhost:{portal}")
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    blocked = f"http://127.0.0.1:{portal}"
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)
    page.goto(_portal_url(blocked, live, link))
    # The frame navigated to Limber (the redirect to the session page happened) ...
    page.wait_for_function("document.getElementById('limber').src !== ''")
    child = next(f for f in page.frames if f != page.main_frame)
    child.wait_for_load_state()
    page.wait_for_timeout(200)
    # ... and Chromium put its error page there instead of Limber's content.
    assert child.url.startswith("chrome-error://"), child.url
    assert "Patient's name" not in child.content()
    assert refusals and "frame-ancestors" in refusals[0]
    context.close()


def test_no_link_session_key_or_patient_name_in_any_log(live):
    """Runs last: the tests above opened links and typed the canary name."""
    logs = live.logs()
    assert "/embed/[redacted]" in logs and "/embed/s/[redacted]" in logs, "logs not captured"
    assert CANARY not in logs
    for link in ISSUED:
        assert link.rsplit("/", 1)[1] not in logs
    # Session keys are only ever in the iframe's URLs: every request line is redacted.
    for path in re.findall(r'"[A-Z]+ (/embed/\S*)', logs):
        assert path.startswith(("/embed/[redacted]", "/embed/s/[redacted]")), path
