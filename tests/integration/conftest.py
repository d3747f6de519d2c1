"""Real Celery worker processes, and private Redis servers the tests may stop and start."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """A `celery worker` subprocess with its own log file."""

    def __init__(self, env: dict[str, str], log: Path, beat: bool = False) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--loglevel",
               "INFO", "--concurrency", "1", "--without-gossip", "--without-mingle"]
        if beat:
            cmd += ["-B", "--schedule", str(Path(env["LIMBER_INSTANCE_PATH"]) / "beat-schedule")]
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env},  # noqa: S603
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


@pytest.fixture()
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(env: dict[str, str], beat: bool = False) -> Worker:
        w = Worker(env, tmp_path / f"worker-{len(workers)}.log", beat=beat)
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


class PrivateRedis:
    """A redis-server this test owns, so it may stop it to play 'broker down'."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    from tests.conftest import need

    need(shutil.which("redis-server") is not None, "redis-server binary")
    r = PrivateRedis(tmp_path)
    yield r
    r.stop()


def worker_app(db_url: str, broker_url: str, instance: Path, **config: object):
    """A migrated app on the given database and broker, to share with worker processes."""
    from service import create_app, schema

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "BROKER_URL": broker_url,
                      "INSTANCE_PATH": str(instance), "SECRET_KEY": "e2e-secret",
                      "TESTING": True, **config})
    schema.upgrade(app)
    return app


def worker_env(app, **extra: str) -> dict[str, str]:
    """Environment for a worker process that sees what `app` sees; sweeps every second."""
    return {"LIMBER_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "LIMBER_BROKER_URL": app.config["BROKER_URL"],
            "LIMBER_INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "LIMBER_SECRET_KEY": app.config["SECRET_KEY"],
            "LIMBER_SWEEP_SECONDS": "1", **extra}


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
