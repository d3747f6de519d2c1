"""A worker that starts or (re)connects to the broker triggers a sweep at once.

Restarting Redis empty loses every queued message, and a worker killed mid-render leaves its
job claimed. Waiting for the periodic sweep's stuck threshold took minutes; a (re)connection is
exactly when something may have been lost, so that is when we look.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery, bootsteps
from flask import Flask

from service import outbox
from service.models import utcnow
from service.queue import SWEEP_TASK

log = logging.getLogger(__name__)


def recover(app: Flask, celery_app: Celery) -> None:
    """Release this host's claims whose processes are gone, then ask for a sweep that re-sends
    every queued job and delivery (the broker may have lost them)."""
    try:
        with app.app_context():
            outbox.release_local_claims()
    except Exception as exc:  # noqa: BLE001 - a database outage: the periodic sweep follows
        log.warning("could not release claims on (re)connect: %s", type(exc).__name__)
    # Whatever was handed to the broker before this connection may be gone with it; what is
    # sent from now on goes to the broker we are connected to.
    connected_at = utcnow().isoformat()
    try:
        celery_app.send_task(SWEEP_TASK, kwargs={"resend_sent_before": connected_at},
                             retry=False)
        log.info("broker (re)connected: sweep requested")
    except Exception as exc:  # noqa: BLE001 - broker gone again; the next connect retries
        log.warning("could not request a sweep on (re)connect: %s", type(exc).__name__)


def install(app: Flask, celery_app: Celery) -> None:
    class SweepOnConnect(bootsteps.StartStopStep):
        """A consumer step: Celery starts it on every broker connection, the first included."""

        requires = {"celery.worker.consumer.tasks:Tasks"}

        def start(self, consumer: object) -> None:
            # In a thread: the consumer must not wait on the database.
            threading.Thread(target=recover, args=(app, celery_app),
                             name="limber-recover", daemon=True).start()

    celery_app.steps["consumer"].add(SweepOnConnect)
