"""`limber run` as the README starts it: a subprocess with its own worker and beat, on a fresh
instance folder (SQLite and the filesystem broker), answering on a free port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


class LimberRun:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "limber-run.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LIMBER_") or k == "LIMBER_BROKER_KEY_PREFIX"}
        env.update(LIMBER_INSTANCE_PATH=str(directory / "instance"), LIMBER_SWEEP_SECONDS="1",
                   # Webhooks to a receiver on loopback, for the link test.
                   LIMBER_WEBHOOK_ALLOW_PRIVATE="1")
        self._out = self.log.open("ab")
        # A session of its own, so stopping it can reach its worker and beat too.
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "service.cli", "run", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.key = self._wait_until_up()

    def _wait_until_up(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"limber run exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"limber run did not answer: {self.log.read_text()[-2000:]}")
        keys = re.findall(r"^(lmb_demo_\w+)$", self.log.read_text(), re.M)
        assert keys, self.log.read_text()
        return keys[-1]

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()
