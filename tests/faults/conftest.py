"""The fault suite's stack: started once for the module, torn down at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.faults.stack import (
    PrivatePostgres,
    PrivateRedis,
    Process,
    Receiver,
    free_port,
    postgres_bin,
    python,
    wait_for,
)

# One line per scenario, printed at the end of the run (pytest captures prints in tests).
RESULTS: list[str] = []


# The stack's process logs, and where each stood when the running test began: a failed
# scenario reports what the processes said during it (a CI run leaves nothing else behind).
_LOGS: dict[Path, int] = {}
_LOG_LINES = 60


@pytest.fixture(autouse=True)
def _log_marks() -> Iterator[None]:
    for path in _LOGS:
        _LOGS[path] = path.stat().st_size if path.exists() else 0
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201 - pytest's hook signature
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _LOGS:
        for path, start in _LOGS.items():
            if not path.exists():
                continue
            with path.open("rb") as log:
                log.seek(start)
                lines = log.read().decode("utf-8", "replace").splitlines()
            wanted = [line for line in lines if line.startswith("[") or "Error" in line]
            report.sections.append((f"{path.name} during the test (last {_LOG_LINES} lines)",
                                    "\n".join(wanted[-_LOG_LINES:])))


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if RESULTS:
        terminalreporter.section("fault suite: recovery after each fault")
        for line in RESULTS:
            terminalreporter.write_line(line)


class Stack:
    """Production topology in miniature: PostgreSQL, Redis, gunicorn (2 workers), one Celery
    worker per queue, one beat."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        # Outside pytest's private (0700) temp tree, so the postgres user can reach it.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="limber-faults-pg-"))
        self.pg_dir.chmod(0o755)
        self.pg = PrivatePostgres(self.pg_dir)
        self.redis = PrivateRedis(tmp)
        self.receiver = Receiver()
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        instance = tmp / "instance"
        self.env = {
            **os.environ,
            "LIMBER_DATABASE_URL": self.pg.url,
            "LIMBER_BROKER_URL": self.redis.url,
            "LIMBER_INSTANCE_PATH": str(instance),
            "LIMBER_SECRET_KEY": "fault-suite-secret",
            "LIMBER_PUBLIC_URL": self.base,
            "LIMBER_SWEEP_SECONDS": "2",
            "LIMBER_WEBHOOK_ALLOW_PRIVATE": "1",
            # Retries a second or three apart, so "receiver back" is seen within the suite.
            "LIMBER_WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "1", "2"] + ["3"] * 30),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        celery = python("-m", "celery", "-A", "workers.app")
        quiet = ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        self.web = Process("web", python(
            "-m", "gunicorn", "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2",
            "--timeout", "30", "--graceful-timeout", "20", "tests.faults.fault_wsgi:app"),
            self.env, tmp / "web.log")
        self.renders = Process("renders", [*celery, "worker", "-Q", "renders", "-c", "2",
                                           "-n", "renders@%h", *quiet], self.env,
                               tmp / "renders.log")
        self.webhooks = Process("webhooks", [*celery, "worker", "-Q", "webhooks", "-c", "2",
                                             "-n", "webhooks@%h", *quiet], self.env,
                                tmp / "webhooks.log")
        self.sweeper = Process("sweeper", [*celery, "worker", "-Q", "sweeper", "-c", "1",
                                           "-n", "sweeper@%h", *quiet], self.env,
                               tmp / "sweeper.log")
        self.beat = Process("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule",
                                     str(tmp / "beat-schedule")], self.env, tmp / "beat.log")
        self.processes = [self.web, self.renders, self.webhooks, self.sweeper, self.beat]
        self.engine: sa.Engine | None = None
        self.api_key = ""
        self.supervising = threading.Event()

    def _supervise(self) -> None:
        """What Docker's `restart: unless-stopped` does (docker-compose.yml): a process that
        exits on its own is started again. kombu 5.7 could end a worker with an AttributeError
        while it closed a connection to a Redis that had just gone away (service/redis_broker.py
        turns it into a connection error now); the restart stays the safety net in production
        too, so the suite prints every restart rather than hiding the need."""
        while self.supervising.is_set():
            time.sleep(0.5)
            for proc in self.processes:
                if proc.restart_if_died():
                    RESULTS.append(f"  (the {proc.name} process exited on its own; restarted)")

    def start(self) -> None:
        self.pg.init()
        self.redis.start()
        self.api_key = self._seed()
        self.engine = sa.create_engine(self.pg.url, pool_pre_ping=True,
                                       connect_args={"connect_timeout": 2})
        for proc in self.processes:
            _LOGS[proc.log] = 0
            proc.start()
        self.supervising.set()
        threading.Thread(target=self._supervise, daemon=True).start()
        self.receiver.start()
        if not wait_for(self.ready, 90, 0.5):
            raise RuntimeError("the fault stack did not become ready; logs in " + str(self.tmp))
        resp = requests.post(f"{self.base}/api/v1/webhook-endpoints", timeout=10,
                             headers={"Authorization": f"Bearer {self.api_key}"},
                             json={"url": self.receiver.url,
                                   "events": ["plan.created", "handout.ready"]})
        assert resp.status_code == 201, resp.text

    def _seed(self) -> str:
        """Migrate, then one clinic with an API key (in this process, like `limber demo`)."""
        from service import create_app, schema
        from service.auth import issue_api_key
        from service.extensions import db
        from service.models import Clinic

        app = create_app({"SQLALCHEMY_DATABASE_URI": self.pg.url, "BROKER_URL": self.redis.url,
                          "INSTANCE_PATH": self.env["LIMBER_INSTANCE_PATH"],
                          "SECRET_KEY": "fault-suite-secret"})
        schema.upgrade(app)
        with app.app_context():
            clinic = Clinic(slug="faults", name="Fault Clinic", contact="555-0100",
                            out_of_hours="Call 555-0199 or go to urgent care")
            db.session.add(clinic)
            db.session.flush()
            _, key = issue_api_key(clinic, "faults")
            db.session.commit()
            db.engine.dispose()
        return key

    def ready(self) -> bool:
        return requests.get(f"{self.base}/readyz", timeout=3).status_code == 200

    def stop(self) -> None:
        for proc in self.processes:
            _LOGS.pop(proc.log, None)
        self.supervising.clear()
        self.receiver.stop()
        # All asked at once, then waited for: each one's graceful shutdown takes seconds.
        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            proc.stop(timeout=20)
        if self.engine is not None:
            self.engine.dispose()
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.pg_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.conftest import need

    need(postgres_bin() is not None, "PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    need(shutil.which("redis-server") is not None, "redis-server binary")
    if os.geteuid() == 0:
        need(shutil.which("runuser") is not None, "runuser (to run PostgreSQL as postgres)")
    s = Stack(tmp_path_factory.mktemp("faults"))
    started = time.monotonic()
    try:
        s.start()
        RESULTS.append(f"stack started in {time.monotonic() - started:.0f} s")
        yield s
    finally:
        s.stop()
