"""Pushes plans through `limber run` on the embedded default and counts what comes out.

Run from the repository root: python bench/embedded_soak.py [--plans 1000] [--rate 5]

Starts `limber run` (web + worker + beat, SQLite and the filesystem broker) in a fresh temporary
folder, creates plans over the API at the given rate, waits for every handout, then reports:
plans created, handouts rendered, handouts missing, worker/beat restarts the console reported,
malformed broker messages set aside, files written outside the instance folder, and the
POST-to-PDF latency (median, 95th percentile). Exit status 1 if anything was lost, a process
died, or a file landed outside the instance folder. It measures; it asserts no speed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).absolute().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=5.0, help="plans per second")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="seconds to wait for the last handouts")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="limber-soak-"))
    port, log_path = free_port(), work / "run.log"
    env = {**os.environ, "LIMBER_INSTANCE_PATH": str(work / "instance"),
           "PYTHONPATH": str(ROOT)}
    for name in ("LIMBER_DATABASE_URL", "LIMBER_BROKER_URL"):
        env.pop(name, None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--port", str(port)],  # noqa: S603
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            return soak(args, f"http://127.0.0.1:{port}", log_path, work)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)


def soak(args: argparse.Namespace, base: str, log_path: Path, work: Path) -> int:
    deadline = time.monotonic() + 120
    key = None
    while key is None and time.monotonic() < deadline:
        m = re.search(r"Demo API key:\s*(lmb_\S+)", log_path.read_text(errors="replace"))
        key = m.group(1) if m else None
        time.sleep(0.2)
    if key is None:
        print("limber run did not start:\n" + log_path.read_text()[-2000:])
        return 1
    auth = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)

    created: dict[str, float] = {}
    errors: list[int] = []
    lock = threading.Lock()

    retried: list[int] = []

    def create(i: int) -> None:
        # As a portal should: one Idempotency-Key per plan, and a 503 (the embedded SQLite
        # busy past its lock wait) retried after its Retry-After, at most five times.
        headers = {**auth, "Idempotency-Key": f"soak-{i}"}
        for _ in range(6):
            r = requests.post(f"{base}/api/v1/plans", headers=headers, timeout=30, json={
                "template_id": "core_routine", "patient": {"display_name": f"Soak {i}"}})
            if r.status_code != 503:
                break
            with lock:
                retried.append(i)
            time.sleep(float(r.headers.get("Retry-After", "1")))
        with lock:
            if r.status_code == 201:
                created[r.json()["id"]] = time.monotonic()
            else:
                errors.append(r.status_code)

    started = time.monotonic()
    threads = []
    for i in range(args.plans):
        t = threading.Thread(target=create, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))
    for t in threads:
        t.join()

    ready: dict[str, float] = {}
    until = time.monotonic() + args.wait
    while len(ready) < len(created) and time.monotonic() < until:
        for plan_id, t0 in created.items():
            if plan_id in ready:
                continue
            r = requests.get(f"{base}/api/v1/plans/{plan_id}", headers=auth, timeout=10)
            if r.ok and (r.json().get("handout") or {}).get("status") == "done":
                ready[plan_id] = time.monotonic() - t0
        time.sleep(0.5)

    console = log_path.read_text(errors="replace")
    restarts = len(re.findall(r"stopped unexpectedly", console))
    malformed_dir = work / "instance" / "broker" / "malformed"
    malformed = len(os.listdir(malformed_dir)) if malformed_dir.exists() else 0
    outside = sorted(p for p in os.listdir(work) if p not in ("instance", "run.log"))
    # Latency is measured by polling every 0.5 s per sweep of all plans: an upper bound.
    lat = sorted(ready.values()) or [0.0]
    print(f"plans requested {args.plans} at {args.rate}/s; created {len(created)}; "
          f"create errors {len(errors)} {sorted(set(errors))}; "
          f"503 answers retried {len(retried)} (plans {len(set(retried))})")
    print(f"handouts rendered {len(ready)}; missing {len(created) - len(ready)}")
    print(f"worker/beat restarts {restarts}; malformed messages set aside {malformed}")
    print(f"files outside the instance folder: {outside or 'none'}")
    print(f"POST-to-ready (upper bound, 0.5 s polling): median {statistics.median(lat):.2f} s, "
          f"p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s")
    ok = (len(created) == args.plans and len(ready) == len(created) and not restarts
          and not outside)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
