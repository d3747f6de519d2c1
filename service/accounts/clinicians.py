"""Clinician lifecycle: invite, set a password through a one-time link, sign in, deactivate."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from plans.printable import text_problem
from service import audit
from service.accounts.models import Clinician
from service.accounts.passwords import burn_time, hash_password, needs_rehash, verify_password
from service.accounts.sessions import aware, end_all_sessions
from service.extensions import db
from service.models import Clinic, utcnow

LINK_LIFETIME = timedelta(hours=72)
INVITE_REFUSED = ("That email address cannot be invited. If the clinician is already on your "
                  "list, send them a new set-password link from there; otherwise use the "
                  "address they use for work at this clinic.")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")


class ClinicianProblem(ValueError):
    """A form value the clinician admin must fix; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def by_email(email: str) -> Clinician | None:
    return db.session.scalar(select(Clinician).where(
        func.lower(Clinician.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> Clinician | None:
    """The active clinician with this email and password, else None (same time either way).

    Records the attempt in the audit log. A failure with an unknown address is recorded with
    a keyed hash of the address only, and no clinic: nothing that names anyone.
    """
    clinician = by_email(email)
    if clinician is None:
        burn_time(password)
        audit.record(audit.SIGN_IN_FAILED, clinic_id=None, actor="anonymous",
                     detail={"reason": "unknown_email",
                             "email_hash": audit.keyed_hash(normalise_email(email), "email")})
        db.session.commit()
        return None
    if not clinician.password_hash:
        # Invited, no password chosen yet: spend the same time as a real check, or the quick
        # answer would tell a guesser which addresses were invited.
        burn_time(password)
    clinic_disabled = clinician.clinic.disabled_at is not None
    if (not verify_password(clinician.password_hash, password) or not clinician.active
            or clinic_disabled):
        reason = ("inactive" if clinician.active is False else
                  "clinic_disabled" if clinic_disabled else "wrong_password")
        audit.record(audit.SIGN_IN_FAILED, clinic_id=clinician.clinic_id, actor="anonymous",
                     target=f"clinician:{clinician.id}", detail={"reason": reason})
        db.session.commit()
        return None
    if needs_rehash(clinician.password_hash):
        clinician.password_hash = hash_password(password)
    clinician.last_sign_in_at = utcnow()
    audit.record(audit.SIGN_IN, clinic_id=clinician.clinic_id,
                 actor=f"clinician:{clinician.id}", target=f"clinician:{clinician.id}")
    return clinician


def new_link(clinician: Clinician) -> str:
    token = secrets.token_urlsafe(32)
    clinician.set_password_hash = hashlib.sha256(token.encode()).hexdigest()
    clinician.set_password_expires_at = utcnow() + LINK_LIFETIME
    return token


def invite(clinic: Clinic, actor: Clinician, email: str, name: str,
           role: str) -> tuple[Clinician, str]:
    """A new clinician with a one-time set-password link token (shown once to the admin).

    Raises ClinicianProblem for a bad email, name or role, or an email already in use.
    """
    email = normalise_email(email)
    name = name.strip()
    if not EMAIL.match(email) or len(email) > 254:
        raise ClinicianProblem("email", "Enter an email address like name@clinic.example.")
    if not 1 <= len(name) <= 120:
        raise ClinicianProblem("name", "Enter the clinician's name (up to 120 characters).")
    # The name is printed on every handout the clinician makes.
    if (found := text_problem("name", name)) is not None:
        raise ClinicianProblem("name", found.message)
    if role not in Clinician.ROLES:
        raise ClinicianProblem("role", "Choose clinician or clinic admin.")
    existing = by_email(email)
    if existing is not None:
        # The same words whether the address is on this clinic's list or another clinic's, so
        # inviting cannot be used to learn who works where. The attempt is audited (hash
        # only), so probing shows up in the inviting clinic's audit log.
        audit.record(audit.CLINICIAN_INVITE_REFUSED, clinic_id=clinic.id,
                     actor=f"clinician:{actor.id}",
                     detail={"email_hash": audit.keyed_hash(email, "email")})
        db.session.commit()
        raise ClinicianProblem("email", INVITE_REFUSED)
    clinician = Clinician(clinic_id=clinic.id, email=email, name=name, role=role)
    db.session.add(clinician)
    db.session.flush()
    token = new_link(clinician)
    audit.record(audit.CLINICIAN_INVITED, clinic_id=clinic.id, actor=f"clinician:{actor.id}",
                 target=f"clinician:{clinician.id}", detail={"role": role})
    db.session.commit()
    return clinician, token


def issue_link(clinician: Clinician, actor: Clinician) -> str:
    """A fresh set-password link; any earlier one stops working."""
    token = new_link(clinician)
    audit.record(audit.CLINICIAN_LINK_ISSUED, clinic_id=clinician.clinic_id,
                 actor=f"clinician:{actor.id}", target=f"clinician:{clinician.id}")
    db.session.commit()
    return token


def by_link(token: str) -> Clinician | None:
    """The clinician whose unexpired set-password link this is."""
    if not token or len(token) > 100:
        return None
    clinician = db.session.scalar(select(Clinician).where(
        Clinician.set_password_hash == hashlib.sha256(token.encode()).hexdigest()))
    if clinician is None or clinician.set_password_expires_at is None:
        return None
    if (aware(clinician.set_password_expires_at) < utcnow() or not clinician.active
            or clinician.clinic.disabled_at is not None):
        return None
    return clinician


def set_password(clinician: Clinician, password: str) -> None:
    """Uses up the link and signs the clinician out everywhere else."""
    clinician.password_hash = hash_password(password)
    clinician.set_password_hash = None
    clinician.set_password_expires_at = None
    end_all_sessions(clinician.id)
    audit.record(audit.PASSWORD_SET, clinic_id=clinician.clinic_id,
                 actor=f"clinician:{clinician.id}", target=f"clinician:{clinician.id}")
    db.session.commit()


def set_active(clinician: Clinician, actor: Clinician, active: bool) -> None:
    """Raises ClinicianProblem when an admin would lock themselves out."""
    if clinician.id == actor.id and not active:
        raise ClinicianProblem("clinician", "You cannot deactivate your own account.")
    clinician.active = active
    if not active:
        end_all_sessions(clinician.id)
    audit.record(audit.CLINICIAN_REACTIVATED if active else audit.CLINICIAN_DEACTIVATED,
                 clinic_id=clinician.clinic_id, actor=f"clinician:{actor.id}",
                 target=f"clinician:{clinician.id}")
    db.session.commit()
