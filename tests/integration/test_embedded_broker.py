"""The embedded broker and `limber run`: messages are whole or absent, a bad one never kills the
worker, every file stays in the instance folder, and a dead worker or beat comes back."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from kombu import Connection

from service import filesystem_broker
from service.config import celery_config
from tests.conftest import need
from tests.integration.conftest import ROOT, free_port, wait_for


@pytest.fixture(autouse=True)
def _fresh_broker_state(monkeypatch):
    """kombu keeps bindings per process and skips writing a table it thinks exists; each test
    here has its own folders, so each gets its own state."""
    from kombu.transport.virtual.base import BrokerState

    monkeypatch.setattr(filesystem_broker.Transport, "global_state", BrokerState())


def _connection(instance: Path, poll_seconds: float = 0.02) -> Connection:
    conf = celery_config("filesystem://", instance, poll_seconds=poll_seconds)
    for folder in filesystem_broker.folders(conf["broker_transport_options"]):
        folder.mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://", transport=conf["broker_transport"],
                      transport_options=conf["broker_transport_options"])


def test_every_broker_folder_is_under_the_instance_path(tmp_path):
    """Nothing of the broker goes to the current directory or the system temp folder."""
    options = celery_config("filesystem://", tmp_path / "inst")["broker_transport_options"]
    folders = filesystem_broker.folders(options)
    assert {f.name for f in folders} == {"queue", "processed", "control", "staging", "malformed",
                                        "wake"}
    assert all(f.parent == tmp_path / "inst" / "broker" for f in folders)


def test_a_message_is_never_visible_in_the_queue_while_it_is_being_written(tmp_path, monkeypatch):
    """kombu's own transport created the file and then wrote it: a worker listing the folder in
    between read half a message and died. Ours writes aside and renames into the queue."""
    queue_dir = tmp_path / "inst" / "broker" / "queue"
    seen_while_writing: list[list[str]] = []
    real_dumps = filesystem_broker.dumps

    def spying_dumps(payload: object) -> str:
        seen_while_writing.append(sorted(os.listdir(queue_dir)))
        return real_dumps(payload)

    monkeypatch.setattr(filesystem_broker, "dumps", spying_dumps)
    with _connection(tmp_path / "inst") as conn:
        queue = conn.SimpleQueue("renders")
        queue.put({"job": 1})
        queue.put({"job": 2})
        assert [m for m in seen_while_writing if m] == [[next(iter(m))] for m in seen_while_writing
                                                       if m]  # only the first, whole message
        assert seen_while_writing[0] == []
        got = [queue.get(timeout=1), queue.get(timeout=1)]
        assert [m.payload for m in got] == [{"job": 1}, {"job": 2}]
        for m in got:
            m.ack()
        queue.close()
    assert os.listdir(tmp_path / "inst" / "broker" / "staging") == []


@pytest.mark.parametrize("garbage", [b"", b'{"body": "eyJ', b"[1, 2]", b'{"body": ""}',
                                     b'{"properties": {}}', b"\xff\xfe not json"])
def test_a_malformed_message_is_set_aside_and_logged_and_the_next_one_is_delivered(
        tmp_path, caplog, garbage):
    """A message that cannot be read is moved to broker/malformed and logged, never fatal."""
    instance = tmp_path / "inst"
    with _connection(instance) as conn:
        queue = conn.SimpleQueue("renders")
        bad = instance / "broker" / "queue" / "00000000000000000000_000000_bad.renders.msg"
        bad.write_bytes(garbage)
        queue.put({"job": 7})
        with caplog.at_level(logging.ERROR, logger="service.filesystem_broker"):
            message = queue.get(timeout=1)
        assert message.payload == {"job": 7}
        message.ack()
        queue.close()
    assert (instance / "broker" / "malformed" / bad.name).read_bytes() == garbage
    assert not bad.exists()
    assert any(f"malformed message {bad.name} set aside" in r.getMessage()
               for r in caplog.records)


def test_a_waiting_consumer_takes_a_message_when_it_is_put_not_at_its_next_poll(tmp_path):
    """The consumer sleeps between looks at the queue folder; a put wakes it. With polling
    made 5 s apart, a message put 0.3 s into a 3 s wait still arrives well within the wait
    (a consumer that only polled would time out)."""
    instance = tmp_path / "inst"
    with _connection(instance, poll_seconds=5.0) as consumer, \
            _connection(instance, poll_seconds=5.0) as producer:
        queue = consumer.SimpleQueue("renders")
        queue.consumer.consume()  # listening from the first look, as a worker is

        def put_later() -> None:
            time.sleep(0.3)
            producer.SimpleQueue("renders").put({"job": 9})

        thread = threading.Thread(target=put_later)
        start = time.monotonic()
        thread.start()
        message = queue.get(timeout=3)
        took = time.monotonic() - start
        thread.join()
        assert message.payload == {"job": 9}
        message.ack()
        queue.close()
        assert 0.3 <= took < 2.0, took
    # The consumer's socket is gone with its connection.
    assert os.listdir(instance / "broker" / "wake") == []


def test_a_half_written_exchange_table_reads_as_empty_and_is_rewritten_on_bind(tmp_path):
    """kombu truncates an exchange table before locking it; a reader in between saw ''."""
    instance = tmp_path / "inst"
    with _connection(instance) as conn:
        channel = conn.default_channel
        table = instance / "broker" / "control" / "limber.exchange"
        table.write_text("")
        assert channel.get_table("limber") == []
        channel._queue_bind("limber", "renders", "", "renders")
        assert json.loads(table.read_text()) == [["renders", "", "renders"]]


def _children(pid: int) -> dict[str, int]:
    """`limber run`'s direct children by role, read from /proc (each thread lists its own).

    Celery renames its processes when setproctitle is installed ("[celery beat] -A workers.app
    beat", "[celeryd: ...] (-A workers.app worker ...)"), so the role is a word of the whole
    command line, not one of its arguments."""
    out: dict[str, int] = {}
    kids = [c for t in Path(f"/proc/{pid}/task").iterdir()
            for c in (t / "children").read_text().split()]
    for child in kids:
        try:
            words = re.findall(r"[a-z]+", Path(f"/proc/{child}/cmdline").read_bytes()
                               .replace(b"\0", b" ").decode(errors="replace"))
        except FileNotFoundError:  # exited between the two reads
            continue
        if "beat" in words:
            out["beat"] = int(child)
        elif "worker" in words:
            out["worker"] = int(child)
    return out


@pytest.mark.slow
def test_limber_run_restarts_a_killed_worker_and_beat_and_writes_only_in_its_instance(tmp_path):
    """The embedded default as a laptop runs it: kill -9 the worker, then the beat; each comes
    back and says so, /readyz follows the worker, handouts still arrive, and the current
    directory holds nothing but the instance folder afterwards."""
    need(Path("/proc/self/task").exists(), "/proc (to find limber run's children)")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    port = free_port()
    log = (tmp_path / "run.log").open("w+b")
    env = {**os.environ, "LIMBER_INSTANCE_PATH": str(cwd / "instance"),
           "LIMBER_SWEEP_SECONDS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("LIMBER_DATABASE_URL", None)
    env.pop("LIMBER_BROKER_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--port", str(port)],  # noqa: S603
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def output() -> str:
        if not log.closed:
            log.flush()
        return (tmp_path / "run.log").read_text(errors="replace")

    try:
        key = wait_for(lambda: (m := re.search(r"Demo API key:\s*(lmb_\S+)", output()))
                       and m.group(1), 120, 0.2)
        assert key, output()[-3000:]
        auth = {"Authorization": f"Bearer {key}"}

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        assert wait_for(ready, 60, 0.3), output()[-3000:]
        first = wait_for(lambda: _children(proc.pid).keys() >= {"worker", "beat"} and
                         _children(proc.pid), 30)
        assert first, output()[-3000:]

        os.kill(first["worker"], signal.SIGKILL)
        assert wait_for(lambda: "the worker stopped unexpectedly (exit code -9)" in output(), 10)
        assert wait_for(lambda: _children(proc.pid).get("worker") not in (None, first["worker"]),
                        20), output()[-3000:]
        os.kill(first["beat"], signal.SIGKILL)
        assert wait_for(lambda: "the beat stopped unexpectedly (exit code -9)" in output(), 10)
        assert wait_for(lambda: _children(proc.pid).get("beat") not in (None, first["beat"]),
                        20), output()[-3000:]

        plan = requests.post(f"{base}/api/v1/plans", headers=auth, timeout=10, json={
            "template_id": "core_routine", "patient": {"display_name": "Zorbalina Quest"}}).json()

        def pdf() -> bool:
            r = requests.get(f"{base}/api/v1/plans/{plan['id']}/handout", headers=auth,
                             timeout=5)
            return r.status_code == 200 and r.content.startswith(b"%PDF")

        assert wait_for(pdf, 60, 0.3), output()[-3000:]
        assert wait_for(ready, 30, 0.3), output()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert sorted(os.listdir(cwd)) == ["instance"]
    assert "Zorbalina Quest" not in output(), "a patient name reached the console"
