"""Real processes for the fault suite: a private PostgreSQL and Redis, gunicorn, Celery workers
(one per queue) and beat, a webhook receiver, and a client that retries like a portal should.

Everything runs on ports and folders of its own; nothing here touches the shared services.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - "not yet"
            value = None
        if value:
            return value
        time.sleep(step)
    return None


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
        return True
    except OSError:
        return False


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb in a temporary folder, run as the `postgres` user when we are root."""

    def __init__(self, directory: Path) -> None:
        self.bin = postgres_bin()
        self.dir = directory / "pgdata"
        self.sockets = directory / "pgsock"
        self.port = free_port()
        self.log = directory / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/limber"

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, stdout=subprocess.DEVNULL,  # noqa: S603
                       stderr=subprocess.STDOUT)

    def init(self) -> None:
        for folder in (self.dir, self.sockets):
            folder.mkdir(parents=True)
        self.log.touch()
        if self.as_user:
            user = pwd.getpwnam("postgres")
            for path in (self.dir, self.sockets, self.log, self.dir.parent):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "limber")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        if (self.dir / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w",
                      "stop")


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart is a Redis that lost every queued message.
        self.proc = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: port_open(self.port), 10, 0.05):
            raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


class Process:
    """A child in its own process group (so a whole worker tree can be killed), logging to a
    file that survives restarts."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.cmd, self.env, self.log = name, cmd, env, log
        self.proc: subprocess.Popen | None = None
        # False while the test means it to be down; a supervisor restarts it otherwise.
        self.wanted = False
        self.restarts = 0

    def restart_if_died(self) -> bool:
        if self.wanted and self.proc is not None and self.proc.poll() is not None:
            self.restarts += 1
            self.start()
            return True
        return False

    def start(self) -> None:
        self.wanted = True
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env,  # noqa: S603
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def signal_group(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def terminate(self) -> None:
        """SIGTERM to the main process only, as `docker stop` does: Celery's warm shutdown and
        gunicorn's graceful one then finish what they started."""
        self.wanted = False
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30) -> None:
        """Terminate (unless `terminate` already did) and wait; then clear its group."""
        already_asked = not self.wanted
        self.wanted = False
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if not already_asked:
                self.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever of its group outlived it (a child the main process did not stop) goes too.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def kill(self) -> None:
        """SIGKILL to the whole group: the worker and its pool children die at once."""
        self.wanted = False
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


class Receiver:
    """A webhook receiver on a fixed port that can go down and come back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, str, str]] = []  # (webhook-id, type, plan_id)
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    receiver.received.append((self.headers["webhook-id"], body["type"],
                                              body["data"]["plan_id"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> dict[tuple[str, str], set[str]]:
        """(plan_id, type) -> the webhook-ids it arrived with."""
        out: dict[tuple[str, str], set[str]] = {}
        with self.lock:
            for webhook_id, kind, plan_id in self.received:
                out.setdefault((plan_id, kind), set()).add(webhook_id)
        return out


@dataclass
class Submitted:
    key: str
    statuses: list[int | str] = field(default_factory=list)
    plan_id: str | None = None


class Portal:
    """Creates plans the way a careful portal does: one Idempotency-Key per plan, retried on
    connection errors, 409 and 5xx until it gets its 201."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base, self.auth = base, {"Authorization": f"Bearer {api_key}"}

    def create(self, key: str, fault: str | None = None, give_up_after: float = 90) -> Submitted:
        result = Submitted(key)
        body = {"template_id": "core_routine", "patient": {"display_name": "Fault Test",
                                                            "reference": key}}
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            headers = {**self.auth, "Idempotency-Key": key}
            if fault and not result.statuses:
                headers["X-Limber-Fault"] = fault
            try:
                resp = requests.post(f"{self.base}/api/v1/plans", json=body, headers=headers,
                                     timeout=15)
            except requests.RequestException as exc:
                result.statuses.append(type(exc).__name__)
                time.sleep(0.3)
                continue
            result.statuses.append(resp.status_code)
            if resp.status_code == 201:
                result.plan_id = resp.json()["id"]
                return result
            time.sleep(0.3)
        return result

    def create_many(self, keys: list[str], parallel: int = 3) -> list[Submitted]:
        results: dict[str, Submitted] = {}
        pending = list(keys)
        lock = threading.Lock()

        def run() -> None:
            while True:
                with lock:
                    if not pending:
                        return
                    key = pending.pop(0)
                done = self.create(key)
                with lock:
                    results[key] = done

        threads = [threading.Thread(target=run) for _ in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [results[k] for k in keys]


@dataclass
class Outcome:
    """What a scenario's plans came to, read from the database and the receiver."""

    lost: int
    duplicate_plans: int
    unrendered: int
    duplicate_renders: int
    events_missing: int
    events_with_two_ids: int

    @property
    def complete(self) -> bool:
        return not (self.lost or self.duplicate_plans or self.unrendered
                    or self.events_missing or self.events_with_two_ids)


def outcome(engine: sa.Engine, keys: list[str], receiver: Receiver | None,
            allowed_rerenders: int = 0) -> Outcome:
    """Plans by the portal's reference (= its key): exactly one each; one handout each;
    render attempts beyond one per job (minus renders the fault itself cut short);
    plan.created and handout.ready delivered, each event under one webhook-id."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT p.patient_ref, p.public_id, j.attempts, "
            "(SELECT count(*) FROM handouts h WHERE h.revision_id = r.id) AS handouts "
            "FROM plans p JOIN plan_revisions r ON r.plan_id = p.id "
            "JOIN render_jobs j ON j.revision_id = r.id "
            "WHERE p.patient_ref IN :keys").bindparams(sa.bindparam("keys", expanding=True)),
            {"keys": keys}).all()
    per_key: dict[str, list] = {}
    for row in rows:
        per_key.setdefault(row.patient_ref, []).append(row)
    lost = sum(1 for k in keys if k not in per_key)
    duplicates = sum(len(v) - 1 for v in per_key.values())
    unrendered = sum(1 for v in per_key.values() for r in v if r.handouts != 1)
    rerenders = sum(max(0, r.attempts - 1) for v in per_key.values() for r in v)
    missing = two_ids = 0
    if receiver is not None:
        events = receiver.events()
        for v in per_key.values():
            for kind in ("plan.created", "handout.ready"):
                ids = events.get((v[0].public_id, kind), set())
                missing += not ids
                two_ids += len(ids) > 1
    return Outcome(lost, duplicates, unrendered, max(0, rerenders - allowed_rerenders),
                   missing, two_ids)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
