"""Limber web service: the Flask app factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.routing import IntegerConverter, Map

from service import config as cfg
from service import connections
from service.extensions import db, rest_api


class BoundedInt(IntegerConverter):
    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from defaults, then LIMBER_* environment, then `config`.

    Touches nothing but the instance folder's secret key (development only); migrations,
    demo data and the broker are the CLI's business. Raises RuntimeError in production
    without a secret key.
    """
    instance = Path((config or {}).get("INSTANCE_PATH") or cfg.instance_path())
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=False)
    # Every <int:...> in every route, now and later: an id the database cannot hold cannot
    # exist, so it does not match (404) instead of overflowing in SQL (500).
    app.url_map.converters["int"] = BoundedInt
    app.config.update(cfg.defaults(instance))
    app.config.update(cfg.from_environment())
    app.config.update(config or {})
    app.config["INSTANCE_PATH"] = str(instance)
    app.config["SECRET_KEY"] = cfg.ensure_secret_key(dict(app.config), instance)
    if app.config["LIMBER_ENV"] == "production" and \
            app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        # Each gunicorn worker would count sign-in attempts apart: N workers, N times the
        # guesses. Production shares one count in Redis.
        raise RuntimeError("LIMBER_RATELIMIT_STORAGE_URL must name Redis when "
                           "LIMBER_ENV=production")
    cfg.prepare_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    from service.accounts import ratelimit

    ratelimit.init_app(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = cfg.engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    app.config["CELERY"] = cfg.celery_config(app.config["BROKER_URL"], instance,
                                            app.config.get("BROKER_KEY_PREFIX", ""),
                                            app.config["BROKER_POLL_SECONDS"])

    db.init_app(app)
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            event.listen(db.engine, "connect", cfg.sqlite_on_connect)
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            connections.ping_when_idle(db.engine)
        connections.forget_after_fork(db.engine)
    rest_api.init_app(app)

    from service import access_log, embed, errors, health, queue, security, ui
    from service.api import register_api
    from service.api.bodies import check_api_input

    access_log.install()
    queue.celery_init_app(app)
    errors.init_app(app)
    security.init_app(app)
    ui.init_app(app)
    embed.init_app(app)
    app.register_blueprint(health.blp)
    register_api(rest_api)
    app.before_request(check_api_input)
    return app
