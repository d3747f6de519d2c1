"""Entry point for `celery -A workers.app worker`: the Flask app's Celery with our tasks."""

from service import create_app
from workers import heartbeat, recovery, warmup

flask_app = create_app()
celery = flask_app.extensions["celery"]
heartbeat.install(flask_app)
recovery.install(flask_app, celery)
warmup.install()

import workers.tasks  # noqa: E402,F401  registers the tasks on this Celery app
import workers.webhooks  # noqa: E402,F401
