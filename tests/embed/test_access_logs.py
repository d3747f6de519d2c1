"""A real gunicorn, started the way docker-compose starts it, never writes an embed link or
session key into its access log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.integration.conftest import ROOT, free_port

# docker-compose.yml's access log format.
ACCESS_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'


def test_gunicorn_access_log_redacts_embed_paths(tmp_path: Path) -> None:
    from service import create_app, schema

    db_url = f"sqlite:///{tmp_path / 'limber.sqlite3'}"
    schema.upgrade(create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "s",
                               "INSTANCE_PATH": str(tmp_path)}))
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "LIMBER_DATABASE_URL": db_url, "LIMBER_SECRET_KEY": "s",
           "LIMBER_INSTANCE_PATH": str(tmp_path)}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT,
         "service.wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.RequestException:  # not listening, or the worker still booting
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        link = requests.get(f"http://127.0.0.1:{port}/embed/Ztoken123.mac456", timeout=5)
        session = requests.get(f"http://127.0.0.1:{port}/embed/s/Zkey789/new", timeout=5)
        assert link.status_code == session.status_code == 404
        deadline = time.monotonic() + 10
        while log.read_text().count("/embed/") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text()
    assert '"GET /embed/[redacted]" 404' in text
    assert '"GET /embed/s/[redacted]/new" 404' in text
    for secret in ("Ztoken123", "mac456", "Zkey789"):
        assert secret not in text
