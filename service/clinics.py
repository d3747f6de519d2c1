"""Clinic lifecycle for operators: onboard a clinic with its first admin, disable, retention."""

from __future__ import annotations

import re

from sqlalchemy import select

from service import audit
from service.extensions import db
from service.models import Clinic, utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
# Long enough for any sensible retention rule, short enough that a typo in days is caught.
MAX_RETENTION_DAYS = 36500


class ClinicProblem(ValueError):
    """Input an operator must fix; `field` names the option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def by_slug(slug: str) -> Clinic | None:
    return db.session.scalar(select(Clinic).where(Clinic.slug == slug))


def create_clinic(slug: str, name: str, admin_email: str, contact: str, out_of_hours: str,
                  admin_name: str = "", emergency_number: str = "911"):  # noqa: ANN201
    """A clinic and its first admin, who signs in through a one-time set-password link.

    Returns (clinic, admin, link token). Raises ClinicProblem for a bad slug, name or email,
    or a slug or email already in use; nothing is stored then.
    """
    from service.accounts.clinicians import EMAIL, by_email, new_link, normalise_email
    from service.accounts.models import Clinician

    slug, name, email = slug.strip(), name.strip(), normalise_email(admin_email)
    if not SLUG.match(slug):
        raise ClinicProblem("slug", "Use 3-64 lower-case letters, digits and dashes, "
                                    "starting and ending with a letter or digit.")
    if not 1 <= len(name) <= 200:
        raise ClinicProblem("--name", "Give the clinic's name (up to 200 characters).")
    if not EMAIL.match(email) or len(email) > 254:
        raise ClinicProblem("--admin-email", "Give an email address like name@clinic.example.")
    if not 1 <= len(emergency_number.strip()) <= 20:
        raise ClinicProblem("--emergency-number", "Give the local emergency number "
                                                  "(up to 20 characters).")
    from plans.guide import has_phone

    if not has_phone(contact) or len(contact.strip()) > 300:
        # The same-day tier tells patients to call the clinic today: no phone, no handout.
        raise ClinicProblem("--contact", "Give the clinic's phone number (and address if you "
                                         "like), up to 300 characters.")
    out_of_hours = " ".join(out_of_hours.split())
    if not 1 <= len(out_of_hours) <= 300:
        # Every handout's same-day tier prints it; a clinic without it cannot make handouts.
        raise ClinicProblem("--out-of-hours", "Say where patients get help when the clinic is "
                                              "closed (up to 300 characters).")
    if by_slug(slug) is not None:
        raise ClinicProblem("slug", f"A clinic with slug {slug!r} already exists.")
    if by_email(email) is not None:
        raise ClinicProblem("--admin-email", "Someone already signs in with that email address.")
    clinic = Clinic(slug=slug, name=name, contact=contact.strip(), out_of_hours=out_of_hours,
                    emergency_number=emergency_number.strip(), allowed_embed_origins=[])
    db.session.add(clinic)
    db.session.flush()
    admin = Clinician(clinic_id=clinic.id, email=email, name=admin_name.strip() or "Clinic admin",
                      role=Clinician.ADMIN)
    db.session.add(admin)
    db.session.flush()
    token = new_link(admin)
    audit.record(audit.CLINIC_CREATED, clinic_id=clinic.id, actor="system",
                 target=f"clinic:{clinic.id}", detail={"via": "cli", "admin": admin.id})
    db.session.commit()
    return clinic, admin, token


def set_enabled(clinic: Clinic, enabled: bool) -> bool:
    """Disable (keys, sign-ins and embed sessions refused; data kept) or enable again.
    Returns False when the clinic already was in that state."""
    if clinic.enabled == enabled:
        return False
    clinic.disabled_at = None if enabled else utcnow()
    audit.record(audit.CLINIC_ENABLED if enabled else audit.CLINIC_DISABLED,
                 clinic_id=clinic.id, actor="system", target=f"clinic:{clinic.id}",
                 detail={"via": "cli"})
    db.session.commit()
    return True


def set_retention(clinic: Clinic, days: int | None) -> None:
    """Erase plans `days` after their last revision (the sweeper does it); None keeps them.

    Raises ClinicProblem for a number of days outside 1..MAX_RETENTION_DAYS.
    """
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ClinicProblem("days", f"Give 1 to {MAX_RETENTION_DAYS} days, or 'off'.")
    clinic.retention_days = days
    audit.record(audit.CLINIC_RETENTION_SET, clinic_id=clinic.id, actor="system",
                 target=f"clinic:{clinic.id}", detail={"days": days, "via": "cli"})
    db.session.commit()
