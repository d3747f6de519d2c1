"""Access logs never carry query strings (portal references) or single-use link tokens."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from service.access_log import RedactingFilter, redact_path
from tests.integration.conftest import ROOT, free_port, wait_for


def test_redact_path_drops_the_query_and_link_tokens():
    assert redact_path("/api/v1/plans?patient_reference=MRN-1") == "/api/v1/plans"
    assert redact_path("/set-password/abc.DEF-123") == "/set-password/…"
    assert redact_path("/embed/tok_secret?x=1") == "/embed/…"
    assert redact_path("/plans/pln_1") == "/plans/pln_1"


def test_development_server_log_line_is_redacted():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] %s %s %s',
                               ("127.0.0.1", "now",
                                '"GET /api/v1/plans?patient_reference=MRN-CANARY HTTP/1.1"',
                                "200", "-"), None)
    RedactingFilter().filter(record)
    line = record.getMessage()
    assert "MRN-CANARY" not in line and '"GET /api/v1/plans HTTP/1.1"' in line


def test_gunicorn_access_log_holds_no_query_or_token(tmp_path: Path):
    """Production's web server, started as docker-compose.yml starts it."""
    port = free_port()
    env = {**os.environ, "LIMBER_INSTANCE_PATH": str(tmp_path),
           "LIMBER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "LIMBER_SECRET_KEY": "access-log-test"}
    subprocess.run([sys.executable, "-m", "service.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    log = tmp_path / "access.log"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log),
         "--logger-class", "service.access_log.RedactingGunicornLogger", "service.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").status == 200
            except OSError:
                return False

        assert wait_for(up, 30, 0.2)
        for path in ("/api/v1/plans?patient_reference=MRN-CANARY", "/set-password/TOKENCANARY"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
            except urllib.error.HTTPError:
                pass
        assert wait_for(lambda: "set-password" in log.read_text(), 10, 0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text()
    assert "GET /api/v1/plans " in text and "/set-password/…" in text
    assert "MRN-CANARY" not in text and "TOKENCANARY" not in text
