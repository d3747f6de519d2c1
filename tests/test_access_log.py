"""Access logs never carry query strings (portal references) or credentials from paths."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from service.access_log import RedactingFilter, redact
from tests.integration.conftest import ROOT, free_port, wait_for

# docker-compose.yml's access log format.
ACCESS_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'


def test_redact_drops_queries_and_credentials_but_keeps_the_route():
    assert redact('"GET /api/v1/plans?patient_reference=MRN-1 HTTP/1.1"') == (
        '"GET /api/v1/plans HTTP/1.1"')
    assert redact("GET /set-password/abc.DEF-123 HTTP/1.1") == (
        "GET /set-password/[redacted] HTTP/1.1")
    assert redact("GET /embed/tok.mac HTTP/1.1") == "GET /embed/[redacted] HTTP/1.1"
    assert redact("GET /embed/s/KEY/new HTTP/1.1") == "GET /embed/s/[redacted]/new HTTP/1.1"
    assert redact("GET /static/embed/embed.js HTTP/1.1") == "GET /static/embed/embed.js HTTP/1.1"
    assert redact("GET /plans/pln_1 HTTP/1.1") == "GET /plans/pln_1 HTTP/1.1"


def test_both_servers_loggers_are_filtered_once_an_app_exists(app):
    for name in ("werkzeug", "gunicorn.access"):
        assert RedactingFilter in {type(f) for f in logging.getLogger(name).filters}
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "now",
                                "GET /api/v1/plans?patient_reference=MRN-CANARY HTTP/1.1",
                                "200", "-"), None)
    RedactingFilter().filter(record)
    assert "MRN-CANARY" not in record.getMessage()
    assert '"GET /api/v1/plans HTTP/1.1"' in record.getMessage()


def test_gunicorn_access_log_holds_no_query_or_link_token(tmp_path: Path):
    """Production's web server, started with docker-compose.yml's access log format."""
    port = free_port()
    env = {**os.environ, "LIMBER_INSTANCE_PATH": str(tmp_path),
           "LIMBER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "LIMBER_SECRET_KEY": "access-log-test"}
    subprocess.run([sys.executable, "-m", "service.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    log = tmp_path / "access.log"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT,
         "service.wsgi:app"],
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
    assert '"GET /api/v1/plans" 401' in text and '"GET /set-password/[redacted]"' in text
    assert "MRN-CANARY" not in text and "TOKENCANARY" not in text
