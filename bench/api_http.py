"""Prints plan creation against the minimal insert the way issue 14 states it: both apps under
the same gunicorn (2 workers x 4 threads, as docker-compose runs the web but 2 workers for 2
cores), the same database, driven over HTTP by the same client, measured side by side.

Run from the repository root: python bench/api_http.py [--pg] [--rounds 5] [--requests 200]

SQLite: Limber on the embedded default (a throwaway SQLite file, the filesystem broker);
--pg: a throwaway database on the local PostgreSQL (127.0.0.1:5432) and a private
redis-server as the broker. The minimal insert (bench/minimal_insert.py) writes a row holding
the same snapshot JSON into a table of the same database. No Celery worker runs: the render
messages wait in the broker, so the machine's two cores serve only the two web servers and
the client.

The client: 4 threads, each with one keep-alive connection (http.client; `requests` costs
about a millisecond of client CPU per call, which would crowd the servers on two cores), each
POSTing the same body. A round sends `--requests` to one app and then to the other, the order
alternating; the rate of a round is requests over its wall time. Reported: the median rate of
each side, their ratio (target >= 0.5x), and the CPU the web server processes spent per
request (from /proc), which other load on the machine moves much less. The last line is
`RESULT {json}` for scripts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.minimal_insert import minimal_app  # noqa: E402
from bench.pipeline import (  # noqa: E402
    BODY,
    Stack,
    clean_env,
    free_port,
    setup_clinic,
    spawn_redis,
    throwaway_database,
)

CLIENT_THREADS = 4
WEB = ["--workers", "2", "--threads", "4"]
TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def drive(port: int, path: str, headers: dict[str, str], body: bytes, count: int,
          expect: int = 201) -> float:
    """POST `count` times over CLIENT_THREADS keep-alive connections; the wall seconds."""
    remaining = [count]
    lock = threading.Lock()
    errors: list[str] = []

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    if remaining[0] <= 0 or errors:
                        return
                    remaining[0] -= 1
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != expect:
                    errors.append(f"{path}: {resp.status}")
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(CLIENT_THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return time.perf_counter() - start


def web_pid(stack: Stack) -> int:
    return stack.procs[-1].pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL + Redis instead of SQLite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="per side and round")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="limber-bench-api-http-"))
    stacks: list[Stack] = []
    try:
        instance = tmp / "instance"
        drop = None
        if args.pg:
            db_url, drop = throwaway_database()
        else:
            db_url = f"sqlite:///{instance / 'limber.sqlite3'}"
        limber = Stack("limber", "", db_url, tmp)
        stacks.append(limber)
        env = clean_env(LIMBER_INSTANCE_PATH=str(instance))
        broker = "filesystem://"
        if drop is not None:
            limber.cleanups.append(drop)
            redis_port = spawn_redis(limber, tmp)
            broker = f"redis://127.0.0.1:{redis_port}/0"
            env.update(LIMBER_DATABASE_URL=db_url, LIMBER_BROKER_URL=broker,
                       LIMBER_ENV="production",
                       LIMBER_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{redis_port}/1")
        headers = setup_clinic(db_url, instance, broker)
        limber_port = free_port()
        limber.base = f"http://127.0.0.1:{limber_port}"
        limber.spawn("web", [sys.executable, "-m", "gunicorn", "--bind",
                             f"127.0.0.1:{limber_port}", *WEB, "service.wsgi:app"], env)
        limber.wait_ready(path="/healthz")  # /readyz also wants a worker, which is not run

        body = json.dumps(BODY).encode()
        json_headers = {"Content-Type": "application/json"}
        ours = {**json_headers, **headers}
        drive(limber_port, "/api/v1/plans", ours, body, 20)  # warm both workers
        with limber.engine.connect() as conn:
            snapshot = conn.execute(sa.text("SELECT snapshot FROM plan_revisions LIMIT 1")).scalar()
        payload = tmp / "snapshot.json"
        payload.write_text(snapshot if isinstance(snapshot, str) else json.dumps(snapshot))
        minimal_app(db_url, payload.read_text())  # creates its table before two workers race
        minimal = Stack("minimal", "", db_url, tmp)
        stacks.append(minimal)
        minimal_port = free_port()
        minimal.base = f"http://127.0.0.1:{minimal_port}"
        minimal.spawn("web", [sys.executable, "-m", "gunicorn", "--bind",
                              f"127.0.0.1:{minimal_port}", *WEB, "bench.minimal_insert:wsgi()"],
                      clean_env(BENCH_MINIMAL_URL=db_url, BENCH_MINIMAL_PAYLOAD=str(payload),
                                PYTHONPATH=str(ROOT)))
        minimal.wait_ready(path="/healthz")
        drive(minimal_port, "/rows", json_headers, body, 20)

        sides = {"create": (limber_port, "/api/v1/plans", ours, web_pid(limber)),
                 "minimal": (minimal_port, "/rows", json_headers, web_pid(minimal))}
        rates: dict[str, list[float]] = {"create": [], "minimal": []}
        cpu: dict[str, list[float]] = {"create": [], "minimal": []}
        for round_ in range(args.rounds):
            order = ("create", "minimal") if round_ % 2 == 0 else ("minimal", "create")
            for side in order:
                port, path, side_headers, pid = sides[side]
                before = tree_cpu_seconds(pid)
                seconds = drive(port, path, side_headers, body, args.requests)
                cpu[side].append((tree_cpu_seconds(pid) - before) * 1000 / args.requests)
                rates[side].append(args.requests / seconds)
        backend = "PostgreSQL + Redis" if args.pg else "SQLite + filesystem broker"
        create, floor = statistics.median(rates["create"]), statistics.median(rates["minimal"])
        create_cpu = statistics.median(cpu["create"])
        floor_cpu = statistics.median(cpu["minimal"])
        print(f"{backend}, gunicorn {' '.join(WEB)}, {CLIENT_THREADS} client threads, "
              f"{args.rounds} rounds of {args.requests} requests per side")
        for side in ("create", "minimal"):
            print(f"{side:<8} " + "  ".join(f"{r:6.0f}/s" for r in rates[side])
                  + "   CPU ms/request " + " ".join(f"{c:.2f}" for c in cpu[side]))
        print(f"create: POST /api/v1/plans {create:.0f}/s, minimal one-row insert {floor:.0f}/s: "
              f"{create / floor:.2f}x (target >= 0.5x)")
        print(f"web server CPU per request: create {create_cpu:.2f} ms, minimal "
              f"{floor_cpu:.2f} ms: {floor_cpu / create_cpu:.2f}x")
        print("RESULT " + json.dumps({
            "backend": backend, "create_per_s": round(create, 1),
            "minimal_per_s": round(floor, 1), "create_ratio": round(create / floor, 3),
            "create_cpu_ms": round(create_cpu, 2), "minimal_cpu_ms": round(floor_cpu, 2),
            "create_cpu_ratio": round(floor_cpu / create_cpu, 3)}, sort_keys=True))
    finally:
        for stack in reversed(stacks):
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
