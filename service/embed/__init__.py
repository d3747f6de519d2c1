"""Portal embedding: the plan builder inside a clinic portal's iframe, with no second password."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from service.embed.sessions import DEFAULTS


def init_app(app: Flask) -> None:
    from service.embed import routes

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.register_blueprint(routes.blp)


def register_api(api: Api) -> None:
    from service.embed import api as embed_api

    api.register_blueprint(embed_api.blp)
