"""A real Limber for browser tests and screenshots: web server thread, Celery worker process,
two clinics with clinicians, and every log line the server writes kept in a file."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from werkzeug.serving import make_server

from tests.integration.conftest import Worker, free_port

PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("LIMBER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CLINICIAN_A = "pt@riverside.example"
ADMIN_A = "admin@riverside.example"
CLINICIAN_B = "pt@lakeside.example"


class LiveLimber:
    def __init__(self, directory: Path) -> None:
        from service import create_app, schema

        self.dir = directory
        self.server_log = directory / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"LIMBER_DATABASE_URL": f"sqlite:///{directory / 'limber.sqlite3'}",
                    "LIMBER_BROKER_URL": "filesystem://",
                    "LIMBER_INSTANCE_PATH": str(directory / "instance"),
                    "LIMBER_SECRET_KEY": "browser-test-secret",
                    "LIMBER_SWEEP_SECONDS": "1",
                    # The worker may deliver webhooks to a receiver on loopback; the server
                    # keeps refusing such addresses unless a test switches it on.
                    "LIMBER_WEBHOOK_ALLOW_PRIVATE": "1"}
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": self.env["LIMBER_DATABASE_URL"],
                               "INSTANCE_PATH": self.env["LIMBER_INSTANCE_PATH"],
                               "SECRET_KEY": self.env["LIMBER_SECRET_KEY"],
                               "BROKER_URL": "filesystem://"})
        schema.upgrade(self.app)
        self._seed()
        self.worker = Worker(self.env, directory / "worker.log")
        self._handler = logging.FileHandler(self.server_log)
        self._handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        self._old_level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.INFO)
        logging.getLogger("werkzeug").setLevel(logging.INFO)
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _seed(self) -> None:
        from service.accounts.models import Clinician
        from service.accounts.passwords import hash_password
        from service.extensions import db
        from service.models import Clinic

        hashed = hash_password(PASSWORD)
        with self.app.app_context():
            a = Clinic(slug="riverside", name="Riverside Physio", contact="555-0100",
                       emergency_number="911", allowed_embed_origins=[],
                       out_of_hours="Call 555-0190 or go to urgent care")
            b = Clinic(slug="lakeside", name="Lakeside Rehab", contact="555-0200",
                       emergency_number="999", allowed_embed_origins=[],
                       out_of_hours="Call NHS 111")
            db.session.add_all([a, b])
            db.session.flush()
            db.session.add_all([
                Clinician(clinic_id=a.id, email=CLINICIAN_A, name="Dr Rivera",
                          password_hash=hashed),
                Clinician(clinic_id=a.id, email=ADMIN_A, name="Ada Admin", role="admin",
                          password_hash=hashed),
                Clinician(clinic_id=b.id, email=CLINICIAN_B, name="Dr Lake",
                          password_hash=hashed)])
            db.session.commit()

    def logs(self) -> str:
        self._handler.flush()
        return self.server_log.read_text() + self.worker.log.read_text()

    def stop(self) -> None:
        self.server.shutdown()
        self.worker.stop()
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._old_level)
        self._handler.close()
        with self.app.app_context():
            from service.extensions import db

            db.engine.dispose()


def sign_in(page, base: str, email: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/plans")
