"""The embedded default under the worst fault: `limber run` (web, worker and beat together)
killed with SIGKILL mid-batch and started again on the same instance folder."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.faults.conftest import RESULTS
from tests.faults.stack import Portal, Process, free_port, wait_for
from tests.faults.test_faults import Batch, keys, settle

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_limber_run_killed_mid_batch_and_restarted(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIMBER_DATABASE_URL", "LIMBER_BROKER_URL")}
    env.update({"LIMBER_INSTANCE_PATH": str(tmp_path / "instance"),
                "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    run = Process("limber run", [sys.executable, "-m", "service.cli", "run", "--port",
                                 str(port)], env, tmp_path / "run.log")
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        return requests.get(f"{base}/readyz", timeout=3).status_code == 200

    started = time.monotonic()
    run.start()
    try:
        key = wait_for(lambda: re.search(r"Demo API key:\s*(lmb_\S+)",
                                         run.log.read_text(errors="replace")), 90, 0.2)
        assert key, run.log.read_text()[-2000:]
        assert wait_for(ready, 90, 0.3), run.log.read_text()[-2000:]
        RESULTS.append(f"limber run started in {time.monotonic() - started:.0f} s")
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'instance' / 'limber.sqlite3'}")
        wanted = keys(6)
        batch = Batch(Portal(base, key.group(1)), wanted, parallel=3)

        def some_plans() -> bool:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT count(*) FROM plans")).scalar() >= 2

        assert wait_for(some_plans, 60, 0.05)
        run.kill()  # web, worker and beat: one process group, all at once
        run.start()
        ended = time.monotonic()
        settle("limber run killed -9 mid-batch, restarted", engine, wanted, ended,
               allowed_rerenders=2, submitted=batch.join())
        engine.dispose()
    finally:
        run.stop(timeout=40)
