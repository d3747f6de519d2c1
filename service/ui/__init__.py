"""The clinician web UI: server-rendered pages with a little progressive enhancement."""

from __future__ import annotations

import re

from flask import Flask, Response, g, redirect, url_for
from sqlalchemy import select

from plans.catalogue import default_catalogue


def field_id(name: str) -> str:
    """The HTML id of a form field named by its dotted API path ("f-dose_changes-x-reps")."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def actor_name(actor: str) -> str:
    """'clinician:5' -> that clinician's name, 'api-key:3' -> 'API key lmb_…', 'embed:3' ->
    'Portal (API key lmb_…)', within the signed-in clinic only."""
    from service.accounts.models import Clinician
    from service.extensions import db
    from service.models import ApiKey

    kind, _, ident = actor.partition(":")
    if kind == "embed":  # a portal embed session acts with its API key (service/embed)
        key = actor_name(f"api-key:{ident}")
        return f"Portal ({key})" if key.startswith("API key ") else actor
    if not ident.isdigit() or g.get("clinic") is None:
        return actor
    names = g.setdefault("actor_names", {})
    if actor not in names:
        model = {"clinician": Clinician, "api-key": ApiKey}.get(kind)
        row = model and db.session.scalar(select(model).where(
            model.id == int(ident), model.clinic_id == g.clinic.id))
        if row is None:
            names[actor] = actor
        elif kind == "clinician":
            names[actor] = row.name
        else:
            names[actor] = f"API key {row.name or row.prefix}"
    return names[actor]


STATUS_WORDS = {"pending": "Waiting", "queued": "Making…", "rendering": "Making…",
                "done": "Ready", "failed": "Failed"}


def init_app(app: Flask) -> None:
    from service.accounts import routes as account_routes
    from service.accounts import sessions
    from service.ui import admin, admin_webhooks, builder, plans

    sessions.init_app(app)
    app.jinja_env.filters["fid"] = field_id
    app.jinja_env.filters["status_words"] = lambda status: STATUS_WORDS.get(status, status)
    app.jinja_env.globals.update(actor_name=actor_name, irritability=builder.IRRITABILITY,
                                 page_sizes=builder.PAGE_SIZES,
                                 concern_levels=builder.CONCERN_LEVELS,
                                 risk_decisions=builder.RISK_DECISIONS,
                                 same_day_actions=builder.SAME_DAY_ACTIONS,
                                 dose_labels=builder.DOSE_LABELS,
                                 screening_review=default_catalogue().screening_review)
    app.register_blueprint(account_routes.blp)
    app.register_blueprint(plans.blp)
    app.register_blueprint(admin.blp)
    app.register_blueprint(admin_webhooks.blp)
    # Other features add admin pages here (for example webhook endpoints): (label, endpoint).
    app.config.setdefault("UI_ADMIN_NAV", [
        ("Clinicians", "ui_admin.clinician_list"),
        ("API keys", "ui_admin.api_keys"),
        ("Webhooks", "ui_admin_webhooks.endpoint_list"),
        ("Clinic profile", "ui_admin.clinic_profile"),
        ("Audit log", "ui_admin.audit_log"),
    ])

    @app.get("/")
    def home() -> Response:
        if g.get("clinician") is None:
            return redirect(url_for("accounts.sign_in"))
        return redirect(url_for("ui_plans.plan_list"))
