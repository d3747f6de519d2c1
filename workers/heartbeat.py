"""Each worker process tree beats into the database while it runs (see service/heartbeats.py)."""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_ready, worker_shutdown
from flask import Flask

from service import heartbeats

log = logging.getLogger(__name__)


def install(app: Flask) -> None:
    """Start beating when the worker is ready; stop, and say goodbye, when it shuts down."""
    stop = threading.Event()

    def loop(hostname: str) -> None:
        while not stop.is_set():
            try:
                with app.app_context():
                    heartbeats.beat(hostname)
            except Exception as exc:  # noqa: BLE001 - a database outage must not end the beats
                log.warning("worker heartbeat not recorded: %s", type(exc).__name__)
            stop.wait(heartbeats.INTERVAL_SECONDS)

    @worker_ready.connect(weak=False)
    def started(sender: object, **_: object) -> None:
        hostname = getattr(sender, "hostname", "worker")
        threading.Thread(target=loop, args=(hostname,), name="limber-heartbeat",
                         daemon=True).start()

    @worker_shutdown.connect(weak=False)
    def stopping(sender: object, **_: object) -> None:
        stop.set()
        try:
            with app.app_context():
                heartbeats.forget(getattr(sender, "hostname", "worker"))
        except Exception as exc:  # noqa: BLE001
            log.warning("worker heartbeat not removed: %s", type(exc).__name__)
