"""The Celery app built from Flask config, and sending tasks by name after commit."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import Celery, Task
from flask import Flask, current_app

from service import filesystem_broker
from service.config import make_private_dir

log = logging.getLogger(__name__)

RENDER_TASK = "limber.render_handout"
SWEEP_TASK = "limber.sweep_outbox"


def celery_init_app(app: Flask) -> Celery:
    """Flask's Celery pattern: every task runs inside an app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    make_private_dir(Path(app.config["CELERY"]["beat_schedule_filename"]).parent)
    # The embedded broker needs its folders before the first message in or out; owner-only,
    # as its messages are ids into patient data.
    options = app.config["CELERY"].get("broker_transport_options", {})
    for folder in filesystem_broker.folders(options):
        make_private_dir(folder.parent)
        make_private_dir(folder)
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.beat_schedule = {
        "sweep-outbox": {"task": SWEEP_TASK, "schedule": app.config["SWEEP_SECONDS"]},
    }
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def send(task_name: str, *args: int) -> bool:
    """Hand a task to the broker; False (logged, not raised) when the broker is unreachable.

    The outbox row already committed is the promise; the sweeper sends it again later.
    """
    celery_app: Celery = current_app.extensions["celery"]
    try:
        celery_app.send_task(task_name, args=list(args), retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure means "try later"
        log.warning("broker unreachable, %s for %s left to the sweeper: %s",
                    task_name, args, type(exc).__name__)
        return False
    return True
