"""Clinic admin pages: clinicians, API keys, the clinic profile and the audit log."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from service import audit, scopes
from service.accounts import clinicians
from service.accounts.models import Clinician
from service.accounts.sessions import admin_required
from service.auth import issue_api_key
from service.extensions import db
from service.models import ApiKey, utcnow
from service.ui.clinic_profile import parse_profile, printable_errors

blp = Blueprint("ui_admin", __name__, url_prefix="/admin")


def _actor() -> str:
    return f"clinician:{g.clinician.id}"


def _clinician(clinician_id: int) -> Clinician:
    row = db.session.scalar(select(Clinician).where(Clinician.id == clinician_id,
                                                    Clinician.clinic_id == g.clinic.id))
    if row is None:
        abort(404, description="There is no such clinician in your clinic.")
    return row


def _clinicians_page(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                     link: tuple[Clinician, str] | None = None, status: int = 200
                     ) -> tuple[str, int]:
    rows = db.session.scalars(select(Clinician).where(Clinician.clinic_id == g.clinic.id)
                              .order_by(Clinician.name)).all()
    link_url = None
    if link:
        link_url = url_for("accounts.set_password", token=link[1], _external=True)
    return render_template("admin/clinicians.html", clinicians=rows, errors=errors or {},
                           form=form or {"role": "clinician"}, link=link and link[0],
                           link_url=link_url), status


@blp.get("/clinicians")
@admin_required
def clinician_list() -> tuple[str, int]:
    return _clinicians_page()


@blp.post("/clinicians")
@admin_required
def invite() -> tuple[str, int]:
    form = {k: request.form.get(k, "") for k in ("email", "name", "role")}
    try:
        clinician, token = clinicians.invite(g.clinic, g.clinician, form["email"], form["name"],
                                             form["role"])
    except clinicians.ClinicianProblem as problem:
        return _clinicians_page({problem.field: str(problem)}, form, status=422)
    return _clinicians_page(link=(clinician, token))


@blp.post("/clinicians/<int:clinician_id>/link")
@admin_required
def new_link(clinician_id: int) -> tuple[str, int]:
    clinician = _clinician(clinician_id)
    return _clinicians_page(link=(clinician, clinicians.issue_link(clinician, g.clinician)))


@blp.post("/clinicians/<int:clinician_id>/active")
@admin_required
def set_active(clinician_id: int) -> Response | tuple[str, int]:
    clinician = _clinician(clinician_id)
    try:
        clinicians.set_active(clinician, g.clinician, request.form.get("active") == "1")
    except clinicians.ClinicianProblem as problem:
        return _clinicians_page({"clinician": str(problem)}, status=422)
    return redirect(url_for("ui_admin.clinician_list"), code=303)


def _keys_page(new_key: tuple[ApiKey, str] | None = None, errors: dict[str, str] | None = None,
               status: int = 200) -> tuple[str, int]:
    keys = db.session.scalars(select(ApiKey).where(ApiKey.clinic_id == g.clinic.id)
                              .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())).all()
    return render_template("admin/api_keys.html", keys=keys, new_key=new_key,
                           errors=errors or {}, scope_descriptions=scopes.DESCRIPTIONS,
                           default_scopes=scopes.DEFAULT), status


@blp.get("/api-keys")
@admin_required
def api_keys() -> tuple[str, int]:
    return _keys_page()


@blp.post("/api-keys")
@admin_required
def create_api_key() -> tuple[str, int]:
    name = request.form.get("name", "").strip()
    if not 1 <= len(name) <= 100:
        return _keys_page(errors={"name": "Name the key after the portal that will use it "
                                          "(up to 100 characters)."}, status=422)
    try:
        # None ticked is the default set, never more (and never key management).
        chosen = scopes.parse(request.form.getlist("scopes") or list(scopes.DEFAULT))
    except ValueError as exc:
        return _keys_page(errors={"scopes": str(exc)}, status=422)
    row, plain = issue_api_key(g.clinic, name=name, scope_names=chosen)
    db.session.flush()
    audit.record(audit.API_KEY_CREATED, clinic_id=g.clinic.id, actor=_actor(),
                 target=f"api-key:{row.id}",
                 detail={"prefix": row.prefix, "via": "ui", "scopes": row.scope_list})
    db.session.commit()
    return _keys_page(new_key=(row, plain))


@blp.post("/api-keys/<int:key_id>/revoke")
@admin_required
def revoke_api_key(key_id: int) -> Response:
    row = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id,
                                                 ApiKey.clinic_id == g.clinic.id))
    if row is None:
        abort(404, description="There is no such API key in your clinic.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(audit.API_KEY_REVOKED, clinic_id=g.clinic.id, actor=_actor(),
                     target=f"api-key:{row.id}", detail={"prefix": row.prefix, "via": "ui"})
        db.session.commit()
    return redirect(url_for("ui_admin.api_keys"), code=303)


@blp.route("/clinic", methods=["GET", "POST"])
@admin_required
def clinic_profile() -> Response | tuple[str, int]:
    clinic = g.clinic
    if request.method == "GET":
        form = {"name": clinic.name, "contact": clinic.contact,
                "emergency_number": clinic.emergency_number,
                "out_of_hours": clinic.out_of_hours,
                "allowed_embed_origins": "\n".join(clinic.allowed_embed_origins or []),
                "fhir_patient_system": clinic.fhir_patient_system,
                "fhir_in_webhooks": "1" if clinic.fhir_in_webhooks else ""}
        # A value saved before the check existed is shown with what to change.
        return render_template("admin/clinic.html", form=form, errors=printable_errors(form),
                               saved=False), 200
    changes = parse_profile(request.form.to_dict(), request.files.get("logo"))
    if changes.errors:
        return render_template("admin/clinic.html", form=request.form.to_dict(),
                               errors=changes.errors, saved=False), 422
    changed = [k for k, v in changes.values.items() if getattr(clinic, k) != v]
    for key, value in changes.values.items():
        setattr(clinic, key, value)
    audit.record(audit.CLINIC_UPDATED, clinic_id=clinic.id, actor=_actor(),
                 target=f"clinic:{clinic.id}", detail={"fields": sorted(changed)})
    db.session.commit()
    return redirect(url_for("ui_admin.clinic_profile", saved=1), code=303)


@blp.get("/clinic/logo.png")
@admin_required
def clinic_logo() -> Response:
    if not g.clinic.logo_png:
        abort(404, description="Your clinic has no logo yet.")
    return Response(g.clinic.logo_png, mimetype="image/png")


@blp.get("/audit")
@admin_required
def audit_log() -> tuple[str, int]:
    before = request.args.get("before", type=int)
    # "Who looked at this patient's plan?": the plan's opaque id, never a name, in the URL.
    plan_id = request.args.get("plan", "").strip()[:40]
    query = select(audit.AuditEvent).where(audit.AuditEvent.clinic_id == g.clinic.id)
    if plan_id:
        query = query.where(audit.AuditEvent.target == plan_id)
    if before:
        query = query.where(audit.AuditEvent.id < before)
    events = db.session.scalars(query.order_by(audit.AuditEvent.id.desc()).limit(101)).all()
    return render_template("admin/audit.html", events=events[:100], plan_id=plan_id,
                           more=len(events) > 100), 200
