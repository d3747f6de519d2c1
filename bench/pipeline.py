"""Prints how long a handout takes from POST /api/v1/plans until the client holds it, against
the pure render, on the embedded default and on PostgreSQL + Redis + gunicorn, in one run.

Run from the repository root: python bench/pipeline.py [--plans 30] [--only embedded|pg]

Both stacks are started by this script and torn down at the end:
- embedded: `limber run --no-demo` on a free port (werkzeug, one Celery worker of 2 children,
  beat, SQLite and the filesystem broker) in a temporary instance folder;
- pg: gunicorn (2 workers x 4 threads, as docker-compose runs it but 2 workers for 2 cores) and
  one Celery worker (2 children) on a fresh database on the local PostgreSQL (127.0.0.1:5432,
  created and dropped here) and a private redis-server on a free port.

One measurement is one client doing what docs/integrating.md tells a portal to do: POST the
plan, then GET .../handout?wait=10, which answers when the handout is stored. POST -> ready is
the wall time from sending the POST to holding the PDF. The pure render is what the worker's
task does with the same snapshot (PDF and HTML, warm, no database, no broker), timed in this
process. Plans and pure renders are alternated, one of each per stack in turn, so machine load
hits all sides alike. The breakdown comes from the render job's row: POST (client), broker
(sent_at -> started_at; sent_at is stamped when the POST stages the job, so this includes the
rest of the POST after that), worker (started_at -> finished_at), answer (finished_at -> PDF
held: the worker's commit, the waiting request noticing, and the GET itself).
`--embedded-poll 0.05` adds an embedded stack with that broker polling (the old 50 ms) to
compare in the same run. `--base DIR` adds both stacks again, run from another source tree
(e.g. `git archive main | tar -x -C DIR`) and named `base-...`, to compare a change under the
same load; the pure render stays this tree's.
The last line is `RESULT {json}` for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).absolute().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-pipeline-secret-key-not-for-production-use-0123456789abcdef"
BODY = {"template_id": "core_routine", "patient": {"display_name": "Bench P.", "reference": "B-1"}}
WARM_PLANS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This shell's environment without any Limber setting, plus the stack's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMBER_")}
    return {**env, "LIMBER_SECRET_KEY": SECRET, **extra}


class Stack:
    """Processes serving one Limber, the API key of a clinic in it, and its database URL."""

    def __init__(self, name: str, base: str, db_url: str, logs: Path,
                 root: Path = ROOT) -> None:
        self.root = root  # the source tree its processes run from
        self.name = name
        self.base = base
        self.db_url = db_url
        self.logs = logs
        self.procs: list[subprocess.Popen] = []
        self.cleanups: list[Callable[[], None]] = []
        self.headers: dict[str, str] = {}
        self.http = requests.Session()
        self.engine = sa.create_engine(db_url)

    def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        out = (self.logs / f"{self.name}-{name}.log").open("ab")
        # Own process group: stopping it stops the children it starts (worker, beat).
        self.procs.append(subprocess.Popen(cmd, cwd=self.root, env=env, stdout=out,  # noqa: S603
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def wait_ready(self, timeout: float = 120, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{self.name}: a process exited; see {self.logs}")
            try:
                if self.http.get(f"{self.base}{path}", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; see {self.logs}")

    def stop(self) -> None:
        self.engine.dispose()
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for cleanup in reversed(self.cleanups):
            cleanup()


def setup_clinic(db_url: str, instance: Path, broker: str) -> dict[str, str]:
    """Migrate the database and give it a clinic with an API key, as an operator would."""
    from service import create_app, schema
    from service.auth import issue_api_key
    from service.extensions import db
    from service.models import Clinic

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "BROKER_URL": broker,
                      "INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET})
    schema.upgrade(app)
    with app.app_context():
        clinic = Clinic(slug=f"bench-{uuid.uuid4().hex[:6]}", name="Bench Clinic",
                        contact="555-0100", emergency_number="911",
                        out_of_hours="Call 555-0199")
        db.session.add(clinic)
        db.session.flush()
        _, key = issue_api_key(clinic, "bench")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"Authorization": f"Bearer {key}"}


def start_embedded(tmp: Path, stacks: list[Stack], poll: float | None = None,
                   root: Path = ROOT, label: str = "") -> None:
    """`limber run`; with `poll`, its broker polling set to that many seconds instead of the
    default, named after it (to compare settings side by side); from `root`'s source tree."""
    name = label + ("embedded" if poll is None else f"embedded@{poll * 1000:g}ms")
    instance = tmp / name
    db_url = f"sqlite:///{instance / 'limber.sqlite3'}"
    port = free_port()
    stack = Stack(name, f"http://127.0.0.1:{port}", db_url, tmp, root)
    stacks.append(stack)
    stack.headers = setup_clinic(db_url, instance, "filesystem://")
    env = clean_env(LIMBER_INSTANCE_PATH=str(instance))
    if poll is not None:
        env["LIMBER_BROKER_POLL_SECONDS"] = str(poll)
    stack.spawn("run", [sys.executable, "-m", "service.cli", "run", "--no-demo",
                        "--port", str(port)], env)


def throwaway_database() -> tuple[str, Callable[[], None]]:
    """A new database on the local PostgreSQL: its URL, and what drops it."""
    name = f"limber_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def spawn_redis(stack: Stack, tmp: Path) -> int:
    """A private redis-server, no persistence, in the stack's processes; returns its port."""
    port = free_port()
    stack.spawn("redis", [shutil.which("redis-server") or "redis-server", "--port", str(port),
                          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(tmp)], clean_env())
    return port


def start_pg(tmp: Path, stacks: list[Stack], root: Path = ROOT, label: str = "") -> None:
    db_url, drop = throwaway_database()
    port = free_port()
    stack = Stack(f"{label}pg", f"http://127.0.0.1:{port}", db_url, tmp, root)
    stacks.append(stack)
    stack.cleanups.append(drop)
    redis_port = spawn_redis(stack, tmp)
    broker = f"redis://127.0.0.1:{redis_port}/0"
    instance = tmp / f"{label}pg-instance"
    stack.headers = setup_clinic(db_url, instance, broker)
    env = clean_env(LIMBER_DATABASE_URL=db_url, LIMBER_BROKER_URL=broker,
                    LIMBER_INSTANCE_PATH=str(instance), LIMBER_ENV="production",
                    LIMBER_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{redis_port}/1")
    stack.spawn("web", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                        "--workers", "2", "--threads", "4", "service.wsgi:app"], env)
    stack.spawn("worker", [sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                           "--loglevel", "WARNING", "--concurrency", "2", "--without-gossip",
                           "--without-mingle", "-Q", "renders,webhooks,sweeper"], env)


def one_plan(stack: Stack) -> dict[str, Any]:
    """POST a plan, then wait for its handout the way a portal would; the times in ms."""
    start_wall, start = time.time(), time.perf_counter()
    created = stack.http.post(f"{stack.base}/api/v1/plans", json=BODY, headers=stack.headers,
                              timeout=30)
    posted = time.perf_counter()
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    pdf = stack.http.get(f"{stack.base}/api/v1/plans/{plan_id}/handout",
                         params={"wait": 10}, headers=stack.headers, timeout=30)
    held, held_wall = time.perf_counter(), time.time()
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.status_code
    return {"plan": plan_id, "start": start_wall, "held": held_wall,
            "post": (posted - start) * 1000, "total": (held - start) * 1000}


def _epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def breakdown(stack: Stack, runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median ms of each stage, from the render jobs' rows."""
    ids = [r["plan"] for r in runs]
    with stack.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT p.public_id, j.sent_at, j.started_at, j.finished_at FROM render_jobs j "
            "JOIN plan_revisions r ON r.id = j.revision_id JOIN plans p ON p.id = r.plan_id "
            "WHERE p.public_id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": ids}).all()
    times = {row[0]: [_epoch(v) if v is not None else None for v in row[1:]] for row in rows}
    stages: dict[str, list[float]] = {"broker": [], "worker": [], "answer": []}
    for run in runs:
        sent, started, finished = times[run["plan"]]
        if sent is not None:  # None: the worker claimed it before the web marked it sent
            stages["broker"].append((started - sent) * 1000)
        stages["worker"].append((finished - started) * 1000)
        stages["answer"].append((run["held"] - finished) * 1000)
    return {k: statistics.median(v) if v else float("nan") for k, v in stages.items()}


def pure_render(snapshot_dict: dict[str, Any], options: dict[str, Any]) -> Callable[[], float]:
    """The worker task's render step alone, in this process; returns ms per call."""
    from pdf.html import render_handout_html
    from pdf.render import render_handout_with_pages
    from plans.model import HandoutOptions, PageSize
    from plans.snapshot import snapshot_from_dict

    def run() -> float:
        start = time.perf_counter()
        snapshot = snapshot_from_dict(snapshot_dict)
        opts = HandoutOptions(large_print=bool(options.get("large_print")),
                              page_size=PageSize(options.get("page_size", "letter")))
        render_handout_with_pages(snapshot, opts)
        render_handout_html(snapshot, opts)
        return (time.perf_counter() - start) * 1000

    for _ in range(3):
        run()
    return run


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=30, help="measured plans per stack")
    parser.add_argument("--only", choices=["embedded", "pg"])
    parser.add_argument("--embedded-poll", type=float, action="append", default=[],
                        help="also run an embedded stack whose broker polls every this many "
                             "seconds (repeatable), e.g. 0.05 for the old setting")
    parser.add_argument("--base", type=Path,
                        help="also run the stacks from this source tree, to compare")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="limber-bench-pipeline-"))
    stacks: list[Stack] = []
    try:
        for name, start in (("embedded", start_embedded), ("pg", start_pg)):
            if args.only in (None, name):
                start(tmp, stacks)
        for poll in args.embedded_poll:
            start_embedded(tmp, stacks, poll)
        if args.base is not None:
            for name, start in (("embedded", start_embedded), ("pg", start_pg)):
                if args.only in (None, name):
                    start(tmp, stacks, root=args.base.absolute(), label="base-")
        for stack in stacks:
            stack.wait_ready()
        first = one_plan(stacks[0])
        with stacks[0].engine.connect() as conn:
            snap, options = conn.execute(sa.text(
                "SELECT r.snapshot, r.options FROM plan_revisions r JOIN plans p "
                "ON p.id = r.plan_id WHERE p.public_id = :id"), {"id": first["plan"]}).one()
        render = pure_render(json.loads(snap) if isinstance(snap, str) else snap,
                             json.loads(options) if isinstance(options, str) else options)
        runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in stacks}
        renders: list[float] = []
        for i in range(WARM_PLANS + args.plans):
            for stack in stacks:
                run = one_plan(stack)
                took = render()
                if i >= WARM_PLANS:  # the first plans warm connections, caches and workers
                    runs[stack.name].append(run)
                    renders.append(took)
        pure50, pure95 = statistics.median(renders), pct(renders, 0.95)
        print(f"{args.plans} plans per stack, one at a time; pure render (PDF + HTML, warm, "
              f"in this process) p50 {pure50:.1f} ms, p95 {pure95:.1f} ms")
        print(f"{'stack':<16} {'p50 ms':>7} {'p95 ms':>7} {'p50 x':>6} {'p95 x':>6} "
              f"{'POST':>6} {'broker':>7} {'worker':>7} {'answer':>7}")
        result: dict[str, Any] = {"plans": args.plans, "render_p50_ms": round(pure50, 1),
                                  "render_p95_ms": round(pure95, 1)}
        for stack in stacks:
            total = [r["total"] for r in runs[stack.name]]
            p50, p95 = statistics.median(total), pct(total, 0.95)
            parts = breakdown(stack, runs[stack.name])
            post = statistics.median(r["post"] for r in runs[stack.name])
            print(f"{stack.name:<16} {p50:7.1f} {p95:7.1f} {p50 / pure50:5.2f}x "
                  f"{p95 / pure50:5.2f}x {post:6.1f} {parts['broker']:7.1f} "
                  f"{parts['worker']:7.1f} {parts['answer']:7.1f}")
            result[stack.name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                                  "p50_ratio": round(p50 / pure50, 3),
                                  "p95_ratio": round(p95 / pure50, 3),
                                  "post_ms": round(post, 1),
                                  **{f"{k}_ms": round(v, 1) for k, v in parts.items()}}
        print("targets: p50 <= 2.5x the pure render on embedded, <= 2.0x on pg "
              "(PostgreSQL + Redis + gunicorn)")
        print("RESULT " + json.dumps(result, sort_keys=True))
    finally:
        for stack in stacks:
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
